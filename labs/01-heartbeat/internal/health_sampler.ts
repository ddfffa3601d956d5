/**
 * Samples this host's real health (load average, memory, uptime) and classifies it.
 *
 * @module
 */
import type { Status } from "./protocol.ts";

/** Where host figures come from; `denoHost()` in production, a fake in tests. */
export interface HostSource {
  /** 1, 5 and 15 minute load averages (`Deno.loadavg()`). */
  loadavg(): number[];
  /** Memory in bytes (`Deno.systemMemoryInfo()`). */
  memory(): { total: number; available: number };
  /** Seconds since the OS booted (`Deno.osUptime()`). */
  uptime(): number;
  /** Number of logical CPUs. */
  cpus: number;
}

/** Limits that turn metrics into a status. Load limits are per CPU. */
export interface Thresholds {
  warnLoad: number;
  critLoad: number;
  warnMem: number;
  critMem: number;
}

/** Defaults: load per CPU 1.5 / 3, memory used 90 % / 97 %. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  warnLoad: 1.5,
  critLoad: 3,
  warnMem: 90,
  critMem: 97,
};

/** One sample: the metrics and the status they imply. */
export interface HealthSample {
  status: Status;
  metrics: Record<string, number>;
}

/**
 * The real host, through Deno's `sys` APIs (needs `--allow-sys`).
 *
 * @example
 * ```ts
 * const sampler = new HealthSampler(denoHost());
 * ```
 */
export function denoHost(): HostSource {
  return {
    loadavg: () => Deno.loadavg(),
    memory: () => {
      const info = Deno.systemMemoryInfo();
      return { total: info.total, available: info.available };
    },
    uptime: () => Deno.osUptime(),
    cpus: navigator.hardwareConcurrency || 1,
  };
}

const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * Turns host figures into heartbeat metrics and a status.
 *
 * @example
 * ```ts
 * const { status, metrics } = new HealthSampler(denoHost()).sample();
 * // metrics: { load1, load5, load15, cpus, mem_total_mb, mem_available_mb, mem_used_pct, uptime_s }
 * ```
 */
export class HealthSampler {
  readonly #source: HostSource;
  readonly #thresholds: Thresholds;

  constructor(source: HostSource, thresholds: Thresholds = DEFAULT_THRESHOLDS) {
    this.#source = source;
    this.#thresholds = thresholds;
  }

  /** Reads the host once. */
  sample(): HealthSample {
    const [load1 = 0, load5 = 0, load15 = 0] = this.#source.loadavg();
    const { total, available } = this.#source.memory();
    const usedPct = total > 0 ? (1 - available / total) * 100 : 0;
    const metrics = {
      load1: round(load1),
      load5: round(load5),
      load15: round(load15),
      cpus: this.#source.cpus,
      mem_total_mb: Math.round(total / 1048576),
      mem_available_mb: Math.round(available / 1048576),
      mem_used_pct: round(usedPct, 1),
      uptime_s: Math.round(this.#source.uptime()),
    };
    return { status: classify(metrics, this.#thresholds), metrics };
  }
}

/**
 * The status metrics imply: the worse of load per CPU and memory used.
 *
 * @example
 * ```ts
 * classify({ load1: 8, cpus: 2, mem_used_pct: 50 }, DEFAULT_THRESHOLDS); // "critical"
 * ```
 */
export function classify(metrics: Record<string, number>, thresholds: Thresholds): Status {
  const perCpu = (metrics.load1 ?? 0) / Math.max(1, metrics.cpus ?? 1);
  const mem = metrics.mem_used_pct ?? 0;
  if (perCpu >= thresholds.critLoad || mem >= thresholds.critMem) return "critical";
  if (perCpu >= thresholds.warnLoad || mem >= thresholds.warnMem) return "warning";
  return "ok";
}
