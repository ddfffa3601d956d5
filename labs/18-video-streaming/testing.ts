/**
 * Lab 18 test helpers: start the real roles (JSON stats on stdout, short report period)
 * and wait for a stats line that satisfies a predicate.
 *
 * @module
 */

import {
  type ListeningRole,
  type RoleProcess,
  spawnListening,
  spawnRole,
} from "@lib/testing/mod.ts";

/** One JSON stats line of a role (`camera_stats`, `engine_stats`, `engine_done`, ...). */
export type Stats = Record<string, number | string> & { event: string };

/** Report period used in tests (ms). */
export const REPORT_MS = "300";

/** A 1280×720 NV12 frame: 1,382,400 bytes, over lib/zmq's 1 MiB zero-copy threshold. */
export const HD = ["--width", "1280", "--height", "720"];

/**
 * Starts camera_feed on `bind` (an ephemeral tcp port or an ipc path) with JSON stats.
 *
 * @example
 * ```ts
 * import { camera, HD } from "./testing.ts";
 * await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--fps", "30"]);
 * console.log(cam.endpoint);
 * ```
 */
export function camera(bind: string, args: string[] = []): Promise<ListeningRole> {
  return spawnListening("18", "camera_feed", [
    ...["--bind", bind, "--json", "--report-ms", REPORT_MS],
    ...args,
  ]);
}

/**
 * Starts an analytics_engine connected to `endpoint` with JSON stats.
 *
 * @example
 * ```ts
 * import { engine } from "./testing.ts";
 * await using fast = await engine("tcp://127.0.0.1:5518", ["--name", "fast"]);
 * ```
 */
export function engine(endpoint: string, args: string[] = []): Promise<RoleProcess> {
  return spawnRole("18", "analytics_engine", [
    ...["--connect", endpoint, "--json", "--report-ms", REPORT_MS],
    ...args,
  ]);
}

/** Parses one stdout line as stats, or null. */
function parse(line: string): Stats | null {
  if (!line.startsWith("{")) return null;
  try {
    return JSON.parse(line) as Stats;
  } catch {
    return null;
  }
}

/**
 * Waits for the first stats line named `event` (from the start of the output) that
 * satisfies `pred`.
 *
 * @example
 * ```ts
 * import { engine, statsLine } from "./testing.ts";
 * await using e = await engine("tcp://127.0.0.1:5518");
 * const s = await statsLine(e, "engine_stats", (s) => Number(s.frames) >= 10);
 * ```
 */
export async function statsLine(
  proc: RoleProcess,
  event: string,
  pred: (stats: Stats) => boolean = () => true,
  timeout = 60_000,
): Promise<Stats> {
  const line = await proc.stdoutLine((l) => {
    const s = parse(l);
    return s !== null && s.event === event && pred(s);
  }, { timeout });
  return parse(line)!;
}

/**
 * Every stats line named `event` so far.
 *
 * @example
 * ```ts
 * import { allStats, engine } from "./testing.ts";
 * await using e = await engine("tcp://127.0.0.1:5518");
 * console.log(allStats(e, "engine_stats").length);
 * ```
 */
export function allStats(proc: RoleProcess, event: string): Stats[] {
  return proc.stdoutLines.map(parse).filter((s): s is Stats => s?.event === event);
}
