/**
 * The c2_server's live sessions, keyed by the agent's CURVE public key (Z85). An agent
 * announces its Z85 public key as its ZeroMQ routing id, so every message the
 * server's ROUTER receives names the key of its sender, and the server sends a command to
 * a key by addressing that routing id. A session whose key leaves the allow-list is
 * dropped at once (and the role then recycles its socket to cut the connection).
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { fingerprint } from "@lib/zmq/zcert.ts";

/** One connected, authenticated agent. */
export interface Session {
  key: string;
  fingerprint: string;
  name: string;
  lastSeen: number;
  /** Index of the next scheduled command for this agent. */
  next: number;
  /** Commands sent and not answered yet: seq -> op (at most {@link MAX_PENDING}). */
  pending: Map<number, string>;
}

/** Most unanswered commands remembered per session (the oldest is forgotten first). */
export const MAX_PENDING = 64;

/**
 * Sessions with expiry and revocation.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { Sessions } from "./sessions.ts";
 * const sessions = new Sessions({ clock: systemClock, timeoutMs: 10_000, max: 100 });
 * sessions.seen("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "agent1");
 * ```
 */
export class Sessions {
  #sessions = new Map<string, Session>();
  #clock: Clock;
  #timeoutMs: number;
  #max: number;

  constructor(options: { clock: Clock; timeoutMs: number; max: number }) {
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
    this.#max = options.max;
  }

  /**
   * Records traffic from `key`; returns the session and whether it is new, or undefined
   * when the table is full.
   */
  seen(key: string, name?: string): { session: Session; fresh: boolean } | undefined {
    const existing = this.#sessions.get(key);
    if (existing) {
      existing.lastSeen = this.#clock.now();
      if (name) existing.name = name;
      return { session: existing, fresh: false };
    }
    if (this.#sessions.size >= this.#max) return undefined;
    const session: Session = {
      key,
      fingerprint: fingerprint(key),
      name: name ?? "?",
      lastSeen: this.#clock.now(),
      next: 0,
      pending: new Map(),
    };
    this.#sessions.set(key, session);
    return { session, fresh: true };
  }

  /** Drops the sessions of keys that are no longer allowed; returns them. */
  revokeExcept(allowed: ReadonlySet<string> | ReadonlyMap<string, unknown>): Session[] {
    const dropped: Session[] = [];
    for (const [key, session] of this.#sessions) {
      if (!allowed.has(key)) {
        this.#sessions.delete(key);
        dropped.push(session);
      }
    }
    return dropped;
  }

  /** Remembers that command `seq` (`op`) was sent to `key`; false without a session. */
  issued(key: string, seq: number, op: string): boolean {
    const session = this.#sessions.get(key);
    if (!session) return false;
    session.pending.set(seq, op);
    while (session.pending.size > MAX_PENDING) {
      session.pending.delete(session.pending.keys().next().value!);
    }
    return true;
  }

  /**
   * Takes the answer to command `seq`: true once, for a command sent to this key with this
   * op. A result for a command never sent (or already answered, or sent to another key)
   * is false: it must not reach the audit log or start anything (a rotation).
   */
  answered(key: string, seq: number, op: string): boolean {
    const session = this.#sessions.get(key);
    if (!session || session.pending.get(seq) !== op) return false;
    session.pending.delete(seq);
    return true;
  }

  /** Drops the session of `key` (e.g. another connection now holds its routing id). */
  drop(key: string): Session | undefined {
    const session = this.#sessions.get(key);
    this.#sessions.delete(key);
    return session;
  }

  /** Drops sessions silent for longer than the timeout; returns them. */
  expire(): Session[] {
    const now = this.#clock.now();
    const gone: Session[] = [];
    for (const [key, session] of this.#sessions) {
      if (now - session.lastSeen > this.#timeoutMs) {
        this.#sessions.delete(key);
        gone.push(session);
      }
    }
    return gone;
  }

  /** The session of `key`, if live. */
  get(key: string): Session | undefined {
    return this.#sessions.get(key);
  }

  /** The live sessions. */
  all(): Session[] {
    return [...this.#sessions.values()];
  }

  /** How many are live. */
  get size(): number {
    return this.#sessions.size;
  }
}
