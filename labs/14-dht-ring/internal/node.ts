/**
 * The DHT node's logic, IO-free: it takes requests ({@link DhtNode.handle}) and talks to
 * peers through an injected {@link Transport}, with an injected clock, wall clock and
 * randomness, so unit tests can run a whole ring in memory and the role wires it to
 * ZeroMQ sockets.
 *
 * - Any node coordinates a client request: it stamps a write (HLC), sends it to the key's
 *   preference list (N distinct nodes clockwise) and answers once W replicas hold it; a read
 *   asks the list and answers with the newest of R replies (last-writer-wins).
 * - Hinted handoff: a replica that is dead or does not acknowledge gets a hint kept by the
 *   coordinator, delivered when the replica is reachable again (hints never count toward W).
 * - Read repair: once every replica of a read has answered or timed out, the ones that
 *   returned an older version (or none) get the newest.
 * - Membership by gossip ({@link Membership}); on each ring change only the keys whose
 *   preference list changed move, each from exactly one sender ({@link planTransfers}).
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import type { Random } from "@lib/random/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { Membership } from "./membership.ts";
import type { Consistency, Item, Member, Reply, Request, RingOk } from "./protocol.ts";
import { MAX_BATCH } from "./protocol.ts";
import { checkQuorums, Quorum, required } from "./quorum.ts";
import { planTransfers, Ring } from "./ring.ts";
import { Hints, Store } from "./store.ts";
import { compareStamps, HybridClock, newer, type Versioned } from "./versioned.ts";

/** Sends a request to a peer and resolves with its reply (rejects on timeout or error). */
export interface Transport {
  request(endpoint: string, message: Request, timeoutMs: number): Promise<Reply>;
}

/** Options of {@link DhtNode}. */
export interface DhtNodeOptions {
  id: string;
  /** The endpoint peers and clients reach this node at. */
  endpoint: string;
  vnodes: number;
  n: number;
  r: number;
  w: number;
  clock: Clock;
  /** Wall clock in ms for HLC stamps and the membership version (`Date.now`). */
  wallClock: () => number;
  random: Random;
  transport: Transport;
  log: Logger;
  /** Endpoints to gossip with until peers are known (and now and then afterwards). */
  seeds: string[];
  gossipIntervalMs: number;
  rpcTimeoutMs: number;
  maxKeys: number;
  /** Bytes of keys and values stored at most, and held in hints at most (default: no bound). */
  maxBytes?: number;
  maxHints: number;
  /** Silent gossip intervals before a peer is suspect / dead. */
  suspectAfter?: number;
  deadAfter?: number;
}

/** Counters for the `stats` event and the live view. */
export interface NodeStats {
  puts: number;
  putsFailed: number;
  gets: number;
  getsFailed: number;
  hintsStored: number;
  hintsDropped: number;
  hintsDelivered: number;
  repairs: number;
  transferSent: number;
  transferReceived: number;
  transferReceivedNew: number;
  ringChanges: number;
}

/**
 * One DHT node. Call {@link gossipRound} every gossip interval and {@link handoffRound}
 * every handoff interval; feed every request to {@link handle}.
 *
 * @example
 * ```ts ignore
 * const node = new DhtNode({ id: "a", endpoint: "tcp://127.0.0.1:5514", ... });
 * const reply = await node.handle({ kind: "get", id: 1, key: "k", consistency: "quorum" });
 * ```
 */
export class DhtNode {
  readonly id: string;
  readonly membership: Membership;
  readonly store: Store;
  readonly hints: Hints;
  readonly stats: NodeStats = {
    puts: 0,
    putsFailed: 0,
    gets: 0,
    getsFailed: 0,
    hintsStored: 0,
    hintsDropped: 0,
    hintsDelivered: 0,
    repairs: 0,
    transferSent: 0,
    transferReceived: 0,
    transferReceivedNew: 0,
    ringChanges: 0,
  };
  #ring: Ring;
  readonly #o: DhtNodeOptions;
  readonly #hlc: HybridClock;
  readonly #handoffBusy = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();
  #round = 0;
  #leaving = false;
  readonly #seeds: string[];
  /** The first version of this node's entry (its start, wall clock ms). */
  readonly #joinedAt: number;

  constructor(options: DhtNodeOptions) {
    const problem = checkQuorums(options.n, options.r, options.w);
    if (problem) throw new RangeError(problem);
    this.#o = options;
    this.id = options.id;
    this.#hlc = new HybridClock(options.id, options.wallClock);
    this.store = new Store(options.maxKeys, options.maxBytes);
    this.hints = new Hints(options.maxHints, options.maxBytes);
    this.membership = new Membership({
      self: { id: options.id, endpoint: options.endpoint, vnodes: options.vnodes },
      clock: options.clock,
      version: Math.floor(options.wallClock()),
      intervalMs: options.gossipIntervalMs,
      suspectAfter: options.suspectAfter,
      deadAfter: options.deadAfter,
    });
    this.#joinedAt = this.membership.self.version;
    this.#seeds = [...options.seeds];
    this.#ring = this.#buildRing();
  }

  /** The ring as this node sees it now. */
  get ring(): Ring {
    return this.#ring;
  }

  /** True when no background work (replica writes, repairs, transfers) is in flight. */
  settled(): boolean {
    return this.#background.size === 0;
  }

  /** Resolves when the background work started so far has finished. */
  async whenSettled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#background.add(work);
    work.finally(() => this.#background.delete(work)).catch(() => {});
    return work;
  }

  #buildRing(): Ring {
    const members = this.membership.ringMembers();
    return new Ring(
      members.map((m) => m.id),
      this.#o.vnodes,
      (id) => this.membership.get(id)?.vnodes ?? this.#o.vnodes,
    );
  }

  /** Answers one request (client or peer). Never throws for a peer's sake: errors are replies. */
  async handle(request: Request): Promise<Reply> {
    switch (request.kind) {
      case "put":
        return await this.#coordinatePut(
          request.id,
          request.key,
          request.value,
          request.consistency,
        );
      case "get":
        if (request.consistency === "local") {
          const held = this.store.get(request.key);
          return {
            kind: "get_ok",
            id: request.id,
            item: held ? toItem(request.key, held) : null,
            replies: 1,
          };
        }
        return await this.#coordinateGet(request.id, request.key, request.consistency);
      case "ring":
        return this.ringInfo(request.id);
      case "gossip": {
        this.#absorb(request.members);
        this.#heard(request.from);
        return {
          kind: "gossip_ok",
          id: request.id,
          from: this.id,
          members: this.membership.digest(),
        };
      }
      case "rput": {
        this.#heard(request.from);
        let stored = 0, stale = 0, full = 0, fresh = 0;
        for (const item of request.items) {
          const version = fromItem(item);
          this.#hlc.observe(version);
          const before = this.store.get(item.key);
          const result = this.store.apply(item.key, version);
          if (result === "stored") {
            stored++;
            if (!before) fresh++;
          } else if (result === "stale") stale++;
          else full++;
        }
        if (request.reason === "transfer") {
          this.stats.transferReceived += request.items.length;
          this.stats.transferReceivedNew += fresh;
          this.#o.log.info("transfer_received", {
            from: request.from,
            keys: request.items.length,
            new: fresh,
            total_new: this.stats.transferReceivedNew,
          });
        } else if (request.reason === "hint") {
          this.#o.log.info("hints_received", { from: request.from, keys: request.items.length });
        }
        if (full > 0) {
          this.#o.log.limited("warn", "store_full", {
            max_keys: this.store.maxKeys,
            max_bytes: this.store.maxBytes,
            bytes: this.store.bytes,
          });
        }
        return { kind: "rput_ok", id: request.id, from: this.id, stored, stale, full };
      }
      case "rget": {
        this.#heard(request.from);
        const held = this.store.get(request.key);
        return {
          kind: "rget_ok",
          id: request.id,
          from: this.id,
          item: held ? toItem(request.key, held) : null,
        };
      }
    }
  }

  /** The ring as this node sees it and its own load (the `ring` reply). */
  ringInfo(id = 0): RingOk {
    const share = this.#ring.ownership();
    return {
      kind: "ring_ok",
      id,
      node: this.id,
      n: this.#o.n,
      r: this.#o.r,
      w: this.#o.w,
      members: this.membership.digest().map((m) => ({
        id: m.id,
        endpoint: m.endpoint,
        status: m.status,
        liveness: this.membership.liveness(m.id),
        vnodes: m.vnodes,
        share: share.get(m.id) ?? 0,
      })),
      keys: this.store.size,
      live: this.store.live(),
      hints: this.hints.size,
    };
  }

  #endpoint(id: string): string | undefined {
    return this.membership.get(id)?.endpoint;
  }

  async #rpc(target: string, message: Request): Promise<Reply> {
    const endpoint = this.#endpoint(target);
    if (!endpoint) throw new Error(`no endpoint for ${target}`);
    const reply = await this.#o.transport.request(endpoint, message, this.#o.rpcTimeoutMs);
    this.#heard(target);
    return reply;
  }

  async #coordinatePut(
    id: number,
    key: string,
    value: Uint8Array | null,
    consistency: Consistency,
  ): Promise<Reply> {
    const targets = this.#ring.preferenceList(key, this.#o.n);
    const need = required(consistency, this.#o.w, targets.length);
    if (targets.length < need || targets.length === 0) {
      this.stats.putsFailed++;
      return {
        kind: "error",
        id,
        reason: `unavailable: ${targets.length} replica(s) on the ring, need ${need}`,
      };
    }
    const version: Versioned = { value, ...this.#hlc.next() };
    const quorum = new Quorum(targets.length, need);
    const done = Promise.withResolvers<Reply>();
    const settle = () => {
      if (quorum.state === "met") {
        done.resolve({
          kind: "put_ok",
          id,
          wall: version.wall,
          counter: version.counter,
          node: version.node,
          acks: quorum.acks,
        });
      } else if (quorum.state === "failed") {
        done.resolve({
          kind: "error",
          id,
          reason: `quorum not reached: ${quorum.acks} of ${need} replica(s) acknowledged`,
        });
      }
    };
    for (const target of targets) {
      void this.#track(
        this.#replicate(target, key, version).then((ok) => {
          if (ok) quorum.ok();
          else quorum.fail();
          settle();
        }),
      );
    }
    const reply = await done.promise;
    if (reply.kind === "put_ok") this.stats.puts++;
    else this.stats.putsFailed++;
    return reply;
  }

  /** Writes one version to one replica; a miss leaves a hint. True when the replica holds it. */
  async #replicate(target: string, key: string, version: Versioned): Promise<boolean> {
    if (target === this.id) {
      if (this.store.apply(key, version) !== "full") return true;
      this.#o.log.limited("warn", "store_full", {
        max_keys: this.store.maxKeys,
        max_bytes: this.store.maxBytes,
        bytes: this.store.bytes,
      });
      return false;
    }
    if (!this.membership.reachable(target)) {
      this.#hint(target, key, version);
      return false;
    }
    try {
      const reply = await this.#rpc(target, {
        kind: "rput",
        id: 0,
        from: this.id,
        reason: "write",
        items: [toItem(key, version)],
      });
      if (reply.kind === "rput_ok" && reply.full === 0) return true;
      return false;
    } catch {
      this.#hint(target, key, version);
      return false;
    }
  }

  #hint(target: string, key: string, version: Versioned): void {
    if (this.hints.add(target, key, version)) {
      this.stats.hintsStored++;
      this.#o.log.limited(
        "info",
        "hint_stored",
        { for: target, key, hints: this.hints.size },
        `hint:${target}`,
      );
    } else {
      this.stats.hintsDropped++;
      this.#o.log.limited("warn", "hint_dropped", { for: target, max_hints: this.hints.maxHints });
    }
  }

  async #coordinateGet(id: number, key: string, consistency: Consistency): Promise<Reply> {
    const targets = this.#ring.preferenceList(key, this.#o.n);
    const need = required(consistency, this.#o.r, targets.length);
    if (targets.length < need || targets.length === 0) {
      this.stats.getsFailed++;
      return {
        kind: "error",
        id,
        reason: `unavailable: ${targets.length} replica(s) on the ring, need ${need}`,
      };
    }
    const quorum = new Quorum(targets.length, need);
    const answers = new Map<string, Versioned | null>();
    const done = Promise.withResolvers<Reply>();
    const best = () => {
      let winner: Versioned | undefined;
      for (const v of answers.values()) winner = newer(winner, v ?? undefined);
      return winner;
    };
    const settle = () => {
      if (quorum.state === "met") {
        const winner = best();
        done.resolve({
          kind: "get_ok",
          id,
          item: winner ? toItem(key, winner) : null,
          replies: quorum.acks,
        });
      } else if (quorum.state === "failed") {
        done.resolve({
          kind: "error",
          id,
          reason: `quorum not reached: ${quorum.acks} of ${need} replica(s) answered`,
        });
      }
    };
    const reads = targets.map((target) =>
      this.#track(
        this.#readReplica(target, key).then((answer) => {
          if (answer === undefined) quorum.fail();
          else {
            answers.set(target, answer);
            if (answer) this.#hlc.observe(answer);
            quorum.ok();
          }
          settle();
        }),
      )
    );
    // Read repair once every replica has answered or timed out.
    void this.#track(Promise.allSettled(reads).then(() => this.#repair(key, best(), answers)));
    const reply = await done.promise;
    if (reply.kind === "get_ok") this.stats.gets++;
    else this.stats.getsFailed++;
    return reply;
  }

  /** A replica's version (null: it has none), or undefined when it did not answer. */
  async #readReplica(target: string, key: string): Promise<Versioned | null | undefined> {
    if (target === this.id) return this.store.get(key) ?? null;
    if (!this.membership.reachable(target)) return undefined;
    try {
      const reply = await this.#rpc(target, { kind: "rget", id: 0, from: this.id, key });
      if (reply.kind !== "rget_ok") return undefined;
      return reply.item ? fromItem(reply.item) : null;
    } catch {
      return undefined;
    }
  }

  async #repair(
    key: string,
    winner: Versioned | undefined,
    answers: Map<string, Versioned | null>,
  ): Promise<void> {
    if (!winner) return;
    const stale = [...answers].filter(([, v]) => !v || compareStamps(v, winner) < 0).map(([t]) =>
      t
    );
    for (const target of stale) {
      this.stats.repairs++;
      this.#o.log.limited("info", "read_repair", { key, to: target, repairs: this.stats.repairs });
      if (target === this.id) {
        this.store.apply(key, winner);
        continue;
      }
      try {
        await this.#rpc(target, {
          kind: "rput",
          id: 0,
          from: this.id,
          reason: "repair",
          items: [toItem(key, winner)],
        });
      } catch {
        // Unreachable again: the next read repairs it.
      }
    }
  }

  /** Merges gossip and reacts to ring changes. */
  #absorb(members: readonly Member[]): void {
    const before = this.#ring;
    const result = this.membership.merge(members);
    for (const id of result.joined) {
      this.#o.log.info("member_joined", { node: id, endpoint: this.#endpoint(id) });
    }
    for (const id of result.left) {
      this.#o.log.info("member_left", { node: id });
      const dropped = this.hints.forget(id);
      if (dropped > 0) this.#o.log.info("hints_forgotten", { for: id, hints: dropped });
    }
    for (const change of result.heard) this.#logLiveness(change.peer, change.from, change.to);
    if (result.ignored > 0) {
      this.#o.log.limited("warn", "members_ignored", { ignored: result.ignored });
    }
    if (result.joined.length > 0 || result.left.length > 0) this.#ringChanged(before);
  }

  #ringChanged(before: Ring): void {
    this.#ring = this.#buildRing();
    this.stats.ringChanges++;
    this.#o.log.info("ring_changed", {
      nodes: this.#ring.nodes.length,
      tokens: this.#ring.tokens.length,
      members: [...this.#ring.nodes],
    });
    if (this.#leaving) return;
    const plan = planTransfers(before, this.#ring, this.id, this.store.keys(), this.#o.n);
    // Only nodes that joined after this one get keys: a node that has just joined and is
    // still discovering the older members has nothing to teach them.
    for (const target of plan.send.keys()) {
      if ((this.membership.get(target)?.version ?? 0) <= this.#joinedAt) plan.send.delete(target);
    }
    void this.#track(this.#handOver(plan.send, new Set(plan.drop), "transfer"));
  }

  /** Sends keys to their new replicas; drops the ones this node no longer keeps once acked. */
  async #handOver(send: Map<string, string[]>, drop: Set<string>, why: string): Promise<number> {
    const acked = new Set<string>();
    let sent = 0;
    const jobs: Promise<void>[] = [];
    // One batch at a time per target (bounded queues), the targets in parallel.
    for (const [target, keys] of send) {
      jobs.push((async () => {
        for (let i = 0; i < keys.length; i += MAX_BATCH) {
          const batch = keys.slice(i, i + MAX_BATCH).flatMap((k) => {
            const v = this.store.get(k);
            return v ? [toItem(k, v)] : [];
          });
          if (batch.length === 0) continue;
          try {
            const reply = await this.#rpc(target, {
              kind: "rput",
              id: 0,
              from: this.id,
              reason: "transfer",
              items: batch,
            });
            if (reply.kind !== "rput_ok" || reply.full > 0) {
              throw new Error(`refused: ${reply.kind}`);
            }
            sent += batch.length;
            this.stats.transferSent += batch.length;
            for (const item of batch) acked.add(item.key);
          } catch (error) {
            // Keep the keys; hand them over later as hints.
            for (const item of batch) this.#hint(target, item.key, fromItem(item));
            this.#o.log.warn("transfer_failed", {
              to: target,
              keys: batch.length,
              error: String(error),
            });
          }
        }
      })());
    }
    await Promise.all(jobs);
    let dropped = 0;
    for (const key of drop) {
      if (acked.has(key)) {
        this.store.delete(key);
        dropped++;
      }
    }
    if (sent > 0 || dropped > 0) {
      this.#o.log.info("transfer_sent", {
        why,
        keys: sent,
        targets: send.size,
        dropped,
        total_sent: this.stats.transferSent,
      });
    }
    return sent;
  }

  /**
   * Adds a seed found at run time (a UDP beacon) and gossips with it at once; ignored when
   * it is this node, already a seed or a known member. At most 256 seeds.
   */
  addSeed(endpoint: string): boolean {
    if (endpoint === this.membership.self.endpoint || this.#seeds.includes(endpoint)) return false;
    if (this.membership.digest().some((m) => m.endpoint === endpoint && m.status === "up")) {
      return false;
    }
    if (this.#seeds.length >= 256) return false;
    this.#seeds.push(endpoint);
    void this.#track(this.#gossipWith(endpoint));
    return true;
  }

  /** One gossip round: heartbeat, liveness, push-pull with one peer (or the seeds). */
  async gossipRound(): Promise<void> {
    this.#round++;
    for (const change of this.membership.tick()) {
      this.#logLiveness(change.peer, change.from, change.to);
    }
    const peers = this.membership.digest().filter((m) => m.id !== this.id);
    const targets: string[] = [];
    const upPeers = peers.filter((m) => m.status === "up");
    if (upPeers.length > 0) {
      targets.push(upPeers[Math.floor(this.#o.random() * upPeers.length)].endpoint);
    }
    // Seeds: always while alone; every tenth round otherwise (heals split memberships).
    if ((upPeers.length === 0 || this.#round % 10 === 0) && this.#seeds.length > 0) {
      const seed = this.#seeds[Math.floor(this.#o.random() * this.#seeds.length)];
      if (seed !== this.membership.self.endpoint && !targets.includes(seed)) targets.push(seed);
    }
    await Promise.all(targets.map((endpoint) => this.#gossipWith(endpoint)));
  }

  async #gossipWith(endpoint: string): Promise<void> {
    try {
      const reply = await this.#o.transport.request(endpoint, {
        kind: "gossip",
        id: 0,
        from: this.id,
        members: this.membership.digest(),
      }, this.#o.rpcTimeoutMs);
      if (reply.kind !== "gossip_ok") return;
      this.#absorb(reply.members);
      this.#heard(reply.from);
    } catch {
      // Silence is what liveness measures.
    }
  }

  /** Evidence that a peer runs (a message from it); logs a liveness change. */
  #heard(id: string): void {
    const change = this.membership.heard(id);
    if (change) this.#logLiveness(change.peer, change.from, change.to);
  }

  #logLiveness(peer: string, from: string, to: string): void {
    if (from === to) return;
    if (to === "dead") this.#o.log.warn("peer_down", { node: peer, from });
    else if (to === "alive") this.#o.log.info("peer_up", { node: peer, from });
    else this.#o.log.info("peer_state", { node: peer, from, to });
  }

  /** Delivers hints to replicas that are reachable again, one batch per replica at a time. */
  handoffRound(): void {
    for (const target of this.hints.targets()) {
      const member = this.membership.get(target);
      if (!member || member.status !== "up") {
        this.hints.forget(target);
        continue;
      }
      if (this.#handoffBusy.has(target) || this.membership.liveness(target) === "dead") continue;
      const batch = this.hints.batch(target, MAX_BATCH);
      if (batch.length === 0) continue;
      this.#handoffBusy.add(target);
      void this.#track((async () => {
        try {
          const reply = await this.#rpc(target, {
            kind: "rput",
            id: 0,
            from: this.id,
            reason: "hint",
            items: batch.map(([k, v]) => toItem(k, v)),
          });
          if (reply.kind !== "rput_ok") return;
          const n = this.hints.delivered(target, batch);
          this.stats.hintsDelivered += n;
          this.#o.log.info("handoff_delivered", {
            to: target,
            keys: n,
            left: this.hints.count(target),
          });
        } catch {
          // Still unreachable: next round.
        } finally {
          this.#handoffBusy.delete(target);
        }
      })());
    }
  }

  /**
   * Leaves the ring: announces it (a new version of this node's entry, pushed to every
   * peer) and hands every key over to the node that takes its place; resolves with the
   * number of keys handed over.
   */
  async leave(): Promise<number> {
    if (this.#leaving) return 0;
    this.#leaving = true;
    const before = this.#ring;
    const others = this.membership.ringNodes().filter((id) => id !== this.id);
    const after = new Ring(
      others,
      this.#o.vnodes,
      (id) => this.membership.get(id)?.vnodes ?? this.#o.vnodes,
    );
    const plan = planTransfers(before, after, this.id, this.store.keys(), this.#o.n);
    this.membership.leave();
    const peers = this.membership.peers();
    await Promise.all(peers.map((p) => this.#gossipWith(p.endpoint)));
    const sent = await this.#handOver(plan.send, new Set(plan.drop), "leave");
    this.#o.log.info("left_ring", { keys_handed_over: sent, peers: peers.length });
    return sent;
  }
}

/** A stored version as a wire item. */
export function toItem(key: string, v: Versioned): Item {
  return { key, value: v.value, wall: v.wall, counter: v.counter, node: v.node };
}

/** A wire item as a stored version. */
export function fromItem(item: Item): Versioned {
  return { value: item.value, wall: item.wall, counter: item.counter, node: item.node };
}
