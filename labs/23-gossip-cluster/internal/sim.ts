/**
 * An in-process simulated cluster of {@link Swim} cores: one virtual clock, a network with
 * latency, jitter, random loss, partitions, killed and paused (SIGSTOP-like) nodes. Every
 * message is really msgpack-encoded and schema-decoded, so byte counts are the wire's (less
 * the topic frame, which the sim adds). Used by the unit tests and, for 40 nodes, the bench.
 *
 * @module
 */

import { decode, encode } from "@lib/codec/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { Message } from "./protocol.ts";
import { Swim, type SwimConfig, type SwimEvent } from "./swim.ts";

/** Network and protocol settings of a simulation. */
export interface SimOptions {
  /** Protocol tunables for every node. */
  config?: Partial<SwimConfig>;
  /** Seed of all randomness (nodes and network). */
  seed?: number;
  /** One-way latency (ms). */
  latencyMs?: number;
  /** Extra uniform random latency (ms). */
  jitterMs?: number;
  /** Probability that a message is lost. */
  loss?: number;
}

/** One simulated node. */
export interface SimNode {
  id: string;
  swim: Swim;
  /** Killed: sends and receives nothing, never ticks. */
  down: boolean;
  /** Paused: does not tick; messages to it wait until it resumes (like a SIGSTOPped process). */
  paused: boolean;
  bytesSent: number;
  bytesReceived: number;
}

interface InFlight {
  at: number;
  seq: number;
  from: string;
  to: string;
  bytes: Uint8Array;
}

/** A recorded event. */
export interface SimEvent {
  at: number;
  node: string;
  event: SwimEvent;
}

/**
 * A simulated cluster. See the module doc.
 *
 * @example
 * ```ts
 * import { SimCluster } from "./sim.ts";
 * const sim = new SimCluster({ seed: 7 });
 * sim.add("n0");
 * for (let i = 1; i < 5; i++) sim.add(`n${i}`, "n0");
 * const ms = sim.runUntil(() => sim.converged(), 30_000);
 * console.log(ms !== undefined); // true: everyone sees everyone alive
 * ```
 */
export class SimCluster {
  /** Virtual time (ms). */
  now = 0;
  /** Every node by id. */
  readonly nodes = new Map<string, SimNode>();
  /** Every event so far. */
  readonly events: SimEvent[] = [];
  /** Messages sent / lost so far. */
  messages = 0;
  lost = 0;
  readonly #options: Required<Omit<SimOptions, "config">> & { config: Partial<SwimConfig> };
  readonly #random: () => number;
  #queue: InFlight[] = [];
  #seq = 0;
  readonly #cut = new Set<string>();

  constructor(options: SimOptions = {}) {
    this.#options = {
      config: options.config ?? {},
      seed: options.seed ?? 1,
      latencyMs: options.latencyMs ?? 1,
      jitterMs: options.jitterMs ?? 1,
      loss: options.loss ?? 0,
    };
    this.#random = seededRandom(this.#options.seed);
  }

  /** Adds and starts node `id`; with `seed`, it joins through that node's hello. */
  add(id: string, seed?: string): SimNode {
    const clock = { now: () => this.now };
    const node: SimNode = {
      id,
      down: false,
      paused: false,
      bytesSent: 0,
      bytesReceived: 0,
      swim: undefined as unknown as Swim,
    };
    node.swim = new Swim(id, `sim://${id}`, this.#options.config, {
      clock,
      random: seededRandom(this.#options.seed * 7919 + this.nodes.size + 1),
      wallNow: () => 1_000_000 + this.now,
      send: (to, message) => this.#send(id, to, message),
      connect: () => {},
      disconnect: () => {},
      event: (event) => this.events.push({ at: this.now, node: id, event }),
    });
    this.nodes.set(id, node);
    node.swim.start();
    if (seed === undefined) node.swim.bootstrap();
    else this.nodes.get(seed)?.swim.contact(id, `sim://${id}`);
    return node;
  }

  /** Kills a node (kill -9). */
  kill(id: string): void {
    this.#node(id).down = true;
  }

  /** Pauses (true) or resumes (false) a node. */
  pause(id: string, paused: boolean): void {
    this.#node(id).paused = paused;
  }

  /** Cuts every link between the two groups. */
  partition(a: string[], b: string[]): void {
    for (const x of a) for (const y of b) this.#cut.add(`${x}|${y}`).add(`${y}|${x}`);
  }

  /** Removes every cut. */
  heal(): void {
    this.#cut.clear();
  }

  /** Sets the loss probability from now on. */
  setLoss(loss: number): void {
    this.#options.loss = loss;
  }

  /** Runs `ms` of virtual time in steps of `stepMs`. */
  run(ms: number, stepMs = 5): void {
    const end = this.now + ms;
    while (this.now < end) this.#step(stepMs);
  }

  /** Runs until `done()` holds (checked each step); the time it took, or undefined. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 5): number | undefined {
    const start = this.now;
    while (this.now - start < maxMs) {
      if (done()) return this.now - start;
      this.#step(stepMs);
    }
    return done() ? this.now - start : undefined;
  }

  /** The state `observer` holds for `member` (undefined when unknown to it). */
  state(observer: string, member: string): string | undefined {
    return this.#node(observer).swim.member(member)?.state;
  }

  /** True when every running node sees every running node alive and no other as live. */
  converged(): boolean {
    const up = [...this.nodes.values()].filter((n) => !n.down);
    return up.every((n) =>
      up.every((m) => n.swim.member(m.id)?.state === "alive") &&
      n.swim.liveCount === up.length
    );
  }

  /** True when every running node other than `id` holds `id` in `state`. */
  allSee(id: string, state: string): boolean {
    return [...this.nodes.values()].filter((n) => !n.down && n.id !== id).every((n) =>
      n.swim.member(id)?.state === state
    );
  }

  #node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no sim node ${id}`);
    return node;
  }

  #send(from: string, to: string, message: Message): void {
    const sender = this.#node(from);
    if (sender.down) return;
    const bytes = encode(message);
    const wire = bytes.length + to.length + 1;
    sender.bytesSent += wire;
    this.messages++;
    if (this.#cut.has(`${from}|${to}`) || this.#random() < this.#options.loss) {
      this.lost++;
      return;
    }
    const at = this.now + this.#options.latencyMs + this.#random() * this.#options.jitterMs;
    const item = { at, seq: this.#seq++, from, to, bytes };
    // Keep the queue sorted by delivery time (binary insertion).
    let lo = 0, hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#queue[mid].at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, item);
  }

  #step(stepMs: number): void {
    this.now += stepMs;
    const held: InFlight[] = [];
    let i = 0;
    for (; i < this.#queue.length && this.#queue[i].at <= this.now; i++) {
      const m = this.#queue[i];
      const node = this.nodes.get(m.to);
      if (!node || node.down) continue;
      if (node.paused) {
        held.push(m);
        continue;
      }
      node.bytesReceived += m.bytes.length + m.to.length + 1;
      node.swim.onMessage(decode(m.bytes, Message));
    }
    this.#queue = [...held, ...this.#queue.slice(i)];
    for (const node of this.nodes.values()) {
      if (!node.down && !node.paused) node.swim.tick();
    }
  }
}
