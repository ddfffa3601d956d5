/**
 * A simulated industrial sensor (temperature and pressure as a bounded random walk), so a
 * device has something to report. Randomness is passed in (seeded in tests).
 *
 * @module
 */

import type { Random } from "@lib/random/mod.ts";

/**
 * Readings that drift a little at each `read()` and stay within plausible bounds.
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { Sensor } from "./sensor.ts";
 * const sensor = new Sensor(seededRandom(1));
 * console.log(Object.keys(sensor.read())); // ["temperature_c", "pressure_kpa"]
 * ```
 */
export class Sensor {
  readonly #random: Random;
  #temperature: number;
  #pressure: number;

  constructor(random: Random) {
    this.#random = random;
    this.#temperature = 40 + 20 * random();
    this.#pressure = 95 + 10 * random();
  }

  /** The next readings (rounded to 0.1). */
  read(): { temperature_c: number; pressure_kpa: number } {
    this.#temperature = clamp(this.#temperature + (this.#random() - 0.5), 20, 90);
    this.#pressure = clamp(this.#pressure + (this.#random() - 0.5) * 0.4, 90, 110);
    return {
      temperature_c: Math.round(this.#temperature * 10) / 10,
      pressure_kpa: Math.round(this.#pressure * 10) / 10,
    };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
