/**
 * This host as one monitored node: samples real health once per tick and numbers the
 * heartbeats of this boot (one `boot_id` per process start).
 *
 * @module
 */
import type { HealthSampler } from "./health_sampler.ts";
import type { Heartbeat } from "./protocol.ts";

/** Configuration of the host node. */
export interface HostNodeOptions {
  rack: string;
  node: string;
  /** Id of this boot (a fresh UUID per process start). */
  bootId: string;
  sampler: Pick<HealthSampler, "sample">;
  /** Wall clock in ms for the `ts` field. */
  now: () => number;
}

/**
 * Produces one heartbeat per `tick()`, with `seq` 0, 1, 2, ...
 *
 * @example
 * ```ts
 * import { denoHost, HealthSampler } from "./health_sampler.ts";
 * import { HostNode } from "./host_node.ts";
 *
 * const host = new HostNode({ rack: "A", node: "web-1", bootId: crypto.randomUUID(),
 *   sampler: new HealthSampler(denoHost()), now: Date.now });
 * const [heartbeat] = host.tick();
 * ```
 */
export class HostNode {
  readonly #options: HostNodeOptions;
  #seq = 0;

  constructor(options: HostNodeOptions) {
    this.#options = options;
  }

  /** The next heartbeat (as a one-element list, like the fleet simulator's `tick`). */
  tick(): Heartbeat[] {
    const { status, metrics } = this.#options.sampler.sample();
    return [{
      node: this.#options.node,
      rack: this.#options.rack,
      seq: this.#seq++,
      boot_id: this.#options.bootId,
      ts: this.#options.now(),
      status,
      metrics,
    }];
  }
}
