/**
 * The simulated sensors the secure_server streams: each a slow random walk, taken in
 * turn, numbered with one gapless sequence per server boot.
 *
 * @module
 */
import { type Random, seededRandom } from "@lib/random/mod.ts";
import type { Reading } from "./protocol.ts";

/**
 * A round-robin source of readings.
 *
 * @example
 * ```ts
 * import { Sensors } from "./sensors.ts";
 * const sensors = new Sensors(2, "lab", { seed: 1, boot: "b" });
 * sensors.next(0).sensor; // "s1"
 * sensors.next(0).seq; // 2
 * ```
 */
export class Sensors {
  readonly boot: string;
  #seq = 0;
  #values: number[];
  #random: Random;
  #label: string;

  constructor(count: number, label: string, options: { seed?: number; boot?: string } = {}) {
    this.#random = seededRandom(options.seed ?? Date.now() % 2 ** 31);
    this.boot = options.boot ?? crypto.randomUUID().slice(0, 8);
    this.#values = Array.from({ length: count }, (_, i) => 20 + i);
    this.#label = label;
  }

  /** The next reading, stamped `now` (ms since the epoch). */
  next(now: number): Reading {
    const index = this.#seq % this.#values.length;
    this.#seq++;
    this.#values[index] += (this.#random() - 0.5) / 5;
    return {
      seq: this.#seq,
      boot: this.boot,
      ts: now,
      sensor: `s${index + 1}`,
      value: Math.round(this.#values[index] * 100) / 100,
      label: this.#label,
    };
  }
}
