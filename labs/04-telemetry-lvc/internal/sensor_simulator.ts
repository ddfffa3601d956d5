/**
 * Simulated sensors: each is a bounded random walk around a kind-specific base value,
 * published round-robin. Randomness and the clock are injected, so a seed reproduces a
 * run exactly in tests.
 *
 * @module
 */
import { encodeHeader, encodeReading, READING_SCHEMA, type UpdateHeader } from "./protocol.ts";
import type { Random } from "@lib/random/mod.ts";

/** A physical quantity a sensor measures. */
export interface SensorKind {
  name: string;
  units: string;
  base: number;
  step: number;
  min: number;
  max: number;
}

/** The kinds simulated, in topic order. */
export const SENSOR_KINDS: readonly SensorKind[] = [
  { name: "temperature", units: "degC", base: 21, step: 0.2, min: -40, max: 125 },
  { name: "humidity", units: "%RH", base: 45, step: 0.5, min: 0, max: 100 },
  { name: "pressure", units: "hPa", base: 1013, step: 0.3, min: 870, max: 1085 },
  { name: "power", units: "W", base: 1200, step: 25, min: 0, max: 5000 },
  { name: "vibration", units: "mm/s", base: 2, step: 0.1, min: 0, max: 50 },
];

/** Options of a {@linkcode SensorSimulator}. */
export interface SimulatorOptions {
  /** Topic prefix, e.g. `plant-a`: topics are `<prefix>/<kind>/<index 5 digits>`. */
  prefix: string;
  /** Number of sensors (kinds are assigned round-robin). */
  sensors: number;
  /** Random bytes carried in each payload (besides value and CRC). */
  blobBytes: number;
  random: Random;
  /** Clock, ms since epoch. */
  now: () => number;
}

/** One generated update, ready to send as `[topic, header, payload]`. */
export interface SimulatedUpdate {
  topic: string;
  header: UpdateHeader;
  value: number;
  frames: [Uint8Array, Uint8Array, Uint8Array];
}

interface Sensor {
  topic: string;
  topicBytes: Uint8Array;
  kind: SensorKind;
  value: number;
  seq: number;
}

const encoder = new TextEncoder();

/**
 * Topic of sensor `index` under `prefix`.
 *
 * @example
 * ```ts
 * sensorTopic("plant-a", 42); // "plant-a/humidity/00042"
 * ```
 */
export function sensorTopic(prefix: string, index: number): string {
  const kind = SENSOR_KINDS[index % SENSOR_KINDS.length];
  return `${prefix}/${kind.name}/${String(index).padStart(5, "0")}`;
}

/**
 * Generates updates for many sensors, round-robin, one at a time.
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { SensorSimulator } from "./sensor_simulator.ts";
 * const sim = new SensorSimulator({ prefix: "plant-a", sensors: 10, blobBytes: 0,
 *   random: seededRandom(1), now: Date.now });
 * const { frames } = sim.next(); // [topic, header, payload]
 * ```
 */
export class SensorSimulator {
  readonly #sensors: Sensor[];
  readonly #options: SimulatorOptions;
  #next = 0;
  #rounds = 0;

  constructor(options: SimulatorOptions) {
    if (!(Number.isInteger(options.sensors) && options.sensors >= 1)) {
      throw new RangeError(`expected sensors >= 1, got ${options.sensors}`);
    }
    if (!(Number.isInteger(options.blobBytes) && options.blobBytes >= 0)) {
      throw new RangeError(`expected blobBytes >= 0, got ${options.blobBytes}`);
    }
    this.#options = options;
    this.#sensors = Array.from({ length: options.sensors }, (_, i) => {
      const kind = SENSOR_KINDS[i % SENSOR_KINDS.length];
      const topic = sensorTopic(options.prefix, i);
      const spread = (kind.max - kind.min) * 0.02;
      return {
        topic,
        topicBytes: encoder.encode(topic),
        kind,
        value: kind.base + (options.random() - 0.5) * spread,
        seq: 0,
      };
    });
  }

  /** Number of sensors. */
  get size(): number {
    return this.#sensors.length;
  }

  /** Completed rounds (every sensor published once more). */
  get rounds(): number {
    return this.#rounds;
  }

  /** Topics of all sensors, in publish order. */
  topics(): string[] {
    return this.#sensors.map((s) => s.topic);
  }

  /** Advances the next sensor one step and returns its update (seq starts at 1). */
  next(): SimulatedUpdate {
    const { random, now, blobBytes } = this.#options;
    const sensor = this.#sensors[this.#next];
    this.#next++;
    if (this.#next === this.#sensors.length) {
      this.#next = 0;
      this.#rounds++;
    }
    const { kind } = sensor;
    // Random walk with a weak pull back to the base, clamped to the sensor's range.
    const drift = (kind.base - sensor.value) * 0.01;
    const step = (random() * 2 - 1) * kind.step;
    sensor.value = Math.min(kind.max, Math.max(kind.min, sensor.value + drift + step));
    sensor.seq++;
    const blob = new Uint8Array(blobBytes);
    for (let i = 0; i < blobBytes; i++) blob[i] = (random() * 256) | 0;
    const header: UpdateHeader = {
      seq: sensor.seq,
      ts: now(),
      units: kind.units,
      schema: READING_SCHEMA,
    };
    return {
      topic: sensor.topic,
      header,
      value: sensor.value,
      frames: [sensor.topicBytes, encodeHeader(header), encodeReading(sensor.value, blob)],
    };
  }
}
