/**
 * What an analytics engine reports: frames and bytes per second, end-to-end latency from
 * the frame's PTS (capture time), dropped frames (gaps in frame ids), checksum mismatches,
 * and the process's CPU seconds per GB received and RSS. Sans-IO: times, CPU and RSS come in.
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";

/** One report (a window since the previous one, plus totals). */
export interface EngineReport {
  /** Frames per second in the window. */
  fps: number;
  /** Payload Gbit/s in the window. */
  gbps: number;
  /** End-to-end latency (receive time - PTS) in the window, ms. */
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  frames: number;
  bytes: number;
  /** Frames missing between received ids (late frames dropped upstream). */
  dropped: number;
  /** Frames whose payload did not match the header's checksum. */
  mismatches: number;
  /** Id of the last mismatching frame, or -1. */
  last_mismatch_id: number;
  /** Frames whose id did not increase (reordered or duplicated: never expected). */
  out_of_order: number;
  /** Streams seen (a camera restart starts a new one). */
  streams: number;
  /** Process CPU (user + system) seconds per GB of payload received, over the whole run. */
  cpu_s_per_gb: number;
  cpu_s: number;
  rss_mb: number;
  /** Last frame's analysis. */
  luma_mean: number;
  motion: number;
  last_id: number;
}

/** One received frame, as the engine saw it. */
export interface FrameObservation {
  stream: string;
  id: number;
  bytes: number;
  /** Receive time minus PTS, µs. */
  latencyUs: number;
  intact: boolean;
  lumaMean: number;
  motion: number;
}

/** Most latency samples kept per window (newest win). */
const MAX_SAMPLES = 10_000;

/**
 * Counts frames and gaps; `report(now, cpuS, rssBytes)` closes a window.
 *
 * @example
 * ```ts
 * import { EngineStats } from "./engine_stats.ts";
 * const stats = new EngineStats(0);
 * for (const id of [0, 1, 4]) {
 *   stats.observe({ stream: "s", id, bytes: 100, latencyUs: 2000, intact: true, lumaMean: 0, motion: 0 });
 * }
 * console.log(stats.report(1000, 0.1, 50e6).dropped); // 2 (ids 2 and 3)
 * ```
 */
export class EngineStats {
  #windowStart: number;
  #windowFrames = 0;
  #windowBytes = 0;
  #latencies: number[] = [];
  #frames = 0;
  #bytes = 0;
  #dropped = 0;
  #mismatches = 0;
  #lastMismatch = -1;
  #outOfOrder = 0;
  #streams = 0;
  #stream = "";
  #lastId = -1;
  #luma = 0;
  #motion = 0;

  constructor(now: number) {
    this.#windowStart = now;
  }

  /** Records one frame. */
  observe(frame: FrameObservation): void {
    if (frame.stream !== this.#stream) {
      this.#stream = frame.stream;
      this.#streams++;
      this.#lastId = frame.id - 1;
    } else if (frame.id > this.#lastId + 1) {
      this.#dropped += frame.id - this.#lastId - 1;
    } else if (frame.id <= this.#lastId) {
      this.#outOfOrder++;
    }
    this.#lastId = Math.max(this.#lastId, frame.id);
    this.#frames++;
    this.#bytes += frame.bytes;
    this.#windowFrames++;
    this.#windowBytes += frame.bytes;
    if (this.#latencies.length < MAX_SAMPLES) this.#latencies.push(frame.latencyUs / 1000);
    if (!frame.intact) {
      this.#mismatches++;
      this.#lastMismatch = frame.id;
    }
    this.#luma = frame.lumaMean;
    this.#motion = frame.motion;
  }

  /** Totals so far without closing the window. */
  get frames(): number {
    return this.#frames;
  }

  /** Closes the window at `now` (ms) and reports. */
  report(now: number, cpuS: number, rssBytes: number): EngineReport {
    const seconds = Math.max(1e-3, (now - this.#windowStart) / 1000);
    const [p50, p99] = this.#latencies.length > 0
      ? percentiles(this.#latencies, [0.5, 0.99])
      : [0, 0];
    const max = this.#latencies.reduce((m, v) => Math.max(m, v), 0);
    const report: EngineReport = {
      fps: round(this.#windowFrames / seconds, 2),
      gbps: round(this.#windowBytes * 8 / seconds / 1e9, 3),
      latency_p50_ms: round(p50, 2),
      latency_p99_ms: round(p99, 2),
      latency_max_ms: round(max, 2),
      frames: this.#frames,
      bytes: this.#bytes,
      dropped: this.#dropped,
      mismatches: this.#mismatches,
      last_mismatch_id: this.#lastMismatch,
      out_of_order: this.#outOfOrder,
      streams: this.#streams,
      cpu_s_per_gb: this.#bytes > 0 ? round(cpuS / (this.#bytes / 1e9), 3) : 0,
      cpu_s: round(cpuS, 3),
      rss_mb: round(rssBytes / 1e6, 1),
      luma_mean: round(this.#luma, 2),
      motion: round(this.#motion, 3),
      last_id: this.#lastId,
    };
    this.#windowStart = now;
    this.#windowFrames = 0;
    this.#windowBytes = 0;
    this.#latencies = [];
    return report;
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
