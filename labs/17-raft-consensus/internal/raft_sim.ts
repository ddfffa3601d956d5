/**
 * A deterministic in-memory cluster of {@link RaftNode}s for unit tests: one virtual clock,
 * a message queue with latency, loss, duplication and partitions, durable state kept per
 * node (persist ops applied before the batch's messages leave, as the real driver does),
 * crash/restart, and the safety invariants checked on every step: at most one leader per
 * term (Election Safety) and every node applies the same command at each index (State
 * Machine Safety).
 *
 * @module
 */

import { seededRandom } from "@lib/random/mod.ts";
import { type ApplyResult, KvStateMachine } from "./kv.ts";
import type { Command, RaftMessage } from "./protocol.ts";
import { type PersistedState, type RaftConfig, RaftNode, type Ready } from "./raft.ts";

/** Options of {@link SimCluster}. */
export interface SimOptions {
  ids?: string[];
  seed?: number;
  /** Probability a message is lost. */
  loss?: number;
  /** Probability a message is delivered twice. */
  duplicate?: number;
  /** Latency range in ms. */
  latency?: [number, number];
  config?: Partial<Omit<RaftConfig, "id" | "peers">>;
}

interface InFlight {
  at: number;
  message: RaftMessage;
}

/** The simulated cluster. */
export class SimCluster {
  now = 0;
  readonly ids: string[];
  readonly nodes = new Map<string, RaftNode<ApplyResult>>();
  readonly machines = new Map<string, KvStateMachine>();
  readonly disks = new Map<string, PersistedState>();
  readonly leaders = new Map<number, string>();
  readonly appliedAt = new Map<number, string>();
  readonly violations: string[] = [];
  readonly readsDone: Ready<ApplyResult>["reads"] = [];
  readonly appliedBy = new Map<string, Ready<ApplyResult>["applied"]>();
  readonly events: { node: string; event: string; [k: string]: unknown }[] = [];
  loss: number;
  duplicate: number;
  #queue: InFlight[] = [];
  readonly #blocked = new Set<string>();
  readonly #random: () => number;
  readonly #latency: [number, number];
  readonly #config: Omit<RaftConfig, "id" | "peers">;
  messagesSent = 0;

  constructor(options: SimOptions = {}) {
    this.ids = options.ids ?? ["n1", "n2", "n3"];
    this.#random = seededRandom(options.seed ?? 1);
    this.loss = options.loss ?? 0;
    this.duplicate = options.duplicate ?? 0;
    this.#latency = options.latency ?? [1, 5];
    this.#config = {
      electionMinMs: 150,
      electionMaxMs: 300,
      heartbeatMs: 30,
      ...options.config,
    };
    for (const id of this.ids) {
      this.disks.set(id, { term: 0, votedFor: null, snapshot: null, entries: [] });
      this.start(id);
    }
  }

  /** Starts (or restarts after a crash) a node from its disk. */
  start(id: string): RaftNode<ApplyResult> {
    const disk = this.disks.get(id)!;
    const sm = new KvStateMachine();
    const node = new RaftNode<ApplyResult>(
      { id, peers: this.ids.filter((p) => p !== id), ...this.#config, clientEndpoint: `ep-${id}` },
      {
        clock: { now: () => this.now },
        random: seededRandom(Math.floor(this.#random() * 2 ** 31)),
        stateMachine: sm,
        persisted: structuredClone(disk),
      },
    );
    this.nodes.set(id, node);
    this.machines.set(id, sm);
    return node;
  }

  /** Kills a node: its volatile state is gone, its disk stays. */
  crash(id: string): void {
    this.nodes.delete(id);
  }

  /** Drops every message between `a` and `b` (both ways). */
  partition(a: string, b: string): void {
    this.#blocked.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  /** Cuts `id` off from everyone. */
  isolate(id: string): void {
    for (const p of this.ids) if (p !== id) this.partition(id, p);
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked.clear();
  }

  /** Runs the cluster for `ms` of virtual time in 1 ms steps. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 1;
      const due = this.#queue.filter((f) => f.at <= this.now);
      this.#queue = this.#queue.filter((f) => f.at > this.now);
      for (const { message } of due) {
        const node = this.nodes.get(message.to);
        if (node) {
          node.step(message);
          this.flush(message.to);
        }
      }
      for (const [id, node] of this.nodes) {
        node.tick();
        this.flush(id);
      }
    }
  }

  /** Runs until `check` holds (or throws after `maxMs`). */
  runUntil(check: () => boolean, maxMs = 10_000): void {
    const end = this.now + maxMs;
    while (!check()) {
      if (this.now >= end) throw new Error(`condition not met within ${maxMs} ms`);
      this.run(1);
    }
  }

  /** The current leader with the highest term, if any. */
  leader(): RaftNode<ApplyResult> | undefined {
    let best: RaftNode<ApplyResult> | undefined;
    for (const node of this.nodes.values()) {
      if (node.role === "leader" && (!best || node.term > best.term)) best = node;
    }
    return best;
  }

  /** Proposes at the current leader; returns the index or undefined. */
  propose(command: Command): number | undefined {
    const leader = this.leader();
    if (!leader) return undefined;
    const r = leader.propose(command);
    this.flush(leader.id);
    return r.ok ? r.index : undefined;
  }

  /** Carries out a node's ready batch: disk first, then the network. */
  flush(id: string): void {
    const node = this.nodes.get(id);
    if (!node || !node.hasReady()) return;
    const ready = node.ready();
    const disk = this.disks.get(id)!;
    for (const op of ready.persist) {
      if (op.kind === "hard_state") {
        disk.term = op.term;
        disk.votedFor = op.votedFor;
      } else if (op.kind === "append") {
        const first = op.entries[0].index;
        disk.entries = disk.entries.filter((e) => e.index < first).concat(
          structuredClone(op.entries),
        );
      } else if (op.kind === "truncate") {
        disk.entries = disk.entries.filter((e) => e.index < op.from);
      } else {
        disk.snapshot = { index: op.index, term: op.term, data: op.data.slice() };
        disk.entries = disk.entries.filter((e) => e.index > op.index);
      }
    }
    for (const message of ready.messages) this.#send(message);
    for (const e of ready.events) {
      this.events.push({ node: id, ...e });
      if (e.event === "became_leader") {
        const other = this.leaders.get(e.term);
        if (other !== undefined && other !== id) {
          this.violations.push(`two leaders in term ${e.term}: ${other} and ${id}`);
        }
        this.leaders.set(e.term, id);
      }
    }
    const mine = this.appliedBy.get(id) ?? [];
    for (const a of ready.applied) {
      const key = `${a.term}:${JSON.stringify(a.command)}`;
      const seen = this.appliedAt.get(a.index);
      if (seen !== undefined && seen !== key) {
        this.violations.push(`index ${a.index}: ${id} applied ${key}, another node ${seen}`);
      }
      this.appliedAt.set(a.index, key);
      mine.push(a);
    }
    this.appliedBy.set(id, mine);
    this.readsDone.push(...ready.reads);
  }

  #send(message: RaftMessage) {
    this.messagesSent++;
    if (this.#blocked.has(`${message.from}|${message.to}`)) return;
    if (this.#random() < this.loss) return;
    const copies = this.#random() < this.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const [lo, hi] = this.#latency;
      this.#queue.push({
        at: this.now + lo + Math.floor(this.#random() * (hi - lo + 1)),
        message: structuredClone(message),
      });
    }
  }
}
