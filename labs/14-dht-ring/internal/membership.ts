/**
 * Membership by gossip: every node owns its entry (`version` bumps on each change of its
 * own: join, leave, new endpoint; `heartbeat` counts its gossip rounds) and spreads the
 * whole table by periodic push-pull with a random peer; a merge keeps, per node, the entry
 * with the higher version (then the higher heartbeat). A heartbeat that grows is "heard"
 * for that node's liveness ({@link PeerLiveness}: alive/suspect/dead with hysteresis, on
 * this node's own clock). Dead is not gone: a dead node stays on the ring (its replicas
 * get hints) until it comes back or leaves; only `left` takes a node off the ring.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import { type LivenessChange, PeerLiveness, type PeerState } from "@lib/patterns/peer_liveness.ts";
import type { Member } from "./protocol.ts";

/** Options of {@link Membership}. */
export interface MembershipOptions {
  /** This node's id, endpoint and tokens. */
  self: { id: string; endpoint: string; vnodes: number };
  /** Monotonic clock for liveness. */
  clock: Clock;
  /** First version of this node's entry: use the wall clock in ms, so a restart is newer. */
  version: number;
  /** Gossip interval in ms (the liveness interval). */
  intervalMs: number;
  /** Silent intervals before a peer is suspect (default 4). */
  suspectAfter?: number;
  /** Silent intervals before a peer is dead (default 8). */
  deadAfter?: number;
  /** Most members kept (default 256); past it unknown nodes are ignored. */
  maxMembers?: number;
}

/** What a merge changed. */
export interface MergeResult {
  /** Nodes now on the ring that were not. */
  joined: string[];
  /** Nodes that left the ring. */
  left: string[];
  /** Endpoints that changed (id → new endpoint). */
  moved: string[];
  /** Entries ignored because the table is full. */
  ignored: number;
}

/**
 * The membership table of one node.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { Membership } from "./membership.ts";
 * const clock = new ManualClock();
 * const a = new Membership({ self: { id: "a", endpoint: "tcp://a:1", vnodes: 8 }, clock, version: 1, intervalMs: 100 });
 * const b = new Membership({ self: { id: "b", endpoint: "tcp://b:1", vnodes: 8 }, clock, version: 1, intervalMs: 100 });
 * b.merge(a.digest()); // { joined: ["a"], ... }
 * b.ringNodes(); // ["a", "b"]
 * ```
 */
export class Membership {
  readonly selfId: string;
  readonly #members = new Map<string, Member>();
  readonly #liveness: PeerLiveness<string>;
  readonly #maxMembers: number;

  constructor(options: MembershipOptions) {
    this.selfId = options.self.id;
    this.#maxMembers = options.maxMembers ?? 256;
    this.#members.set(this.selfId, {
      id: this.selfId,
      endpoint: options.self.endpoint,
      status: "up",
      version: options.version,
      heartbeat: 0,
      vnodes: options.self.vnodes,
    });
    this.#liveness = new PeerLiveness<string>({
      clock: options.clock,
      intervalMs: options.intervalMs,
      suspectAfter: options.suspectAfter ?? 4,
      deadAfter: options.deadAfter ?? 8,
      rise: 1,
    });
  }

  /** This node's own entry. */
  get self(): Member {
    return this.#members.get(this.selfId)!;
  }

  /** Every entry (copies), for a gossip message. */
  digest(): Member[] {
    return [...this.#members.values()].map((m) => ({ ...m }));
  }

  /** One member's entry. */
  get(id: string): Member | undefined {
    return this.#members.get(id);
  }

  /** Members that are up (on the ring), this node included. */
  ringMembers(): Member[] {
    return [...this.#members.values()].filter((m) => m.status === "up");
  }

  /** Ids on the ring, sorted. */
  ringNodes(): string[] {
    return this.ringMembers().map((m) => m.id).sort();
  }

  /** Peers on the ring (this node excluded). */
  peers(): Member[] {
    return this.ringMembers().filter((m) => m.id !== this.selfId);
  }

  /** Liveness of a node as this node judges it (itself: always alive). */
  liveness(id: string): PeerState {
    return id === this.selfId ? "alive" : this.#liveness.state(id);
  }

  /** Whether requests should go to `id` (anything but dead: unknown and suspect get a try). */
  reachable(id: string): boolean {
    return this.liveness(id) !== "dead";
  }

  /** Evidence that a peer runs (a reply from it). */
  heard(id: string): LivenessChange<string> | undefined {
    if (id === this.selfId || !this.#members.has(id)) return undefined;
    return this.#liveness.heard(id);
  }

  /** One gossip round: bumps this node's heartbeat and judges the silent peers. */
  tick(): LivenessChange<string>[] {
    this.self.heartbeat++;
    return this.#liveness.tick();
  }

  /** Marks this node as leaving the ring (a new version of its entry). */
  leave(): void {
    this.self.status = "left";
    this.self.version++;
  }

  /** Merges a peer's table; see the module doc for the rule. */
  merge(incoming: readonly Member[]): MergeResult & { heard: LivenessChange<string>[] } {
    const result = { joined: [] as string[], left: [] as string[], moved: [] as string[] };
    const heard: LivenessChange<string>[] = [];
    let ignored = 0;
    for (const entry of incoming) {
      if (entry.id === this.selfId) {
        // Someone holds a newer entry for this id (an earlier life of this node, e.g. one
        // that left): refute it with a newer version of the current one.
        if (entry.version >= this.self.version && this.self.status === "up") {
          this.self.version = entry.version + 1;
        }
        continue;
      }
      const held = this.#members.get(entry.id);
      if (!held) {
        if (this.#members.size >= this.#maxMembers && !this.#evictLeft()) {
          ignored++;
          continue;
        }
        this.#members.set(entry.id, { ...entry });
        if (entry.status === "up") {
          result.joined.push(entry.id);
          const change = this.#liveness.heard(entry.id);
          if (change) heard.push(change);
        }
        continue;
      }
      if (entry.version > held.version) {
        if (held.status !== entry.status) {
          (entry.status === "up" ? result.joined : result.left).push(entry.id);
        }
        if (held.endpoint !== entry.endpoint) result.moved.push(entry.id);
        this.#members.set(entry.id, { ...entry });
        if (entry.status === "left") this.#liveness.forget(entry.id);
        else {
          const change = this.#liveness.heard(entry.id);
          if (change) heard.push(change);
        }
      } else if (entry.version === held.version && entry.heartbeat > held.heartbeat) {
        held.heartbeat = entry.heartbeat;
        if (held.status === "up") {
          const change = this.#liveness.heard(entry.id);
          if (change) heard.push(change);
        }
      }
    }
    return { ...result, ignored, heard };
  }

  /** Makes room by forgetting one node that left; false when none has. */
  #evictLeft(): boolean {
    for (const [id, m] of this.#members) {
      if (m.status === "left" && id !== this.selfId) {
        this.#members.delete(id);
        return true;
      }
    }
    return false;
  }
}
