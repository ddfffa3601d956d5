/**
 * The SWIM membership core with the Lifeguard refinements, sans-IO, after
 * hashicorp/memberlist: a periodic probe of one member (round-robin over a shuffled list),
 * indirect probes through `k` others when the direct probe times out (with Lifeguard nacks),
 * suspicion before death with a timeout that grows with log(N) and shrinks with independent
 * confirmations, incarnation numbers so a node refutes a false suspicion, local health
 * awareness (a node that misses acks or nacks slows its own probing), dissemination
 * piggybacked on every protocol message with a retransmit limit `λ·log(N)`, a periodic
 * full state sync (push-pull, also with dead members so partitions heal) and graceful
 * leave. Application state: every node owns a small versioned key-value map, gossiped the
 * same way (last version wins: eventually consistent).
 *
 * Time comes from `clock.now()` and randomness from `random()` (a seeded one in tests); the
 * role calls {@link Swim.tick} often (every few ms) and feeds it every decoded message.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import type { Random } from "@lib/random/mod.ts";
import { BroadcastQueue, retransmitLimit } from "./broadcast_queue.ts";
import { transition } from "./member_fsm.ts";
import {
  type GossipItem,
  type KvItem,
  type KvValue,
  MAX_INCARNATION,
  MAX_KV_KEYS,
  type MemberState,
  type Message,
  type Sync,
  type SyncMember,
} from "./protocol.ts";

/** Most joiners (hello received, not members yet) the mesh stays connected to. */
export const MAX_PENDING_CONTACTS = 64;

/** Protocol tunables (memberlist's DefaultLANConfig names and defaults). */
export interface SwimConfig {
  /** Time between probes (memberlist ProbeInterval). */
  probeIntervalMs: number;
  /** Wait for a direct ack before indirect probes (ProbeTimeout). */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (IndirectChecks). */
  indirectChecks: number;
  /** λ in the retransmit limit λ·ceil(log10(N+1)) (RetransmitMult). */
  retransmitMult: number;
  /** Suspicion timeout = mult·log10(N)·probe interval at least (SuspicionMult). */
  suspicionMult: number;
  /** The longest suspicion is this many times the shortest (SuspicionMaxTimeoutMult). */
  suspicionMaxTimeoutMult: number;
  /** Fan-out of pending gossip (GossipInterval); 0 = only piggybacked on probes. */
  gossipIntervalMs: number;
  /** Members per gossip round (GossipNodes). */
  gossipNodes: number;
  /** Dead members still get gossip this long (GossipToTheDeadTime). */
  gossipToTheDeadMs: number;
  /** Full state sync with a random member (PushPullInterval); 0 = off. */
  syncIntervalMs: number;
  /** Local health awareness: the most the probe interval/timeout scale up (AwarenessMaxMultiplier). */
  awarenessMax: number;
  /** A dead or left member is forgotten after this long (memberlist reaps after GossipToTheDeadTime). */
  reclaimMs: number;
  /** Most members tracked (more are ignored). */
  maxMembers: number;
  /** Most gossip items piggybacked on one message. */
  maxPiggyback: number;
}

/** memberlist's DefaultLANConfig where it has the setting, this lab's choice otherwise. */
export const DEFAULT_CONFIG: SwimConfig = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  syncIntervalMs: 10_000,
  awarenessMax: 8,
  reclaimMs: 120_000,
  maxMembers: 1024,
  maxPiggyback: 32,
};

/** What the core asks of its surroundings. */
export interface SwimPort {
  /** Monotonic time. */
  clock: Pick<Clock, "now">;
  /** Uniform [0, 1). */
  random: Random;
  /** Wall-clock ms, for versions of application entries that survive a restart. */
  wallNow?: () => number;
  /** Sends a message to member `to` (fire and forget; it may be lost). */
  send(to: string, message: Message): void;
  /** Start listening to member `id` (subscribe to its inbox on its PUB at `endpoint`). */
  connect(id: string, endpoint: string): void;
  /** Stop listening to member `id`. */
  disconnect(id: string, endpoint: string): void;
  /** A membership or state change. */
  event(event: SwimEvent): void;
}

/** The changes the core reports. */
export type SwimEvent =
  | {
    event: "member_alive";
    member: string;
    incarnation: number;
    endpoint: string;
    was?: MemberState;
  }
  | {
    event: "member_suspect";
    member: string;
    incarnation: number;
    from: string;
    timeout_ms: number;
  }
  | { event: "member_dead"; member: string; incarnation: number; from: string }
  | { event: "member_left"; member: string; incarnation: number }
  | { event: "member_forgotten"; member: string; state: MemberState }
  | { event: "refuted"; incarnation: number; accuser: string; accused_as: MemberState }
  | { event: "kv_updated"; member: string; key: string; value: KvValue; version: number }
  | { event: "joined"; via: string; members: number }
  | { event: "member_limit"; member: string; max: number }
  | { event: "stalled"; ms: number };

/** A member as this node sees it. */
export interface MemberView {
  id: string;
  endpoint: string;
  incarnation: number;
  state: MemberState;
  /** Monotonic ms of the last state change. */
  since: number;
  /** This node itself. */
  self: boolean;
  /** Independent confirmations of a running suspicion. */
  confirmations?: number;
  /** Its application entries. */
  kv: Record<string, KvValue>;
}

interface Suspicion {
  start: number;
  k: number;
  minMs: number;
  maxMs: number;
  /** The first accuser and each confirming one. */
  accusers: Set<string>;
  timeoutMs: number;
}

interface Member {
  id: string;
  endpoint: string;
  inc: number;
  state: MemberState;
  since: number;
  suspicion?: Suspicion;
}

interface Probe {
  target: string;
  seq: number;
  start: number;
  timeoutAt: number;
  endAt: number;
  indirect: boolean;
  nacksExpected: number;
  nacks: number;
}

interface Relay {
  requester: string;
  origSeq: number;
  nackAt: number;
  expiresAt: number;
  nacked: boolean;
}

/** Counters for the view and the bench. */
export interface SwimStats {
  incarnation: number;
  awareness: number;
  probes: number;
  probe_failures: number;
  indirect_probes: number;
  refutations: number;
  syncs: number;
  /** Times this node noticed it had not run for longer than a probe interval. */
  stalls: number;
  pending_gossip: number;
  members: Record<MemberState, number>;
}

/**
 * The suspicion timeout bounds for a cluster of `n`: min = mult·max(1, log10(n))·interval,
 * max = maxMult·min (memberlist's suspicionTimeout).
 *
 * @example
 * ```ts
 * import { suspicionBounds } from "./swim.ts";
 * console.log(suspicionBounds(4, 6, 20, 1000)); // { minMs: 5204, maxMs: 31224 }
 * ```
 */
export function suspicionBounds(
  mult: number,
  maxMult: number,
  n: number,
  intervalMs: number,
): { minMs: number; maxMs: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  const minMs = Math.floor(mult * scale * intervalMs);
  return { minMs, maxMs: maxMult * minMs };
}

/**
 * Lifeguard's suspicion timeout after `c` independent confirmations of `k` expected:
 * `max - (max - min)·log(c + 1)/log(k + 1)`, never below `min` (k < 1: `min`).
 *
 * @example
 * ```ts
 * import { suspicionTimeout } from "./swim.ts";
 * console.log(suspicionTimeout(0, 2, 1000, 6000)); // 6000
 * console.log(suspicionTimeout(2, 2, 1000, 6000)); // 1000
 * ```
 */
export function suspicionTimeout(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

/**
 * One node's SWIM state machine. See the module doc.
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { Swim } from "./swim.ts";
 *
 * const clock = new ManualClock();
 * const sent: unknown[] = [];
 * const swim = new Swim("n1", "tcp://127.0.0.1:7001", {}, {
 *   clock,
 *   random: seededRandom(1),
 *   send: (to, message) => sent.push({ to, message }),
 *   connect: () => {},
 *   disconnect: () => {},
 *   event: (e) => console.log(e.event),
 * });
 * swim.start();
 * swim.contact("n2", "tcp://127.0.0.1:7002"); // a joiner's hello: sends it our full state
 * ```
 */
export class Swim {
  /** This node's id. */
  readonly id: string;
  /** This node's advertised PUB endpoint. */
  readonly endpoint: string;
  /** The tunables in force. */
  readonly config: SwimConfig;
  readonly #port: SwimPort;
  readonly #members = new Map<string, Member>();
  readonly #queue: BroadcastQueue;
  readonly #kv = new Map<string, Map<string, { ver: number; val: KvValue }>>();
  readonly #relays = new Map<number, Relay>();
  readonly #lastContact = new Map<string, number>();
  /** Joiners we connected to that are not members yet (bounded, oldest dropped). */
  readonly #pendingContacts = new Map<string, string>();
  #inc = 0;
  #seq = 0;
  #awareness = 0;
  #probe?: Probe;
  #probeList: string[] = [];
  #probeIndex = 0;
  #nextProbeAt = 0;
  #nextGossipAt = 0;
  #nextSyncAt = 0;
  #started = false;
  #left = false;
  #joined = false;
  #ownVer = 0;
  #lastSeen = 0;
  readonly #stats = {
    probes: 0,
    probe_failures: 0,
    indirect_probes: 0,
    refutations: 0,
    syncs: 0,
    stalls: 0,
  };

  constructor(id: string, endpoint: string, config: Partial<SwimConfig>, port: SwimPort) {
    this.id = id;
    this.endpoint = endpoint;
    this.config = { ...DEFAULT_CONFIG, ...config };
    this.#port = port;
    this.#queue = new BroadcastQueue(this.config.maxMembers * 4);
    this.#kv.set(id, new Map());
  }

  /** This node's incarnation number. */
  get incarnation(): number {
    return this.#inc;
  }

  /** Local health awareness score (0 = healthy; timeouts scale by score + 1). */
  get awareness(): number {
    return this.#awareness;
  }

  /** True once a sync from another member arrived (or this node is the first). */
  get joined(): boolean {
    return this.#joined;
  }

  /** True after {@link Swim.leave}. */
  get left(): boolean {
    return this.#left;
  }

  /** Starts the timers (probes are staggered by a random share of one interval). */
  start(): void {
    const now = this.#now();
    this.#started = true;
    this.#lastSeen = now;
    this.#nextProbeAt = now + this.#port.random() * this.config.probeIntervalMs;
    this.#nextGossipAt = now + this.#port.random() * this.config.gossipIntervalMs;
    this.#nextSyncAt = now + (0.5 + this.#port.random()) * this.config.syncIntervalMs;
    this.#queue.enqueue(`m:${this.id}`, {
      k: "alive",
      id: this.id,
      inc: this.#inc,
      ep: this.endpoint,
    });
  }

  /** Members that are not dead or left, this node included. */
  get liveCount(): number {
    let n = 1;
    for (const m of this.#members.values()) if (m.state === "alive" || m.state === "suspect") n++;
    return n;
  }

  /** True when no other member is alive or suspect (a joiner, or cut off from everyone). */
  get alone(): boolean {
    return this.liveCount === 1;
  }

  /** Every member this node knows, itself first, then by id. */
  members(): MemberView[] {
    const self: MemberView = {
      id: this.id,
      endpoint: this.endpoint,
      incarnation: this.#inc,
      state: this.#left ? "left" : "alive",
      since: 0,
      self: true,
      kv: this.#kvOf(this.id),
    };
    const others = [...this.#members.values()].sort((a, b) => a.id < b.id ? -1 : 1).map((m) => ({
      id: m.id,
      endpoint: m.endpoint,
      incarnation: m.inc,
      state: m.state,
      since: m.since,
      self: false,
      ...(m.suspicion ? { confirmations: m.suspicion.accusers.size - 1 } : {}),
      kv: this.#kvOf(m.id),
    }));
    return [self, ...others];
  }

  /** The view of member `id` (undefined when unknown). */
  member(id: string): MemberView | undefined {
    return this.members().find((m) => m.id === id);
  }

  /** Counters. */
  stats(): SwimStats {
    const members: Record<MemberState, number> = { alive: 1, suspect: 0, dead: 0, left: 0 };
    for (const m of this.#members.values()) members[m.state]++;
    return {
      incarnation: this.#inc,
      awareness: this.#awareness,
      ...this.#stats,
      pending_gossip: this.#queue.size,
      members,
    };
  }

  /**
   * Sets one of this node's application entries (null deletes it); gossiped with a version
   * that beats every earlier one (also those of a previous run: wall-clock based).
   */
  setKv(key: string, value: KvValue): void {
    const own = this.#kv.get(this.id)!;
    if (!own.has(key) && own.size >= MAX_KV_KEYS) {
      throw new RangeError(`expected at most ${MAX_KV_KEYS} keys, got one more: ${key}`);
    }
    if (own.get(key)?.val === value) return;
    const wall = Math.floor(this.#port.wallNow?.() ?? 0);
    const ver = Math.max(this.#ownVer + 1, wall);
    this.#ownVer = ver;
    own.set(key, { ver, val: value });
    this.#queue.enqueue(`kv:${this.id}/${key}`, { k: "kv", id: this.id, key, ver, val: value });
  }

  /**
   * A joiner's hello (its subscription `@id endpoint` reached our XPUB): listen to it and
   * send it our full state (push-pull); its answer makes it a member. At most once a second
   * per id.
   */
  contact(id: string, endpoint: string): void {
    if (id === this.id || this.#left) return;
    const now = this.#now();
    const last = this.#lastContact.get(id);
    if (last !== undefined && now - last < 1000) return;
    this.#lastContact.delete(id);
    this.#lastContact.set(id, now);
    if (this.#lastContact.size > this.config.maxMembers) {
      this.#lastContact.delete(this.#lastContact.keys().next().value!);
    }
    const known = this.#members.get(id);
    if (!known) {
      // Listen to the joiner, but only to a few not (yet) members at a time: a flood of
      // forged hellos must not make the mesh connect to thousands of endpoints.
      const pending = this.#pendingContacts.get(id);
      if (pending !== undefined && pending !== endpoint) this.#port.disconnect(id, pending);
      this.#pendingContacts.delete(id);
      this.#pendingContacts.set(id, endpoint);
      this.#port.connect(id, endpoint);
      if (this.#pendingContacts.size > MAX_PENDING_CONTACTS) {
        const [oldId, oldEp] = this.#pendingContacts.entries().next().value!;
        this.#pendingContacts.delete(oldId);
        if (!this.#members.has(oldId)) this.#port.disconnect(oldId, oldEp);
      }
    } else if (known.endpoint !== endpoint) {
      this.#port.disconnect(id, known.endpoint);
      this.#port.connect(id, endpoint);
      known.endpoint = endpoint;
    }
    this.#sendSync(id, false);
    // The first node of a cluster has joined once anyone joins it.
    if (!this.#joined) this.#markJoined(id);
  }

  /** Marks this node as the first of a cluster (no seed to join through). */
  bootstrap(): void {
    this.#joined = true;
  }

  /** Handles one decoded message. */
  onMessage(message: Message): void {
    if (this.#left || !this.#started) return;
    this.#checkStall(this.#now());
    if (message.t !== "nack" && message.t !== "sync") this.#applyGossip(message.g, message.from);
    switch (message.t) {
      case "ping":
        this.#port.send(message.from, {
          t: "ack",
          from: this.id,
          seq: message.seq,
          g: this.#piggyback(),
        });
        return;
      case "ack":
        this.#onAck(message.seq);
        return;
      case "nack":
        if (this.#probe && this.#probe.seq === message.seq) this.#probe.nacks++;
        return;
      case "ping_req":
        this.#onPingReq(message.from, message.seq, message.target);
        return;
      case "gossip":
        return;
      case "sync":
        this.#onSync(message);
        return;
    }
  }

  /** Runs whatever is due: probes, indirect probes, suspicion timeouts, gossip, sync, reaping. */
  tick(): void {
    if (!this.#started || this.#left) return;
    const now = this.#now();
    this.#checkStall(now);
    this.#tickProbe(now);
    this.#tickRelays(now);
    this.#tickSuspicions(now);
    if (this.config.gossipIntervalMs > 0 && now >= this.#nextGossipAt) {
      this.#nextGossipAt = now + this.config.gossipIntervalMs;
      this.#gossip(now);
    }
    if (this.config.syncIntervalMs > 0 && now >= this.#nextSyncAt) {
      this.#nextSyncAt = now + this.#syncInterval();
      this.#periodicSync();
    }
    this.#reap(now);
  }

  /**
   * Graceful leave: marks this node left (a `dead` item from itself) and sends that, with
   * whatever gossip is pending, to every live member at once; they disseminate the rest.
   * Returns how many members were told.
   */
  leave(): number {
    if (this.#left) return 0;
    this.#queue.enqueue(`m:${this.id}`, { k: "dead", id: this.id, inc: this.#inc, from: this.id });
    const targets = [...this.#members.values()].filter((m) =>
      m.state === "alive" || m.state === "suspect"
    );
    const limit = Math.max(1, targets.length);
    for (const m of targets) {
      this.#port.send(m.id, {
        t: "gossip",
        from: this.id,
        g: this.#queue.take(this.config.maxPiggyback, limit),
      });
    }
    this.#left = true;
    this.#probe = undefined;
    return targets.length;
  }

  /**
   * A gap longer than a probe interval since we last ran means *we* were not running
   * (SIGSTOP, a starved CPU, a long GC): our timers say nothing about the others. In the
   * spirit of Lifeguard's local health awareness we distrust ourselves: the probe in flight
   * blames nobody, running suspicions get the lost time back, and our health score worsens.
   */
  #checkStall(now: number): void {
    const gap = now - this.#lastSeen;
    this.#lastSeen = now;
    if (gap <= this.config.probeIntervalMs) return;
    this.#stats.stalls++;
    this.#probe = undefined;
    this.#relays.clear();
    for (const m of this.#members.values()) if (m.suspicion) m.suspicion.start += gap;
    this.#nextProbeAt = Math.max(this.#nextProbeAt, now + this.config.probeIntervalMs);
    this.#adjustAwareness(1);
    this.#port.event({ event: "stalled", ms: Math.round(gap) });
  }

  // ---- probing -------------------------------------------------------------------------

  #tickProbe(now: number): void {
    const probe = this.#probe;
    if (probe) {
      if (!probe.indirect && now >= probe.timeoutAt) this.#indirect(probe);
      if (now >= probe.endAt) this.#probeFailed(probe);
      return;
    }
    if (now < this.#nextProbeAt) return;
    const target = this.#nextTarget();
    const interval = this.#scaled(this.config.probeIntervalMs);
    this.#nextProbeAt = now + interval;
    if (!target) return;
    const seq = this.#nextSeq();
    this.#probe = {
      target: target.id,
      seq,
      start: now,
      timeoutAt: now + this.#scaled(this.config.probeTimeoutMs),
      endAt: now + interval,
      indirect: false,
      nacksExpected: 0,
      nacks: 0,
    };
    this.#stats.probes++;
    this.#port.send(target.id, { t: "ping", from: this.id, seq, g: this.#piggyback() });
  }

  #nextTarget(): Member | undefined {
    for (let tries = 0; tries <= this.#members.size + 1; tries++) {
      if (this.#probeIndex >= this.#probeList.length) {
        this.#probeList = this.#shuffle(
          [...this.#members.values()].filter((m) => m.state === "alive" || m.state === "suspect")
            .map((m) => m.id),
        );
        this.#probeIndex = 0;
        if (this.#probeList.length === 0) return undefined;
      }
      const m = this.#members.get(this.#probeList[this.#probeIndex++]);
      if (m && (m.state === "alive" || m.state === "suspect")) return m;
    }
    return undefined;
  }

  #indirect(probe: Probe): void {
    probe.indirect = true;
    const target = this.#members.get(probe.target);
    if (!target) return;
    const helpers = this.#pick(
      this.config.indirectChecks,
      (m) => m.state === "alive" && m.id !== probe.target,
    );
    probe.nacksExpected = helpers.length;
    this.#stats.indirect_probes += helpers.length;
    for (const helper of helpers) {
      this.#port.send(helper.id, {
        t: "ping_req",
        from: this.id,
        seq: probe.seq,
        target: target.id,
        ep: target.endpoint,
        g: this.#piggyback(),
      });
    }
  }

  #onAck(seq: number): void {
    if (this.#probe && this.#probe.seq === seq) {
      this.#probe = undefined;
      this.#adjustAwareness(-1);
      return;
    }
    const relay = this.#relays.get(seq);
    if (relay) {
      this.#relays.delete(seq);
      this.#port.send(relay.requester, {
        t: "ack",
        from: this.id,
        seq: relay.origSeq,
        g: this.#piggyback(),
      });
    }
  }

  #probeFailed(probe: Probe): void {
    this.#probe = undefined;
    this.#stats.probe_failures++;
    // Lifeguard: missing nacks mean *we* may be the slow one; no helpers, count the failure.
    this.#adjustAwareness(
      probe.nacksExpected > 0 ? Math.max(0, probe.nacksExpected - probe.nacks) : 1,
    );
    const target = this.#members.get(probe.target);
    if (target && (target.state === "alive" || target.state === "suspect")) {
      this.#suspect(target.id, target.inc, this.id);
    }
  }

  #onPingReq(from: string, origSeq: number, targetId: string): void {
    const target = this.#members.get(targetId);
    if (!target || targetId === this.id) return;
    const seq = this.#nextSeq();
    const now = this.#now();
    this.#relays.set(seq, {
      requester: from,
      origSeq,
      nackAt: now + Math.floor(this.config.probeTimeoutMs * 0.8),
      expiresAt: now + this.config.probeIntervalMs * (this.config.awarenessMax + 1),
      nacked: false,
    });
    if (this.#relays.size > 256) this.#relays.delete(this.#relays.keys().next().value!);
    this.#port.send(targetId, { t: "ping", from: this.id, seq, g: this.#piggyback() });
  }

  #tickRelays(now: number): void {
    for (const [seq, relay] of this.#relays) {
      if (!relay.nacked && now >= relay.nackAt) {
        relay.nacked = true;
        this.#port.send(relay.requester, { t: "nack", from: this.id, seq: relay.origSeq });
      }
      if (now >= relay.expiresAt) this.#relays.delete(seq);
    }
  }

  #adjustAwareness(delta: number): void {
    this.#awareness = Math.min(
      this.config.awarenessMax - 1,
      Math.max(0, this.#awareness + delta),
    );
  }

  #scaled(ms: number): number {
    return ms * (this.#awareness + 1);
  }

  // ---- membership rules ----------------------------------------------------------------

  #alive(id: string, inc: number, endpoint: string): void {
    if (id === this.id) {
      // Someone holds a newer incarnation of us (a previous run): outbid it.
      if (inc > this.#inc) this.#refute(inc, "alive", "(gossip)");
      return;
    }
    const now = this.#now();
    const m = this.#members.get(id);
    if (!m) {
      if (this.#members.size >= this.config.maxMembers) {
        this.#port.event({ event: "member_limit", member: id, max: this.config.maxMembers });
        return;
      }
      this.#members.set(id, { id, endpoint, inc, state: "alive", since: now });
      this.#pendingContacts.delete(id);
      // A new member goes to a random place of the probe round (memberlist does the same).
      const at = this.#probeIndex +
        Math.floor(this.#port.random() * (this.#probeList.length - this.#probeIndex + 1));
      this.#probeList.splice(at, 0, id);
      this.#port.connect(id, endpoint);
      this.#queue.enqueue(`m:${id}`, { k: "alive", id, inc, ep: endpoint });
      this.#port.event({ event: "member_alive", member: id, incarnation: inc, endpoint });
      return;
    }
    const t = transition(m.state, "alive", inc, m.inc);
    if (!t) return;
    const was = m.state;
    if (m.endpoint !== endpoint) {
      this.#port.disconnect(id, m.endpoint);
      m.endpoint = endpoint;
      this.#port.connect(id, endpoint);
    }
    m.inc = inc;
    m.state = t.next;
    m.suspicion = undefined;
    this.#queue.enqueue(`m:${id}`, { k: "alive", id, inc, ep: endpoint });
    if (was !== "alive") {
      m.since = now;
      if (was === "dead" || was === "left") {
        this.#probeList.splice(this.#probeIndex, 0, id);
      }
      this.#port.event({ event: "member_alive", member: id, incarnation: inc, endpoint, was });
    }
  }

  #suspect(id: string, inc: number, from: string): void {
    if (inc >= MAX_INCARNATION) return; // could never be refuted: forged
    if (id === this.id) {
      if (inc >= this.#inc) this.#refute(inc, "suspect", from);
      return;
    }
    const m = this.#members.get(id);
    if (!m) return;
    const t = transition(m.state, "suspect", inc, m.inc);
    if (!t) return;
    const now = this.#now();
    if (t.action === "confirm") {
      const s = m.suspicion;
      // The first accuser is not a confirmation; each other distinct one is, up to k.
      if (!s || s.accusers.has(from) || s.accusers.size - 1 >= s.k) return;
      s.accusers.add(from);
      s.timeoutMs = suspicionTimeout(s.accusers.size - 1, s.k, s.minMs, s.maxMs);
      // Re-broadcast so others can count this confirmation too.
      this.#queue.enqueue(`m:${id}`, { k: "suspect", id, inc, from });
      return;
    }
    const n = this.liveCount;
    let k = this.config.suspicionMult - 2;
    if (n - 2 < k) k = 0; // too few members to expect independent confirmations
    const { minMs, maxMs } = suspicionBounds(
      this.config.suspicionMult,
      this.config.suspicionMaxTimeoutMult,
      n,
      this.config.probeIntervalMs,
    );
    m.inc = inc;
    m.state = "suspect";
    m.since = now;
    m.suspicion = {
      start: now,
      k,
      minMs,
      maxMs,
      accusers: new Set([from]),
      timeoutMs: suspicionTimeout(0, k, minMs, maxMs),
    };
    this.#queue.enqueue(`m:${id}`, { k: "suspect", id, inc, from });
    this.#port.event({
      event: "member_suspect",
      member: id,
      incarnation: inc,
      from,
      timeout_ms: m.suspicion.timeoutMs,
    });
  }

  #dead(id: string, inc: number, from: string): void {
    if (inc >= MAX_INCARNATION) return; // could never be refuted: forged
    if (id === this.id) {
      // Dead, or a leave we never made (forged, or a previous run's): we are alive, refute.
      if (!this.#left && inc >= this.#inc) this.#refute(inc, "dead", from);
      return;
    }
    const m = this.#members.get(id);
    if (!m) return;
    const leaving = from === id;
    const t = transition(m.state, leaving ? "leave" : "dead", inc, m.inc);
    if (!t) return;
    this.#settle(m, t.next as "dead" | "left", inc, from);
  }

  #settle(m: Member, state: "dead" | "left", inc: number, from: string): void {
    m.inc = inc;
    m.state = state;
    m.since = this.#now();
    m.suspicion = undefined;
    if (this.#probe?.target === m.id) this.#probe = undefined;
    this.#queue.enqueue(`m:${m.id}`, { k: "dead", id: m.id, inc, from });
    this.#port.event(
      state === "left"
        ? { event: "member_left", member: m.id, incarnation: inc }
        : { event: "member_dead", member: m.id, incarnation: inc, from },
    );
  }

  #tickSuspicions(now: number): void {
    for (const m of this.#members.values()) {
      const s = m.suspicion;
      if (m.state !== "suspect" || !s || now - s.start < s.timeoutMs) continue;
      const t = transition(m.state, "timeout", m.inc, m.inc);
      if (t) this.#settle(m, "dead", m.inc, this.id);
    }
  }

  #refute(accusedInc: number, as: MemberState, accuser: string): void {
    this.#inc = Math.min(MAX_INCARNATION, Math.max(this.#inc, accusedInc) + 1);
    this.#stats.refutations++;
    this.#adjustAwareness(1);
    this.#queue.enqueue(`m:${this.id}`, {
      k: "alive",
      id: this.id,
      inc: this.#inc,
      ep: this.endpoint,
    });
    this.#port.event({ event: "refuted", incarnation: this.#inc, accuser, accused_as: as });
  }

  #applyGossip(items: GossipItem[], sender: string): void {
    // Membership first, so that entries of a member that arrives with them are kept.
    for (const item of items) {
      if (item.k === "alive") this.#alive(item.id, item.inc, item.ep);
      else if (item.k === "suspect") this.#suspect(item.id, item.inc, item.from);
      else if (item.k === "dead") this.#dead(item.id, item.inc, item.from);
    }
    for (const item of items) if (item.k === "kv") this.#applyKv(item, sender);
  }

  #applyKv(item: KvItem, _sender: string): void {
    if (item.id === this.id) {
      // A newer version of one of our entries (from a previous run): bump past it.
      const own = this.#kv.get(this.id)!.get(item.key);
      if (item.ver >= (own?.ver ?? -1) && own !== undefined) {
        this.#ownVer = Math.max(this.#ownVer, item.ver);
        const val = own.val;
        this.#kv.get(this.id)!.delete(item.key);
        this.setKv(item.key, val);
      }
      return;
    }
    if (!this.#members.has(item.id)) return;
    let map = this.#kv.get(item.id);
    if (!map) this.#kv.set(item.id, map = new Map());
    const held = map.get(item.key);
    if (held && held.ver >= item.ver) return;
    if (!held && map.size >= MAX_KV_KEYS) return;
    map.set(item.key, { ver: item.ver, val: item.val });
    this.#queue.enqueue(`kv:${item.id}/${item.key}`, item);
    this.#port.event({
      event: "kv_updated",
      member: item.id,
      key: item.key,
      value: item.val,
      version: item.ver,
    });
  }

  // ---- dissemination -------------------------------------------------------------------

  #piggyback(): GossipItem[] {
    return this.#queue.take(
      this.config.maxPiggyback,
      retransmitLimit(this.config.retransmitMult, this.liveCount),
    );
  }

  #gossip(now: number): void {
    if (this.#queue.size === 0) return;
    const targets = this.#pick(
      this.config.gossipNodes,
      (m) =>
        m.state === "alive" || m.state === "suspect" ||
        (m.state === "dead" && now - m.since < this.config.gossipToTheDeadMs),
    );
    for (const m of targets) {
      const g = this.#piggyback();
      if (g.length === 0) return;
      this.#port.send(m.id, { t: "gossip", from: this.id, g });
    }
  }

  // ---- push-pull -----------------------------------------------------------------------

  #syncInterval(): number {
    // memberlist's pushPullScale: beyond 32 members, sync less often (log2 of the excess).
    const n = this.liveCount;
    const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
    return this.config.syncIntervalMs * scale;
  }

  #periodicSync(): void {
    const [live] = this.#pick(1, (m) => m.state === "alive");
    if (live) this.#sendSync(live.id, false);
    // Partitions heal: also exchange state with one member we hold dead.
    const [dead] = this.#pick(1, (m) => m.state === "dead");
    if (dead) this.#sendSync(dead.id, false);
  }

  #sendSync(to: string, reply: boolean): void {
    const members: SyncMember[] = [
      { id: this.id, ep: this.endpoint, inc: this.#inc, st: "alive" },
      ...[...this.#members.values()].map((m) => ({
        id: m.id,
        ep: m.endpoint,
        inc: m.inc,
        st: m.state,
      })),
    ];
    const kv: KvItem[] = [];
    for (const [id, map] of this.#kv) {
      for (const [key, { ver, val }] of map) kv.push({ k: "kv", id, key, ver, val });
    }
    this.#stats.syncs++;
    this.#port.send(to, { t: "sync", from: this.id, reply, members, kv });
  }

  #onSync(message: Sync): void {
    for (const m of message.members) {
      if (m.id === this.id) {
        if (m.st === "alive") this.#alive(m.id, m.inc, m.ep);
        else if (m.inc < MAX_INCARNATION && m.inc >= this.#inc) {
          this.#refute(m.inc, m.st, message.from);
        }
        continue;
      }
      if (m.st === "alive") this.#alive(m.id, m.inc, m.ep);
      else if (m.st === "left") this.#dead(m.id, m.inc, m.id);
      // memberlist prefers suspicion to death for remote views: the member may refute.
      else this.#suspect(m.id, m.inc, message.from);
    }
    for (const item of message.kv) this.#applyKv(item, message.from);
    if (!this.#joined) this.#markJoined(message.from);
    if (!message.reply) this.#sendSync(message.from, true);
  }

  #markJoined(via: string): void {
    this.#joined = true;
    this.#port.event({ event: "joined", via, members: this.liveCount });
  }

  // ---- housekeeping --------------------------------------------------------------------

  #reap(now: number): void {
    for (const m of this.#members.values()) {
      if ((m.state === "dead" || m.state === "left") && now - m.since >= this.config.reclaimMs) {
        this.#members.delete(m.id);
        this.#kv.delete(m.id);
        this.#port.disconnect(m.id, m.endpoint);
        this.#port.event({ event: "member_forgotten", member: m.id, state: m.state });
      }
    }
  }

  #kvOf(id: string): Record<string, KvValue> {
    const out: Record<string, KvValue> = {};
    for (const [key, { val }] of this.#kv.get(id) ?? []) out[key] = val;
    return out;
  }

  #pick(n: number, ok: (m: Member) => boolean): Member[] {
    return this.#shuffle([...this.#members.values()].filter(ok)).slice(0, n);
  }

  #shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#port.random() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % 0x7fffffff;
    return this.#seq;
  }

  #now(): number {
    return this.#port.clock.now();
  }
}
