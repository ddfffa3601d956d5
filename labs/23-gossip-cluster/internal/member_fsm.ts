/**
 * The state machine of one member as this node sees it (SWIM + Lifeguard, the rules of
 * hashicorp/memberlist's aliveNode/suspectNode/deadNode), as a table: state × event →
 * next state / action. Guards compare the message's incarnation with the one we hold.
 * A missing cell means the message is ignored in that state. The local node itself is not
 * in this table: an accusation about ourselves is refuted (incarnation + 1), never applied.
 *
 * @module
 */

import { type FsmTable, step, validateTable } from "@lib/patterns/fsm.ts";
import type { MemberState } from "./protocol.ts";

/** What can happen to a member. */
export type MemberEvent = "alive" | "suspect" | "dead" | "leave" | "timeout";
/** What the core does on a transition. */
export type MemberAction =
  | "update"
  | "start_suspicion"
  | "confirm"
  | "clear_suspicion"
  | "declare_dead"
  | "declare_left"
  | "rejoin";

const newer = "inc > held";
const notOlder = "inc >= held";

/** The table (printed in SUMMARY.md with `tableMarkdown`). */
export const MEMBER_TABLE: FsmTable<MemberState, MemberEvent, MemberAction> = {
  states: ["alive", "suspect", "dead", "left"],
  events: ["alive", "suspect", "dead", "leave", "timeout"],
  initial: "alive",
  cells: {
    alive: {
      alive: [{ when: newer, next: "alive", action: "update" }, { next: "alive" }],
      suspect: [{ when: notOlder, next: "suspect", action: "start_suspicion" }, { next: "alive" }],
      dead: [{ when: notOlder, next: "dead", action: "declare_dead" }, { next: "alive" }],
      leave: [{ when: notOlder, next: "left", action: "declare_left" }, { next: "alive" }],
    },
    suspect: {
      alive: [{ when: newer, next: "alive", action: "clear_suspicion" }, { next: "suspect" }],
      suspect: [{ when: notOlder, next: "suspect", action: "confirm" }, { next: "suspect" }],
      dead: [{ when: notOlder, next: "dead", action: "declare_dead" }, { next: "suspect" }],
      leave: [{ when: notOlder, next: "left", action: "declare_left" }, { next: "suspect" }],
      timeout: { next: "dead", action: "declare_dead" },
    },
    dead: {
      alive: [{ when: newer, next: "alive", action: "rejoin" }, { next: "dead" }],
    },
    left: {
      alive: [{ when: newer, next: "alive", action: "rejoin" }, { next: "left" }],
    },
  },
};
validateTable(MEMBER_TABLE);

/**
 * Applies `event` carrying incarnation `inc` to a member in `state` holding `held`: the
 * next state and the action, or null when the message is ignored.
 *
 * @example
 * ```ts
 * import { transition } from "./member_fsm.ts";
 * console.log(transition("alive", "suspect", 3, 3)); // { next: "suspect", action: "start_suspicion" }
 * console.log(transition("suspect", "alive", 3, 3)); // null: a refutation needs inc 4
 * ```
 */
export function transition(
  state: MemberState,
  event: MemberEvent,
  inc: number,
  held: number,
): { next: MemberState; action: MemberAction } | null {
  const result = step(MEMBER_TABLE, state, event, {
    [newer]: () => inc > held,
    [notOlder]: () => inc >= held,
  });
  if (!result.ok || result.action === undefined) return null;
  return { next: result.next, action: result.action };
}
