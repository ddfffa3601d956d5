/**
 * The Clone server's state, sans-IO (the Guide's clonesrv5/6 without the sockets): the
 * hashmap of policies, the sequence, TTL expiry and heartbeats. The role feeds it KVSET
 * messages from the collector and ICANHAZ requests from the snapshot socket; it answers
 * through `publish` (the PUB socket) and returns snapshot frames to send.
 *
 * The sequence starts at the master's start time in microseconds (`sequenceBase`), so a
 * restarted master's numbers keep growing: every node sees a jump (a gap) on the first
 * HUGZ or update from the new master and re-syncs, instead of discarding the new master's
 * updates as "older than my snapshot".
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { type Frames, type Pattern, trySend } from "@lib/patterns/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { checkKey, parsePolicy, type PolicySource } from "./acl.ts";
import {
  decodeKv,
  encodeHugz,
  encodeKthxbai,
  encodeKv,
  type KvMsg,
  newUuid,
  ttlSeconds,
} from "./protocol.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** One stored policy. */
export interface StoredPolicy {
  key: string;
  body: Uint8Array;
  uuid: Uint8Array;
  sequence: number;
  /** Clock time (ms) at which it expires, if it has a ttl. */
  expiresAt?: number;
  ttl?: number;
}

/** Options of {@link PolicyMaster}. */
export interface PolicyMasterOptions {
  clock: Clock;
  log: Logger;
  /** Sends one message on the PUB socket (may throw: counted as dropped). */
  publish(frames: Frames): void;
  /** First sequence number minus one (default: wall-clock microseconds at construction). */
  sequenceBase?: number;
  /** HUGZ interval in ms (default 1000). */
  heartbeatMs?: number;
  /** Most policies held (default 100 000): a KVSET for one more key is refused. */
  maxKeys?: number;
}

/** Counters of a {@link PolicyMaster}. */
export interface PolicyMasterStats {
  sequence: number;
  policies: number;
  sets: number;
  deletes: number;
  expired: number;
  rejected: number;
  snapshots: number;
  hugz: number;
  publishDropped: number;
}

/** What one KVSET did. */
export type SetOutcome =
  | { kind: "set" | "deleted"; key: string; sequence: number }
  | { kind: "rejected"; key: string; reason: string };

/**
 * The master's hashmap; see the module doc.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { PolicyMaster } from "./master.ts";
 *
 * const published: Uint8Array[][] = [];
 * const master = new PolicyMaster({
 *   clock: new ManualClock(),
 *   log: createMemoryLogger(),
 *   publish: (frames) => void published.push(frames),
 *   sequenceBase: 0,
 * });
 * master.load([{ key: "/acl/dmz/web", body: "deny any from any to any" }]);
 * master.snapshot("").length; // 2: one KVSYNC and KTHXBAI
 * ```
 */
export class PolicyMaster implements Pattern<PolicyMasterStats> {
  readonly heartbeatMs: number;
  readonly maxKeys: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #publish: (frames: Frames) => void;
  readonly #map = new Map<string, StoredPolicy>();
  #sequence: number;
  #nextHugz: number;
  #stats = {
    sets: 0,
    deletes: 0,
    expired: 0,
    rejected: 0,
    snapshots: 0,
    hugz: 0,
    publishDropped: 0,
  };

  constructor(options: PolicyMasterOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#publish = options.publish;
    this.#sequence = options.sequenceBase ?? Date.now() * 1000;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.#nextHugz = this.#clock.now();
  }

  /** The sequence of the last change. */
  get sequence(): number {
    return this.#sequence;
  }

  /** Number of policies held. */
  get size(): number {
    return this.#map.size;
  }

  /** One policy, if held. */
  get(key: string): StoredPolicy | undefined {
    return this.#map.get(key);
  }

  /**
   * Takes over a mirrored table (a backup becoming active): the policies and the sequence
   * the old active had reached, so nodes that fail over see the same versions.
   */
  adopt(
    policies: Iterable<readonly [string, { body: string; sequence: number }]>,
    sequence: number,
  ): void {
    this.#map.clear();
    for (const [key, p] of policies) {
      this.#map.set(key, {
        key,
        body: encoder.encode(p.body),
        uuid: newUuid(),
        sequence: p.sequence,
      });
    }
    this.#sequence = Math.max(this.#sequence, sequence);
  }

  /** Stores already-validated policies (startup: nothing is published). */
  load(policies: readonly PolicySource[]): void {
    for (const p of policies) {
      this.#map.set(p.key, {
        key: p.key,
        body: encoder.encode(p.body),
        uuid: newUuid(),
        sequence: ++this.#sequence,
      });
    }
  }

  /**
   * A KVSET from the collector: decodes it (throws `BadMessageError` for a malformed
   * message), validates key, ttl and ACL, then stores and publishes it as KVPUB with the
   * next sequence (empty body: deletes). A policy that does not validate is refused
   * (`policy_rejected`, nothing published): the nodes keep the previous version.
   */
  onMessage(frames: Frames): SetOutcome {
    const msg = decodeKv(frames);
    return this.set(msg);
  }

  /** Applies a decoded KVSET; see {@link onMessage}. */
  set(msg: KvMsg): SetOutcome {
    const key = msg.key;
    const reject = (reason: string): SetOutcome => {
      this.#stats.rejected++;
      this.#log.limited("warn", "policy_rejected", { key: key.slice(0, 80), reason }, reason);
      return { kind: "rejected", key, reason };
    };
    const badKey = checkKey(key);
    if (badKey) return reject(badKey);
    let ttl: number | undefined;
    try {
      ttl = ttlSeconds(msg.properties);
    } catch (error) {
      return reject((error as BadMessageError).reason);
    }
    if (msg.body.length === 0) {
      // Published even for a key we do not hold (as the Guide's server does): the writer
      // sees its delete confirmed, and a node that somehow holds the key drops it.
      this.#map.delete(key);
      const sequence = this.#emit({ ...msg, properties: new Map() });
      this.#stats.deletes++;
      this.#log.info("policy_deleted", { key, sequence });
      return { kind: "deleted", key, sequence };
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(msg.body);
    } catch {
      return reject("policy: expected UTF-8 text");
    }
    const parsed = parsePolicy(text);
    if (!parsed.ok) return reject(`policy: ${parsed.error}`);
    if (!this.#map.has(key) && this.#map.size >= this.maxKeys) {
      return reject(`expected at most ${this.maxKeys} policies, got one more`);
    }
    const properties = new Map<string, string>();
    if (ttl !== undefined) properties.set("ttl", String(ttl));
    const uuid = msg.uuid.length ? msg.uuid : newUuid();
    const sequence = this.#emit({ key, sequence: 0, uuid, properties, body: msg.body });
    this.#map.set(key, {
      key,
      body: msg.body,
      uuid,
      sequence,
      ...(ttl !== undefined ? { ttl, expiresAt: this.#clock.now() + ttl * 1000 } : {}),
    });
    this.#stats.sets++;
    this.#log.info("policy_set", { key, sequence, rules: parsed.rules.length, ttl });
    return { kind: "set", key, sequence };
  }

  /**
   * The reply to `["ICANHAZ?", subtree]`: a KVSYNC per key under `subtree` (frames 2 and 3
   * empty, as the RFC's KVSYNC) and KTHXBAI with the current sequence. Built at once from
   * the current map, so a snapshot is one consistent cut at that sequence whatever arrives
   * while it is being sent.
   */
  snapshot(subtree: string): Frames[] {
    const out: Frames[] = [];
    for (const p of this.#map.values()) {
      if (!p.key.startsWith(subtree)) continue;
      out.push(encodeKv({
        key: p.key,
        sequence: p.sequence,
        uuid: new Uint8Array(),
        properties: new Map(),
        body: p.body,
      }));
    }
    out.push(encodeKthxbai(this.#sequence, subtree));
    this.#stats.snapshots++;
    return out;
  }

  /** Expires policies whose ttl ran out (publishing the deletes) and sends HUGZ when due. */
  tick(now: number = this.#clock.now()): void {
    for (const p of [...this.#map.values()]) {
      if (p.expiresAt !== undefined && p.expiresAt <= now) {
        this.#map.delete(p.key);
        const sequence = this.#emit({
          key: p.key,
          sequence: 0,
          uuid: p.uuid,
          properties: new Map(),
          body: new Uint8Array(),
        });
        this.#stats.expired++;
        this.#log.info("policy_expired", { key: p.key, sequence, ttl: p.ttl });
      }
    }
    if (now >= this.#nextHugz) {
      if (trySend(this.#publish, encodeHugz(this.#sequence))) this.#stats.hugz++;
      else this.#stats.publishDropped++;
      this.#nextHugz = now + this.heartbeatMs;
    }
  }

  /** Counters. */
  stats(): PolicyMasterStats {
    return { sequence: this.#sequence, policies: this.#map.size, ...this.#stats };
  }

  /** Always true: nothing is in flight. */
  settled(): boolean {
    return true;
  }

  /** Policies as text, for the log and tests. */
  entries(): { key: string; body: string; sequence: number }[] {
    return [...this.#map.values()].map((p) => ({
      key: p.key,
      body: decoder.decode(p.body),
      sequence: p.sequence,
    }));
  }

  #emit(msg: KvMsg): number {
    const sequence = ++this.#sequence;
    if (!trySend(this.#publish, encodeKv({ ...msg, sequence }))) this.#stats.publishDropped++;
    return sequence;
  }
}
