/**
 * Simulates a fleet of nodes across racks for demos: nodes degrade (warning), escalate
 * (critical), fail (stop beating), reboot (new boot_id, seq from 0) and recover.
 * Randomness and clocks are injected, so a seed reproduces a run.
 *
 * @module
 */
import type { Heartbeat, Status } from "./protocol.ts";
import type { Random } from "@lib/random/mod.ts";

/** Per-tick transition probabilities. */
export interface FleetRates {
  /** ok → warning. */
  degrade: number;
  /** warning → critical. */
  escalate: number;
  /** warning → ok, critical → warning. */
  recover: number;
  /** critical → down (the node stops beating). */
  fail: number;
  /** Probability that one beat is lost in transit (seq advances, nothing is sent). */
  drop: number;
}

/** Defaults that show every state within a minute or so of a 1 s interval demo. */
export const DEFAULT_RATES: FleetRates = {
  degrade: 0.02,
  escalate: 0.15,
  recover: 0.2,
  fail: 0.15,
  drop: 0,
};

/** Simulator configuration. */
export interface FleetOptions {
  /** Number of nodes. */
  size: number;
  /** Rack names; nodes are dealt round-robin across them. */
  racks: readonly string[];
  /** Heartbeat interval in ms (uptime advances by it per tick). */
  intervalMs: number;
  /** Uniform [0, 1) source. */
  random: Random;
  /** New boot id per (simulated) boot. */
  newBootId: () => string;
  /** Wall clock in ms for the `ts` field. */
  now: () => number;
  /** Transition rates (defaults `DEFAULT_RATES`). */
  rates?: Partial<FleetRates>;
  /** Ticks a failed node stays down: [min, max] (default [6, 15], beyond the dead limit). */
  downTicks?: [number, number];
}

/** A simulated node's state. */
export interface SimNode {
  rack: string;
  node: string;
  bootId: string;
  /** Next sequence number to use. */
  seq: number;
  phase: Status | "down";
  /** Ticks left while down. */
  downLeft: number;
  /** Ticks since this boot. */
  age: number;
  /** Baseline load of this node. */
  baseLoad: number;
}

/**
 * The fleet; call `tick()` once per interval and publish what it returns.
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { FleetSimulator } from "./fleet_simulator.ts";
 * import { heartbeatMessages } from "./protocol.ts";
 *
 * const fleet = new FleetSimulator({ size: 12, racks: ["A", "B", "C"], intervalMs: 1000,
 *   random: seededRandom(7), newBootId: () => crypto.randomUUID(), now: Date.now });
 * for (const hb of fleet.tick()) console.log(heartbeatMessages(hb).map(([topic]) => topic));
 * ```
 */
export class FleetSimulator {
  readonly #options: FleetOptions;
  readonly #rates: FleetRates;
  readonly #nodes: SimNode[] = [];

  constructor(options: FleetOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`size: expected an integer >= 1, got ${options.size}`);
    }
    if (options.racks.length === 0) throw new RangeError("racks: expected at least one rack");
    this.#options = options;
    this.#rates = { ...DEFAULT_RATES, ...options.rates };
    const perRack = new Map<string, number>();
    for (let i = 0; i < options.size; i++) {
      const rack = options.racks[i % options.racks.length];
      const index = (perRack.get(rack) ?? 0) + 1;
      perRack.set(rack, index);
      this.#nodes.push({
        rack,
        node: `${rack.toLowerCase()}-${String(index).padStart(2, "0")}`,
        bootId: options.newBootId(),
        seq: 0,
        phase: "ok",
        downLeft: 0,
        age: Math.floor(options.random() * 100_000),
        baseLoad: 0.2 + options.random() * 0.6,
      });
    }
  }

  /** The nodes (read-only view, for tests and logs). */
  get nodes(): readonly Readonly<SimNode>[] {
    return this.#nodes;
  }

  /** Advances one interval; returns the heartbeats to publish now. */
  tick(): Heartbeat[] {
    const beats: Heartbeat[] = [];
    for (const node of this.#nodes) {
      this.#advance(node);
      if (node.phase === "down") continue;
      const seq = node.seq++;
      node.age++;
      if (this.#options.random() < this.#rates.drop) continue;
      beats.push(this.#heartbeat(node, seq));
    }
    return beats;
  }

  #advance(node: SimNode): void {
    const r = this.#options.random();
    const rates = this.#rates;
    switch (node.phase) {
      case "ok":
        if (r < rates.degrade) node.phase = "warning";
        break;
      case "warning":
        if (r < rates.recover) node.phase = "ok";
        else if (r < rates.recover + rates.escalate) node.phase = "critical";
        break;
      case "critical":
        if (r < rates.recover) node.phase = "warning";
        else if (r < rates.recover + rates.fail) {
          const [min, max] = this.#options.downTicks ?? [6, 15];
          node.phase = "down";
          node.downLeft = min + Math.floor(this.#options.random() * (max - min + 1));
        }
        break;
      case "down":
        if (--node.downLeft <= 0) {
          node.phase = "ok";
          node.bootId = this.#options.newBootId();
          node.seq = 0;
          node.age = 0;
        }
        break;
    }
  }

  #heartbeat(node: SimNode, seq: number): Heartbeat {
    const random = this.#options.random;
    const status = node.phase as Status;
    const loadFactor = status === "critical" ? 8 : status === "warning" ? 3 : 1;
    const mem = status === "critical" ? 97.5 : status === "warning" ? 91 : 45;
    const load1 = node.baseLoad * loadFactor + random() * 0.2;
    return {
      node: node.node,
      rack: node.rack,
      seq,
      boot_id: node.bootId,
      ts: this.#options.now(),
      status,
      metrics: {
        load1: Math.round(load1 * 100) / 100,
        cpus: 1,
        mem_used_pct: Math.round((mem + random() * 2) * 10) / 10,
        uptime_s: Math.round((node.age * this.#options.intervalMs) / 1000),
      },
    };
  }
}
