/**
 * The state machine of one named lock, as a table (`@lib/patterns/fsm.ts`): which event is
 * allowed in which state, under which guard, with which action. `LockTable` fires it for
 * every change of a lock; SUMMARY.md prints it with `tableMarkdown`.
 *
 * Guards are evaluated after the holder or waiter that the event concerns has been removed
 * (a `release` first drops the releasing holder, then asks `others_hold`).
 *
 * @module
 */
import type { FsmTable } from "@lib/patterns/fsm.ts";

/** The states of a lock. `delayed` = no holder, but no grant before the lock-delay ends. */
export const LOCK_STATES = ["free", "exclusive", "shared", "delayed"] as const;
/** A lock's state. */
export type LockState = (typeof LOCK_STATES)[number];

/** What can happen to a lock. */
export const LOCK_EVENTS = [
  "acquire_exclusive",
  "acquire_shared",
  "release",
  "expire",
  "delay_end",
  "wait_timeout",
] as const;
/** An event of a lock. */
export type LockEvent = (typeof LOCK_EVENTS)[number];

/** What the lock table does on a transition. */
export type LockAction =
  | "grant" // grant the requester now
  | "enqueue" // append the requester to the FIFO queue
  | "refuse_held" // try-lock: not_granted {reason: held}
  | "refuse_delay" // try-lock: not_granted {reason: lock_delay}
  | "grant_head" // grant the one waiter at the head (an exclusive one)
  | "grant_shared_run" // grant the run of shared waiters at the head
  | "keep" // nothing more (another holder remains, or the waiter just left)
  | "start_delay" // the holder expired: no grant for --lock-delay
  | "forget"; // no holder, no waiter: drop the lock from memory (its token stays on disk)

/** Guard names used by {@link LOCK_TABLE}. */
export type LockGuard =
  | "may_wait" // the requester asked to wait (wait_ms > 0)
  | "queue_empty" // nobody is waiting
  | "others_hold" // a holder remains
  | "head_exclusive" // the first waiter wants exclusive
  | "head_shared" // the first waiter wants shared
  | "delay_on"; // --lock-delay > 0

const afterLast = [
  { when: "head_exclusive", next: "exclusive", action: "grant_head" },
  { when: "head_shared", next: "shared", action: "grant_shared_run" },
  { next: "free", action: "forget" },
] as const;

/**
 * The lock state table. FIFO without a thundering herd: a release grants the head of the
 * queue only (or the run of shared requests at the head); nobody else is woken. A shared
 * request waits when anyone waits before it, so readers never starve a writer.
 *
 * @example
 * ```ts
 * import { step } from "@lib/patterns/fsm.ts";
 * import { LOCK_TABLE } from "./lock_fsm.ts";
 * step(LOCK_TABLE, "free", "acquire_exclusive"); // { ok: true, from: "free", next: "exclusive", action: "grant" }
 * ```
 */
export const LOCK_TABLE: FsmTable<LockState, LockEvent, LockAction> = {
  states: LOCK_STATES,
  events: LOCK_EVENTS,
  initial: "free",
  cells: {
    free: {
      acquire_exclusive: { next: "exclusive", action: "grant" },
      acquire_shared: { next: "shared", action: "grant" },
    },
    exclusive: {
      acquire_exclusive: [
        { when: "may_wait", next: "exclusive", action: "enqueue" },
        { next: "exclusive", action: "refuse_held" },
      ],
      acquire_shared: [
        { when: "may_wait", next: "exclusive", action: "enqueue" },
        { next: "exclusive", action: "refuse_held" },
      ],
      release: afterLast,
      expire: [{ when: "delay_on", next: "delayed", action: "start_delay" }, ...afterLast],
      wait_timeout: { next: "exclusive", action: "keep" },
    },
    shared: {
      acquire_exclusive: [
        { when: "may_wait", next: "shared", action: "enqueue" },
        { next: "shared", action: "refuse_held" },
      ],
      acquire_shared: [
        { when: "queue_empty", next: "shared", action: "grant" },
        { when: "may_wait", next: "shared", action: "enqueue" },
        { next: "shared", action: "refuse_held" },
      ],
      release: [{ when: "others_hold", next: "shared", action: "keep" }, ...afterLast],
      // A reader that expires wrote nothing: no lock-delay.
      expire: [{ when: "others_hold", next: "shared", action: "keep" }, ...afterLast],
      wait_timeout: [
        { when: "head_shared", next: "shared", action: "grant_shared_run" },
        { next: "shared", action: "keep" },
      ],
    },
    delayed: {
      acquire_exclusive: [
        { when: "may_wait", next: "delayed", action: "enqueue" },
        { next: "delayed", action: "refuse_delay" },
      ],
      acquire_shared: [
        { when: "may_wait", next: "delayed", action: "enqueue" },
        { next: "delayed", action: "refuse_delay" },
      ],
      delay_end: afterLast,
      wait_timeout: { next: "delayed", action: "keep" },
    },
  },
};
