/**
 * The secure_client's view of its CURVE link, as a table-driven state machine fed by the
 * socket's monitor events, plus a give-up rule: no authenticated link for
 * `giveUpMs` → `gave_up` with the reason of the last failure. This is how a wrong server
 * key, an unknown or revoked client key and a server that is down each end in a clear
 * line instead of a silent hang.
 *
 * @module
 */
import { Fsm, type FsmTable } from "@lib/patterns/fsm.ts";
import type { Clock } from "@lib/async/mod.ts";

/** Link states. */
export type LinkState = "dialing" | "secure" | "refused" | "failed" | "gave_up";
/** What the socket reported (or the give-up deadline). */
export type LinkEvent =
  | "handshake_ok"
  | "auth_denied"
  | "crypto_failed"
  | "disconnected"
  | "deadline";
/** What the role does on a transition. */
export type LinkAction = "log_secure" | "log_denied" | "log_failed" | "redial" | "give_up";

const FAIL = {
  handshake_ok: { next: "secure", action: "log_secure" },
  auth_denied: { next: "refused", action: "redial" },
  crypto_failed: { next: "failed", action: "log_failed" },
  deadline: { next: "gave_up", action: "give_up" },
} as const;

/**
 * The link table. `auth_denied` (the server's ZAP handler said 400: our key is unknown
 * or revoked) ends libzmq's reconnecting, so the role redials itself; `crypto_failed`
 * (the server dropped the handshake: it does not hold the key we pinned) is retried by
 * libzmq.
 */
export const LINK_TABLE: FsmTable<LinkState, LinkEvent, LinkAction> = {
  states: ["dialing", "secure", "refused", "failed", "gave_up"],
  events: ["handshake_ok", "auth_denied", "crypto_failed", "disconnected", "deadline"],
  initial: "dialing",
  cells: {
    dialing: { ...FAIL, disconnected: { next: "dialing" } },
    secure: {
      handshake_ok: { next: "secure" },
      auth_denied: { next: "refused", action: "redial" },
      crypto_failed: { next: "failed", action: "log_failed" },
      disconnected: { next: "dialing" },
    },
    refused: { ...FAIL, disconnected: { next: "refused" } },
    failed: { ...FAIL, disconnected: { next: "failed" } },
    gave_up: {},
  },
};

/** Why the link is not secure, in words for a log line and the exit message. */
export const LINK_REASONS: Record<Exclude<LinkState, "secure">, string> = {
  dialing: "no answer from the server (is it running, is the endpoint right?)",
  refused: "the server refused this client's key (ZAP 400: unknown or revoked key)",
  failed: "the server dropped the CURVE handshake (it does not hold the secret key of the " +
    "pinned --server-key-file: wrong server key?)",
  gave_up: "gave up",
};

/**
 * A link: feed it monitor events with `on`, call `check()` on a timer.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { Link } from "./link.ts";
 * const clock = new ManualClock();
 * const link = new Link(clock, 5000);
 * link.on("crypto_failed"); // "log_failed"
 * await clock.advance(5000);
 * link.check(); // "give_up"
 * ```
 */
export class Link {
  readonly #fsm = new Fsm(LINK_TABLE);
  readonly #clock: Clock;
  readonly #giveUpMs: number;
  /** When the link last stopped being secure (or started). */
  #insecureSince: number;
  /** The last failure state, for the give-up reason. */
  #lastFailure: Exclude<LinkState, "secure"> = "dialing";

  constructor(clock: Clock, giveUpMs: number) {
    this.#clock = clock;
    this.#giveUpMs = giveUpMs;
    this.#insecureSince = clock.now();
  }

  /** The current state. */
  get state(): LinkState {
    return this.#fsm.state;
  }

  /** Why the link is not secure now (the last failure), in words. */
  get reason(): string {
    return LINK_REASONS[this.#lastFailure];
  }

  /** Applies a socket event; returns the action to perform, if any. */
  on(event: Exclude<LinkEvent, "deadline">): LinkAction | undefined {
    const before = this.#fsm.state;
    const result = this.#fsm.fire(event);
    const after = this.#fsm.state;
    if (before === "secure" && after !== "secure") this.#insecureSince = this.#clock.now();
    if (after === "refused" || after === "failed") this.#lastFailure = after;
    return result.ok ? result.action : undefined;
  }

  /** Fires `deadline` when the link has been insecure for `giveUpMs` (0: never). */
  check(): LinkAction | undefined {
    if (this.#giveUpMs <= 0 || this.state === "secure" || this.state === "gave_up") {
      return undefined;
    }
    if (this.#clock.now() - this.#insecureSince < this.#giveUpMs) return undefined;
    const result = this.#fsm.fire("deadline");
    return result.ok ? result.action : undefined;
  }
}
