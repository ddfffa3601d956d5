/**
 * The live views of camera_feed and analytics_engine: a few lines of text redrawn in place
 * on a terminal (`terminalFrame`) or printed as snapshots when piped.
 *
 * @module
 */

import type { EngineReport } from "./engine_stats.ts";

/** What the camera reports. */
export interface CameraReport {
  mode: "latest" | "credit";
  endpoint: string;
  width: number;
  height: number;
  source: string;
  target_fps: number;
  fps: number;
  gbps: number;
  sent: number;
  /** Frames handed to libzmq over all engines (credit mode: one per engine). */
  sends: number;
  /** Capture ticks missed because the camera was behind (--fps > 0). */
  late: number;
  /** Times the camera had to wait for a free pool buffer / for credit. */
  pool_waits: number;
  credit_waits: number;
  pool_slots: number;
  pool_free: number;
  pool_held: number;
  zero_copy_in_flight: number;
  collections: number;
  collect_ms: number;
  freed_by_count: number;
  freed_by_probe: number;
  freed_by_order: number;
  /** Sends libzmq released inside the send (latest mode: no engine had room). */
  freed_at_once: number;
  /** Frames no engine took (latest mode). */
  dropped_everywhere: number;
  engines: number;
  cpu_s: number;
  cpu_s_per_gb: number;
  rss_mb: number;
}

/**
 * The camera's view.
 *
 * @example
 * ```ts
 * import { cameraLines } from "./render.ts";
 * console.log(cameraLines({
 *   mode: "latest", endpoint: "tcp://127.0.0.1:5518", width: 3840, height: 2160, source: "pattern",
 *   target_fps: 30, fps: 30, gbps: 3, sent: 90, sends: 90, late: 0, pool_waits: 0, credit_waits: 0,
 *   pool_slots: 8, pool_free: 7, pool_held: 1, zero_copy_in_flight: 1, collections: 0, collect_ms: 0,
 *   freed_by_count: 89, freed_by_probe: 0, freed_by_order: 0, freed_at_once: 0, dropped_everywhere: 0, engines: 2, cpu_s: 1, cpu_s_per_gb: 0.9, rss_mb: 200,
 * }).join("\n"));
 * ```
 */
export function cameraLines(r: CameraReport): string[] {
  return [
    `camera_feed ${r.mode} on ${r.endpoint}  ${r.width}x${r.height} NV12 from ${r.source}`,
    `  ${r.fps.toFixed(1)} fps (target ${r.target_fps || "max"})  ${
      r.gbps.toFixed(2)
    } Gbit/s  sent ${r.sent}  late ticks ${r.late}  engines ${r.engines}`,
    `  pool ${r.pool_free}/${r.pool_slots} free, ${r.pool_held} held by libzmq (${r.zero_copy_in_flight} zero-copy frames in flight)  waits ${r.pool_waits}  credit waits ${r.credit_waits}`,
    `  released: ${r.freed_by_count} by count = 0, ${r.freed_at_once} at once (no engine had room), ${r.freed_by_order} by order, ${r.freed_by_probe} by probe (${r.collections} GCs, ${
      r.collect_ms.toFixed(0)
    } ms)`,
    `  CPU ${r.cpu_s.toFixed(1)} s (${r.cpu_s_per_gb.toFixed(2)} s/GB)  RSS ${
      r.rss_mb.toFixed(0)
    } MB`,
  ];
}

/**
 * An engine's view.
 *
 * @example
 * ```ts
 * import { EngineStats } from "./engine_stats.ts";
 * import { engineLines } from "./render.ts";
 * console.log(engineLines("fast", "latest", new EngineStats(0).report(1000, 0, 1e8)).join("\n"));
 * ```
 */
export function engineLines(name: string, mode: string, r: EngineReport, skipped = 0): string[] {
  return [
    `analytics_engine ${name} (${mode})  frame ${r.last_id}  luma ${
      r.luma_mean.toFixed(1)
    }  motion ${r.motion.toFixed(2)}`,
    `  ${r.fps.toFixed(1)} fps  ${
      r.gbps.toFixed(2)
    } Gbit/s  latency p50 ${r.latency_p50_ms} ms p99 ${r.latency_p99_ms} ms`,
    `  frames ${r.frames}  dropped ${r.dropped} (${skipped} of them skipped here as stale)  checksum mismatches ${r.mismatches}  out of order ${r.out_of_order}`,
    `  CPU ${r.cpu_s.toFixed(1)} s (${r.cpu_s_per_gb.toFixed(2)} s/GB)  RSS ${
      r.rss_mb.toFixed(0)
    } MB`,
  ];
}
