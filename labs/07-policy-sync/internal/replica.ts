/**
 * The Clone client (the Guide's clone agent, `clone.py`), sans-IO, as a firewall node's
 * policy replica:
 *
 * 1. **syncing**: once the subscription to the current server's publisher is in place
 *    (it delivered a message, or one heartbeat passed), ask it for a snapshot (`ICANHAZ?`
 *    + subtree); updates arriving meanwhile are held (bounded); KVSYNCs are validated
 *    into a staging table;
 * 2. at `KTHXBAI` (sequence S) the staging table replaces the live one in one swap, then
 *    the held updates newer than S are applied in order and older ones dropped: an update
 *    fired while the snapshot was taken is in exactly one of the two, so none is lost or
 *    applied twice;
 * 3. **active**: apply KVPUBs strictly newer than the last one; a gap (judged by
 *    `judgeSequence` from `@lib/patterns`, or a HUGZ carrying a newer sequence), a master
 *    that went back (3 HUGZ behind us: it restarted), or a silent master (no message for
 *    `liveness` heartbeats, `PeerLiveness` from `@lib/patterns`) starts a re-sync, with
 *    the next server of the list (failover) when the master went silent.
 *
 * With a subtree, the server's sequence also counts other subtrees' updates, so jumps are
 * normal and gaps cannot be seen: only staleness and silence are judged.
 *
 * Each policy is validated whole before it replaces the previous version of its key; one
 * that does not parse is rejected (`policy_rejected`) and the previous version stays.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import {
  type Frames,
  type FsmTable,
  judgeSequence,
  type Pattern,
  PeerLiveness,
  step,
} from "@lib/patterns/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { parsePolicy, type Rule } from "./acl.ts";
import { entryHash, formatFingerprint } from "./fingerprint.ts";
import { decodeKv, encodeIcanhaz, HUGZ, KTHXBAI, type KvMsg } from "./protocol.ts";

const text = new TextDecoder("utf-8", { fatal: false });

/** A live policy. */
export interface LivePolicy {
  body: string;
  rules: Rule[];
  /** Sequence of the update (or snapshot) that set it. */
  sequence: number;
}

/** What changed in the live table (the role prints, persists and logs it). */
export type TableChange =
  | { kind: "snapshot"; version: number; policies: number; rejected: string[]; server: number }
  | { kind: "set"; key: string; version: number; rules: number }
  | { kind: "delete"; key: string; version: number }
  | { kind: "rejected"; key: string; version: number; reason: string };

/** The replica's state. */
export type ReplicaState = "syncing" | "active";

/** What moves the replica (the reasons a snapshot is requested are events too). */
export type ReplicaEvent =
  | "start"
  | "kvsync"
  | "kthxbai"
  | "update"
  | "sequence_gap"
  | "master_restarted"
  | "master_silent"
  | "sync_timeout"
  | "snapshot_too_large"
  | "updates_overflow";

/** What the replica does on an event. */
export type ReplicaAction =
  | "request_snapshot"
  | "stage"
  | "swap_table"
  | "hold"
  | "apply_if_newer"
  | "failover_and_request";

/**
 * The replica's state machine (printed in SUMMARY.md with `tableMarkdown`). A missing cell
 * is an event that cannot happen in that state or is ignored and counted (a KVSYNC
 * outside a sync).
 */
export const REPLICA_TABLE: FsmTable<ReplicaState, ReplicaEvent, ReplicaAction> = {
  states: ["syncing", "active"],
  events: [
    "start",
    "kvsync",
    "kthxbai",
    "update",
    "sequence_gap",
    "master_restarted",
    "master_silent",
    "sync_timeout",
    "snapshot_too_large",
    "updates_overflow",
  ],
  initial: "syncing",
  cells: {
    syncing: {
      start: { next: "syncing", action: "request_snapshot" },
      kvsync: { next: "syncing", action: "stage" },
      kthxbai: { next: "active", action: "swap_table" },
      update: { next: "syncing", action: "hold" },
      sync_timeout: { next: "syncing", action: "failover_and_request" },
      snapshot_too_large: { next: "syncing", action: "request_snapshot" },
    },
    active: {
      update: { next: "active", action: "apply_if_newer" },
      sequence_gap: { next: "syncing", action: "request_snapshot" },
      master_restarted: { next: "syncing", action: "request_snapshot" },
      master_silent: { next: "syncing", action: "failover_and_request" },
      updates_overflow: { next: "syncing", action: "request_snapshot" },
    },
  },
};

/** Options of {@link PolicyReplica}. */
export interface PolicyReplicaOptions {
  clock: Clock;
  log: Logger;
  /** Sends `ICANHAZ?` on the current server's snapshot socket. */
  send(frames: Frames): void;
  /** Number of servers (1, or 2 for a Binary Star pair). */
  servers: number;
  /** Called before each snapshot request: the role gives that server a fresh snapshot socket. */
  onSync?(server: number): void;
  /** Called for every change of the live table. */
  onChange?(change: TableChange): void;
  /** Subtree to replicate ("" = everything). */
  subtree?: string;
  /** The server's HUGZ interval in ms (default 1000). */
  heartbeatMs?: number;
  /** Silent heartbeats before the master is dead (default 3, at least 2). */
  liveness?: number;
  /** Updates held while a snapshot is in progress (default 100 000). */
  maxPending?: number;
  /** Policies accepted in one snapshot (default 100 000). */
  maxKeys?: number;
}

/** Counters of a {@link PolicyReplica}. */
export interface ReplicaStats {
  state: ReplicaState;
  server: number;
  version: number;
  policies: number;
  syncs: number;
  applied: number;
  stale: number;
  rejected: number;
  gaps: number;
  silences: number;
  ignored: number;
}

/**
 * One node's replica of the policy table; see the module doc.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { PolicyReplica } from "./replica.ts";
 * import { encodeKthxbai } from "./protocol.ts";
 *
 * const sent: Uint8Array[][] = [];
 * const replica = new PolicyReplica({
 *   clock: new ManualClock(),
 *   log: createMemoryLogger(),
 *   send: (frames) => void sent.push(frames),
 *   servers: 1,
 * });
 * replica.start(); // sends ICANHAZ?
 * replica.onSnapshot(encodeKthxbai(10, ""), 0); // empty snapshot at sequence 10
 * replica.state; // "active"
 * ```
 */
export class PolicyReplica implements Pattern<ReplicaStats> {
  readonly subtree: string;
  readonly heartbeatMs: number;
  readonly liveness: number;
  readonly #opts: PolicyReplicaOptions;
  readonly #peers: PeerLiveness<number>;
  readonly #maxPending: number;
  readonly #maxKeys: number;
  #table = new Map<string, LivePolicy>();
  #fp = 0;
  #staging = new Map<string, LivePolicy>();
  #stagingRejected: string[] = [];
  #pending: KvMsg[] = [];
  #pendingOverflow = false;
  #state: ReplicaState = "syncing";
  #server = 0;
  #version = 0;
  #syncDeadline = 0;
  #syncStarted = 0;
  #syncReason = "start";
  #behind = 0;
  #started = false;
  /** Servers whose publisher has delivered to us: our subscription is in place there. */
  readonly #subscribed = new Set<number>();
  /** While syncing: when to send ICANHAZ? without proof of the subscription (undefined: sent). */
  #icanhazDue: number | undefined;
  #stats = {
    syncs: 0,
    applied: 0,
    stale: 0,
    rejected: 0,
    gaps: 0,
    silences: 0,
    ignored: 0,
  };

  constructor(options: PolicyReplicaOptions) {
    this.#opts = options;
    this.subtree = options.subtree ?? "";
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.liveness = options.liveness ?? 3;
    if (!(Number.isInteger(this.liveness) && this.liveness >= 2)) {
      throw new RangeError(`liveness: expected an integer >= 2, got ${this.liveness}`);
    }
    if (!(options.servers >= 1)) {
      throw new RangeError(`servers: expected at least 1, got ${options.servers}`);
    }
    this.#maxPending = options.maxPending ?? 100_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#peers = new PeerLiveness<number>({
      clock: options.clock,
      intervalMs: this.heartbeatMs,
      suspectAfter: this.liveness - 1,
      deadAfter: this.liveness,
      rise: 1,
    });
  }

  /** `syncing` or `active`. */
  get state(): ReplicaState {
    return this.#state;
  }

  /** Index of the server in use. */
  get server(): number {
    return this.#server;
  }

  /** Sequence of the last applied change (the table's version). */
  get version(): number {
    return this.#version;
  }

  /** The live table (read-only view). */
  get table(): ReadonlyMap<string, LivePolicy> {
    return this.#table;
  }

  /** Fingerprint of the live table (see `fingerprint.ts`), kept up to date per change. */
  fingerprint(): string {
    return formatFingerprint(this.#fp);
  }

  /** Replaces the live table and recomputes the running fingerprint. */
  #setTable(table: Map<string, LivePolicy>): void {
    this.#table = table;
    this.#fp = 0;
    for (const [key, p] of table) this.#fp = (this.#fp + entryHash(key, p.body)) >>> 0;
  }

  #put(key: string, policy: LivePolicy | undefined): void {
    const old = this.#table.get(key);
    if (old) this.#fp = (this.#fp - entryHash(key, old.body)) >>> 0;
    if (policy) {
      this.#table.set(key, policy);
      this.#fp = (this.#fp + entryHash(key, policy.body)) >>> 0;
    } else {
      this.#table.delete(key);
    }
  }

  /**
   * Installs a persisted table before {@link start} (the node enforces it until the first
   * snapshot replaces it). Policies that no longer validate are skipped; returns how many
   * were restored.
   */
  restore(version: number, policies: readonly { key: string; body: string }[]): number {
    const table = new Map<string, LivePolicy>();
    for (const p of policies) {
      if (!this.#inSubtree(p.key)) continue;
      const parsed = parsePolicy(p.body);
      if (parsed.ok) table.set(p.key, { body: p.body, rules: parsed.rules, sequence: version });
    }
    this.#setTable(table);
    this.#version = version;
    return table.size;
  }

  /** Asks the first server for a snapshot. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#requestSnapshot("start");
  }

  /**
   * A message from server `server`'s snapshot socket (KVSYNC or KTHXBAI). Throws
   * `BadMessageError` for a malformed one; anything from another server or outside a sync
   * is ignored (counted).
   */
  onSnapshot(frames: Frames, server: number): void {
    const msg = decodeKv(frames);
    if (server !== this.#server || this.#state !== "syncing") {
      this.#stats.ignored++;
      return;
    }
    this.#peers.heard(server);
    this.#syncDeadline = this.#opts.clock.now() + this.liveness * this.heartbeatMs;
    if (msg.key === KTHXBAI) return this.#finishSync(msg.sequence);
    if (!this.#inSubtree(msg.key) || msg.body.length === 0) {
      this.#stats.ignored++;
      return;
    }
    if (this.#staging.size >= this.#maxKeys && !this.#staging.has(msg.key)) {
      this.#opts.log.limited("warn", "snapshot_too_large", { max_keys: this.#maxKeys });
      return this.#requestSnapshot("snapshot_too_large");
    }
    const body = text.decode(msg.body);
    const parsed = parsePolicy(body);
    if (!parsed.ok) {
      this.#stagingRejected.push(msg.key);
      this.#stats.rejected++;
      this.#opts.log.limited("warn", "policy_rejected", {
        key: msg.key,
        reason: parsed.error,
        in: "snapshot",
      }, "snapshot");
      // The previous version (if any) is kept.
      const old = this.#table.get(msg.key);
      if (old) this.#staging.set(msg.key, old);
      return;
    }
    this.#staging.set(msg.key, { body, rules: parsed.rules, sequence: msg.sequence });
  }

  /**
   * A message from server `server`'s publisher (KVPUB or HUGZ). Throws `BadMessageError`
   * for a malformed one; messages from a server not in use are ignored.
   */
  onUpdate(frames: Frames, server: number): void {
    const msg = decodeKv(frames);
    if (server !== this.#server) {
      this.#stats.ignored++;
      return;
    }
    this.#peers.heard(server);
    this.#subscribed.add(server);
    if (this.#state === "syncing") {
      if (this.#icanhazDue !== undefined) this.#sendIcanhaz();
      if (msg.key === HUGZ) return;
      if (this.#pending.length >= this.#maxPending) {
        this.#pendingOverflow = true;
        return;
      }
      this.#pending.push(msg);
      return;
    }
    this.#apply(msg);
  }

  /** Same as {@link onUpdate} from the server in use (the `Pattern` contract). */
  onMessage(frames: Frames): void {
    this.onUpdate(frames, this.#server);
  }

  /** Judges the master's silence and the snapshot's progress; re-syncs when needed. */
  tick(now: number = this.#opts.clock.now()): void {
    if (!this.#started) return;
    if (this.#state === "syncing") {
      if (this.#icanhazDue !== undefined && now >= this.#icanhazDue) this.#sendIcanhaz();
      if (now >= this.#syncDeadline) {
        this.#opts.log.limited("warn", "sync_timeout", {
          server: this.#server,
          waited_ms: Math.round(now - this.#syncStarted),
        });
        this.#next();
        this.#requestSnapshot("sync_timeout");
      }
      return;
    }
    for (const change of this.#peers.tick(now)) {
      if (change.peer !== this.#server || change.to !== "dead") continue;
      this.#stats.silences++;
      this.#opts.log.warn("master_silent", {
        server: this.#server,
        silent_ms: change.silentMs,
        missed: change.missed,
        version: this.#version,
        policies: this.#table.size,
      });
      this.#next();
      this.#requestSnapshot("master_silent");
    }
  }

  /** Counters and gauges. */
  stats(): ReplicaStats {
    return {
      state: this.#state,
      server: this.#server,
      version: this.#version,
      policies: this.#table.size,
      ...this.#stats,
    };
  }

  /** True while active (nothing half-applied). */
  settled(): boolean {
    return this.#state === "active";
  }

  #inSubtree(key: string): boolean {
    return key.startsWith(this.subtree);
  }

  #next(): void {
    this.#server = (this.#server + 1) % this.#opts.servers;
  }

  /** Moves the state by the table; throws if the code asks for a transition it lacks. */
  #fire(event: ReplicaEvent): void {
    const result = step(REPLICA_TABLE, this.#state, event);
    if (!result.ok) throw new Error(`replica table: ${result.reason}`);
    this.#state = result.next;
  }

  #requestSnapshot(reason: ReplicaEvent): void {
    const now = this.#opts.clock.now();
    this.#fire(reason);
    this.#syncReason = reason;
    this.#syncStarted = now;
    this.#syncDeadline = now + this.liveness * this.heartbeatMs;
    this.#staging = new Map();
    this.#stagingRejected = [];
    this.#pending = [];
    this.#pendingOverflow = false;
    this.#behind = 0;
    this.#peers.forget(this.#server);
    this.#opts.onSync?.(this.#server);
    this.#opts.log.info("sync_requested", { server: this.#server, reason, subtree: this.subtree });
    // Ask only once our subscription is in place (the server's publisher has delivered to
    // us), else updates between the snapshot's cut and the subscription would be missed
    // (a gap, and one more snapshot). A server that publishes nothing until asked (the
    // Guide's Binary Star pair) is asked after one heartbeat anyway.
    this.#icanhazDue = now + this.heartbeatMs;
    if (this.#subscribed.has(this.#server)) this.#sendIcanhaz();
  }

  #sendIcanhaz(): void {
    this.#icanhazDue = undefined;
    this.#opts.send(encodeIcanhaz(this.subtree));
  }

  #finishSync(sequence: number): void {
    this.#setTable(this.#staging);
    this.#staging = new Map();
    this.#version = sequence;
    this.#fire("kthxbai");
    this.#stats.syncs++;
    const held = this.#pending;
    const overflow = this.#pendingOverflow;
    this.#pending = [];
    const change: TableChange = {
      kind: "snapshot",
      version: sequence,
      policies: this.#table.size,
      rejected: this.#stagingRejected,
      server: this.#server,
    };
    this.#opts.log.info("synced", {
      server: this.#server,
      version: sequence,
      policies: this.#table.size,
      rejected: this.#stagingRejected.length,
      held: held.length,
      reason: this.#syncReason,
      took_ms: Math.round(this.#opts.clock.now() - this.#syncStarted),
      fingerprint: this.fingerprint(),
    });
    this.#opts.onChange?.(change);
    if (overflow) {
      this.#opts.log.warn("updates_overflow", { max_pending: this.#maxPending });
      return this.#requestSnapshot("updates_overflow");
    }
    for (const msg of held) {
      if (this.#state !== "active") break;
      this.#apply(msg);
    }
  }

  #apply(msg: KvMsg): void {
    if (msg.key === HUGZ) return this.#hugz(msg.sequence);
    const verdict = judgeSequence({ epoch: "", lastSeq: this.#version }, "", msg.sequence);
    if (verdict.kind === "stale") {
      this.#stats.stale++;
      return;
    }
    if (verdict.kind === "gap" && this.subtree === "") {
      this.#stats.gaps++;
      this.#opts.log.limited("warn", "sequence_gap", {
        server: this.#server,
        expected: verdict.expected,
        got: verdict.got,
        missing: verdict.missing,
      });
      return this.#requestSnapshot("sequence_gap");
    }
    this.#behind = 0;
    this.#version = msg.sequence;
    if (!this.#inSubtree(msg.key)) {
      this.#stats.ignored++;
      return;
    }
    if (msg.body.length === 0) {
      if (!this.#table.has(msg.key)) return;
      this.#put(msg.key, undefined);
      this.#stats.applied++;
      this.#opts.onChange?.({ kind: "delete", key: msg.key, version: msg.sequence });
      return;
    }
    const body = text.decode(msg.body);
    const parsed = parsePolicy(body);
    if (!parsed.ok) {
      this.#stats.rejected++;
      this.#opts.log.limited("warn", "policy_rejected", { key: msg.key, reason: parsed.error });
      this.#opts.onChange?.({
        kind: "rejected",
        key: msg.key,
        version: msg.sequence,
        reason: parsed.error,
      });
      return;
    }
    this.#put(msg.key, { body, rules: parsed.rules, sequence: msg.sequence });
    this.#stats.applied++;
    this.#opts.onChange?.({
      kind: "set",
      key: msg.key,
      version: msg.sequence,
      rules: parsed.rules.length,
    });
  }

  #hugz(sequence: number): void {
    // With a subtree the server's sequence also counts updates we never see: no judgement.
    // Sequence 0 is the RFC's literal HUGZ form: it carries no position.
    if (this.subtree !== "" || sequence === 0) return;
    if (sequence > this.#version) {
      this.#stats.gaps++;
      this.#opts.log.limited("warn", "sequence_gap", {
        server: this.#server,
        version: this.#version,
        master_sequence: sequence,
        missing: sequence - this.#version,
        seen_in: "HUGZ",
      });
      return this.#requestSnapshot("sequence_gap");
    }
    if (sequence < this.#version) {
      // One HUGZ queued before our snapshot may be behind; three in a row mean the
      // master's numbering went back (it restarted).
      if (++this.#behind >= 3) {
        this.#opts.log.warn("master_restarted", {
          server: this.#server,
          got: sequence,
          version: this.#version,
        });
        this.#requestSnapshot("master_restarted");
      }
      return;
    }
    this.#behind = 0;
  }
}
