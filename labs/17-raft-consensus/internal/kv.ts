/**
 * The replicated state machine: a key-value map with a client session (dedup) table, so
 * a write retried with the same (client, seq) is applied once and answered with the first
 * result. Deterministic: every replica that applies the same log reaches the same state
 * (the session table is evicted by apply order, never by time).
 *
 * @module
 */

import { decode, encode, s } from "@lib/codec/mod.ts";
import type { Command } from "./protocol.ts";

/** What applying one command produced. */
export interface ApplyResult {
  /** The previous value (put/del), null when there was none. */
  value: string | null;
  /** True when the command had already been applied (a retry). */
  duplicate: boolean;
  /** True when the command is older than the client's newest (its answer is gone). */
  stale?: boolean;
}

const Snapshot = s.object({
  kv: s.array(s.array(s.string(), { min: 2, max: 2 })),
  sessions: s.array(s.object({ client: s.string(), seq: s.int(), value: s.nullable(s.string()) })),
});

/** Options of {@link KvStateMachine}. */
export interface KvOptions {
  /** Most client sessions remembered (oldest by last write evicted); default 10000. */
  maxSessions?: number;
}

/**
 * Key-value state machine with per-client dedup.
 *
 * @example
 * ```ts
 * import { KvStateMachine } from "./kv.ts";
 * const kv = new KvStateMachine();
 * kv.apply({ op: "put", key: "x", value: "1", client: "c", seq: 1 }); // { value: null, duplicate: false }
 * kv.apply({ op: "put", key: "x", value: "1", client: "c", seq: 1 }).duplicate; // true
 * kv.get("x"); // "1"
 * ```
 */
export class KvStateMachine {
  readonly #kv = new Map<string, string>();
  /** client -> newest applied seq and its answer; Map order = least recently written first. */
  readonly #sessions = new Map<string, { seq: number; value: string | null }>();
  readonly #maxSessions: number;

  constructor(options: KvOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  /** Number of keys. */
  get size(): number {
    return this.#kv.size;
  }

  /** Applies one committed command. */
  apply(command: Command): ApplyResult {
    if (command.op === "noop") return { value: null, duplicate: false };
    const session = this.#sessions.get(command.client);
    if (session && command.seq <= session.seq) {
      return command.seq === session.seq
        ? { value: session.value, duplicate: true }
        : { value: null, duplicate: true, stale: true };
    }
    const previous = this.#kv.get(command.key) ?? null;
    if (command.op === "put") this.#kv.set(command.key, command.value);
    else this.#kv.delete(command.key);
    this.#sessions.delete(command.client);
    this.#sessions.set(command.client, { seq: command.seq, value: previous });
    if (this.#sessions.size > this.#maxSessions) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return { value: previous, duplicate: false };
  }

  /** Reads a key (callers make it linearizable with ReadIndex first). */
  get(key: string): string | null {
    return this.#kv.get(key) ?? null;
  }

  /** The whole state as bytes (keys and sessions). */
  snapshot(): Uint8Array {
    return encode({
      kv: [...this.#kv],
      sessions: [...this.#sessions].map(([client, v]) => ({ client, ...v })),
    });
  }

  /** Replaces the state with a snapshot's (throws BadMessageError on a malformed one). */
  restore(bytes: Uint8Array): void {
    const snap = decode(bytes, Snapshot);
    this.#kv.clear();
    this.#sessions.clear();
    for (const [k, v] of snap.kv) this.#kv.set(k, v);
    for (const { client, seq, value } of snap.sessions) this.#sessions.set(client, { seq, value });
  }

  /** A digest of the state, to compare replicas. */
  fingerprint(): string {
    let h = 0x811c9dc5;
    for (const [k, v] of [...this.#kv].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const ch of `${k}=${v};`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
  }
}
