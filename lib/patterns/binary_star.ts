/**
 * Binary Star (ZeroMQ Guide, chapter 4, `bstar`): two servers, a primary and a backup, of
 * which exactly one serves clients. Each publishes its state to the other every heartbeat
 * as one frame of ASCII decimal (`1` PRIMARY, `2` BACKUP, `3` ACTIVE, `4` PASSIVE), the
 * Guide's `bstarsrv` wire format, so a Guide server can be either half of a pair.
 *
 * The rules are the table {@link BINARY_STAR_TABLE} (the Guide's `s_execute_fsm` cell for
 * cell; print it with `tableMarkdown`):
 *
 * - a peer is dead after 2 heartbeats of silence (`peer_expired`);
 * - the passive (and the primary still waiting for its peer) takes over only when the peer
 *   is dead **and** a client request arrives: silence alone never makes a second active;
 * - two actives (split brain) or two passives (nobody serves) are fatal: the pair cannot
 *   resolve them and the Guide aborts;
 * - there is no automatic fail-back: a restarted primary that hears an active peer goes
 *   passive.
 *
 * {@link BinaryStar} is the sans-IO machine on the {@link PatternPort} shape: the role
 * feeds it the peer's beacons (`onMessage`), asks it about each client request
 * (`clientRequest`), calls `tick` for its own beacons, and sends what it is given.
 *
 * @module
 */

import { BadMessageError } from "../codec/schema.ts";
import { Fsm, type FsmTable } from "./fsm.ts";
import { type Frames, type Pattern, type PatternPort, trySend } from "./port.ts";
import { toHex } from "../async/hex.ts";

/** A Binary Star server's state. */
export type BinaryStarState = "PRIMARY" | "BACKUP" | "ACTIVE" | "PASSIVE";

/** What moves the machine: the peer's state as heard in its beacon, or a client request. */
export type BinaryStarEvent =
  | "PEER_PRIMARY"
  | "PEER_BACKUP"
  | "PEER_ACTIVE"
  | "PEER_PASSIVE"
  | "CLIENT_REQUEST";

/**
 * What the owner does: answer the client request, drop it unanswered, or abort because
 * the pair is broken (two actives or two passives).
 */
export type BinaryStarAction = "serve" | "reject" | "fatal_dual_active" | "fatal_dual_passive";

/**
 * The guard of the client-request cells: the peer has been silent for 2 heartbeats.
 *
 * @example
 * ```ts
 * import { BINARY_STAR_TABLE, PEER_EXPIRED, step } from "@lib/patterns/mod.ts";
 * step(BINARY_STAR_TABLE, "PASSIVE", "CLIENT_REQUEST", { [PEER_EXPIRED]: () => true });
 * // { ok: true, from: "PASSIVE", next: "ACTIVE", action: "serve" }
 * ```
 */
export const PEER_EXPIRED = "peer_expired";

/**
 * The Guide's Binary Star FSM (`bstar.c` `s_execute_fsm`). Every cell is written out: a
 * cell that keeps the state with no action is one the Guide ignores (e.g. an active hears
 * a peer that is restarting: the peer will go passive by itself).
 *
 * @example
 * ```ts
 * import { BINARY_STAR_TABLE, tableMarkdown } from "@lib/patterns/mod.ts";
 * console.log(tableMarkdown(BINARY_STAR_TABLE)); // the table in Lab 11's SUMMARY.md
 * ```
 */
export const BINARY_STAR_TABLE: FsmTable<BinaryStarState, BinaryStarEvent, BinaryStarAction> = {
  states: ["PRIMARY", "BACKUP", "ACTIVE", "PASSIVE"],
  events: ["PEER_PRIMARY", "PEER_BACKUP", "PEER_ACTIVE", "PEER_PASSIVE", "CLIENT_REQUEST"],
  initial: "PRIMARY",
  cells: {
    PRIMARY: {
      PEER_PRIMARY: { next: "PRIMARY" },
      PEER_BACKUP: { next: "ACTIVE" },
      PEER_ACTIVE: { next: "PASSIVE" },
      PEER_PASSIVE: { next: "PRIMARY" },
      // The backup may be active after a failover we did not see: wait 2 heartbeats.
      CLIENT_REQUEST: [
        { next: "ACTIVE", action: "serve", when: PEER_EXPIRED },
        { next: "PRIMARY", action: "reject" },
      ],
    },
    BACKUP: {
      PEER_PRIMARY: { next: "BACKUP" },
      PEER_BACKUP: { next: "BACKUP" },
      PEER_ACTIVE: { next: "PASSIVE" },
      PEER_PASSIVE: { next: "BACKUP" },
      CLIENT_REQUEST: { next: "BACKUP", action: "reject" },
    },
    ACTIVE: {
      PEER_PRIMARY: { next: "ACTIVE" },
      PEER_BACKUP: { next: "ACTIVE" },
      PEER_ACTIVE: { next: "ACTIVE", action: "fatal_dual_active" },
      PEER_PASSIVE: { next: "ACTIVE" },
      CLIENT_REQUEST: { next: "ACTIVE", action: "serve" },
    },
    PASSIVE: {
      PEER_PRIMARY: { next: "ACTIVE" },
      PEER_BACKUP: { next: "ACTIVE" },
      PEER_ACTIVE: { next: "PASSIVE" },
      PEER_PASSIVE: { next: "PASSIVE", action: "fatal_dual_passive" },
      // The failover: the peer is dead and a client came to us.
      CLIENT_REQUEST: [
        { next: "ACTIVE", action: "serve", when: PEER_EXPIRED },
        { next: "PASSIVE", action: "reject" },
      ],
    },
  },
};

const CODES: Record<BinaryStarState, number> = { PRIMARY: 1, BACKUP: 2, ACTIVE: 3, PASSIVE: 4 };
const PEER_EVENTS: Record<string, BinaryStarEvent> = {
  "1": "PEER_PRIMARY",
  "2": "PEER_BACKUP",
  "3": "PEER_ACTIVE",
  "4": "PEER_PASSIVE",
};
const EVENT_STATES: Partial<Record<BinaryStarEvent, BinaryStarState>> = {
  PEER_PRIMARY: "PRIMARY",
  PEER_BACKUP: "BACKUP",
  PEER_ACTIVE: "ACTIVE",
  PEER_PASSIVE: "PASSIVE",
};

/**
 * A state beacon as on the wire: one frame, the state's ASCII decimal code.
 *
 * @example
 * ```ts
 * import { encodeBeacon } from "@lib/patterns/mod.ts";
 * new TextDecoder().decode(encodeBeacon("ACTIVE")[0]); // "3"
 * ```
 */
export function encodeBeacon(state: BinaryStarState): Frames {
  return [new TextEncoder().encode(String(CODES[state]))];
}

/**
 * The peer event a beacon carries. Throws `BadMessageError` for anything but one frame
 * holding `1`..`4`.
 *
 * @example
 * ```ts
 * import { decodeBeacon } from "@lib/patterns/mod.ts";
 * decodeBeacon([new TextEncoder().encode("4")]); // "PEER_PASSIVE"
 * ```
 */
export function decodeBeacon(frames: Frames): BinaryStarEvent {
  if (frames.length !== 1) {
    throw new BadMessageError(`beacon: expected 1 frame, got ${frames.length}`);
  }
  const frame = frames[0];
  const event = frame.length === 1 ? PEER_EVENTS[String.fromCharCode(frame[0])] : undefined;
  if (!event) {
    const shown = toHex(frame, 8);
    throw new BadMessageError(
      `beacon: expected one ASCII digit 1..4, got ${frame.length} bytes (${shown || "empty"})`,
    );
  }
  return event;
}

/** Options of {@link BinaryStar}: the port plus which half this is. */
export interface BinaryStarOptions extends PatternPort {
  /** This server's half: it starts in PRIMARY or BACKUP. */
  role: "primary" | "backup";
  /** Beacon interval in ms (the Guide's `HEARTBEAT`, default 1000); the peer expires after 2. */
  heartbeatMs?: number;
}

/** A state change, as `state_changed` logs it (`trigger`: the event that caused it). */
export interface BinaryStarChange {
  from: BinaryStarState;
  to: BinaryStarState;
  trigger: BinaryStarEvent;
}

/** Counters and gauges of a {@link BinaryStar}. */
export interface BinaryStarStats {
  state: BinaryStarState;
  /** The peer's state as last heard ("unknown" before its first beacon). */
  peerState: BinaryStarState | "unknown";
  /** True while the peer has been silent for 2 heartbeats or more. */
  peerExpired: boolean;
  beaconsSent: number;
  /** Beacons the send function refused (full queue). */
  beaconsDropped: number;
  beaconsReceived: number;
  badBeacons: number;
  requestsServed: number;
  requestsRejected: number;
  /** Times this server became active on a client request (a failover or a lone start). */
  takeovers: number;
}

/**
 * One half of a Binary Star pair; see the module doc.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { BinaryStar, encodeBeacon } from "@lib/patterns/mod.ts";
 *
 * const clock = new ManualClock();
 * const sent: Uint8Array[][] = [];
 * const star = new BinaryStar({
 *   clock,
 *   log: createMemoryLogger(),
 *   send: (frames) => void sent.push(frames),
 *   role: "backup",
 * });
 * star.tick(clock.now()); // sends "2"
 * star.onMessage(encodeBeacon("ACTIVE")); // the primary is active: BACKUP -> PASSIVE
 * star.clientRequest(); // false: the primary is alive
 * clock.set(2000);
 * star.clientRequest(); // true: silent for 2 heartbeats and a client came: ACTIVE
 * ```
 */
export class BinaryStar implements Pattern<BinaryStarStats> {
  readonly heartbeatMs: number;
  readonly #port: PatternPort;
  readonly #fsm: Fsm<BinaryStarState, BinaryStarEvent, BinaryStarAction>;
  #peerExpiry: number;
  #nextBeacon: number;
  #peerState: BinaryStarState | "unknown" = "unknown";
  #peerSilentLogged = false;
  #fatal: string | undefined;
  #stats = {
    beaconsSent: 0,
    beaconsDropped: 0,
    beaconsReceived: 0,
    badBeacons: 0,
    requestsServed: 0,
    requestsRejected: 0,
    takeovers: 0,
  };

  constructor(options: BinaryStarOptions) {
    const heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(Number.isFinite(heartbeatMs) && heartbeatMs > 0)) {
      throw new RangeError(`heartbeatMs: expected a positive number, got ${heartbeatMs}`);
    }
    if (options.role !== "primary" && options.role !== "backup") {
      throw new RangeError(`role: expected "primary" or "backup", got ${String(options.role)}`);
    }
    this.heartbeatMs = heartbeatMs;
    this.#port = options;
    this.#fsm = new Fsm(
      { ...BINARY_STAR_TABLE, initial: options.role === "primary" ? "PRIMARY" : "BACKUP" },
      { [PEER_EXPIRED]: () => this.peerExpired() },
    );
    const now = options.clock.now();
    // As the Guide: the peer gets 2 heartbeats from our start before it counts as dead.
    this.#peerExpiry = now + 2 * heartbeatMs;
    this.#nextBeacon = now;
  }

  /** The current state. */
  get state(): BinaryStarState {
    return this.#fsm.state;
  }

  /** Why the pair is broken (`dual active ...`/`dual passive ...`), once it is; then it stops. */
  get fatal(): string | undefined {
    return this.#fatal;
  }

  /** True when the peer has been silent for 2 heartbeats (at `now`). */
  peerExpired(now: number = this.#port.clock.now()): boolean {
    return now >= this.#peerExpiry;
  }

  /**
   * A beacon from the peer: refreshes its expiry and fires PEER_<state>. Throws
   * `BadMessageError` (counted; it does not count as a heartbeat) for a malformed one.
   */
  onMessage(frames: Frames): void {
    if (this.#fatal) return;
    let event: BinaryStarEvent;
    try {
      event = decodeBeacon(frames);
    } catch (error) {
      this.#stats.badBeacons++;
      throw error;
    }
    this.#stats.beaconsReceived++;
    this.#peerExpiry = this.#port.clock.now() + 2 * this.heartbeatMs;
    const peer = EVENT_STATES[event]!;
    if (this.#peerSilentLogged || this.#peerState !== peer) {
      this.#port.log.info("peer_state", { state: this.state, peer, was: this.#peerState });
    }
    this.#peerSilentLogged = false;
    this.#peerState = peer;
    this.#fire(event);
  }

  /**
   * A client request arrived: fires CLIENT_REQUEST. True means answer it; false means drop
   * it unanswered (the client times out and tries the other server).
   */
  clientRequest(): boolean {
    if (this.#fatal) return false;
    const action = this.#fire("CLIENT_REQUEST");
    if (action === "serve") {
      this.#stats.requestsServed++;
      return true;
    }
    this.#stats.requestsRejected++;
    return false;
  }

  /** Sends this server's beacon when one is due and notes a peer that fell silent. */
  tick(now: number = this.#port.clock.now()): void {
    if (this.#fatal) return;
    if (now >= this.#nextBeacon) {
      if (trySend((f) => this.#port.send(f), encodeBeacon(this.state))) this.#stats.beaconsSent++;
      else this.#stats.beaconsDropped++;
      this.#nextBeacon = now + this.heartbeatMs;
    }
    if (!this.#peerSilentLogged && this.peerExpired(now)) {
      this.#peerSilentLogged = true;
      this.#port.log.warn("peer_silent", {
        state: this.state,
        peer: this.#peerState,
        silent_ms: Math.round(now - this.#peerExpiry + 2 * this.heartbeatMs),
      });
    }
  }

  /** Counters and the current states. */
  stats(): BinaryStarStats {
    return {
      state: this.state,
      peerState: this.#peerState,
      peerExpired: this.peerExpired(),
      ...this.#stats,
    };
  }

  /** Always true: the machine holds no work in flight (the role drains its own). */
  settled(): boolean {
    return true;
  }

  #fire(event: BinaryStarEvent): BinaryStarAction | undefined {
    const result = this.#fsm.fire(event);
    // Every cell is defined, so this cannot fail; say so loudly if the table changes.
    if (!result.ok) throw new Error(`binary star table: ${result.reason}`);
    const { from, next, action } = result;
    if (action === "fatal_dual_active" || action === "fatal_dual_passive") {
      const what = action === "fatal_dual_active" ? "dual active" : "dual passive";
      this.#fatal = `${what}: this server is ${from} and so is its peer`;
      this.#port.log.error(action === "fatal_dual_active" ? "dual_active" : "dual_passive", {
        state: from,
        peer: this.#peerState,
      });
      return action;
    }
    if (next !== from) {
      if (event === "CLIENT_REQUEST") this.#stats.takeovers++;
      const change: BinaryStarChange = { from, to: next, trigger: event };
      this.#port.log.info("state_changed", { ...change, peer: this.#peerState });
    }
    return action;
  }
}
