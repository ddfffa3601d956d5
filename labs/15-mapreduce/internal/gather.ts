/**
 * The gather side: reading a job's committed output back (part files in key order), the
 * top keys for the summary, the `_SUCCESS` marker the master commits last, and the live
 * progress view.
 *
 * @module
 */

import type { Value } from "./jobs.ts";
import { partName } from "./partition.ts";
import type { Progress } from "./scheduler.ts";

/** The marker committed after every part: a reader trusts only an output dir that has it. */
export const SUCCESS = "_SUCCESS";

/**
 * Reads every part file of `outDir` (R of them) into one list of `[key, value]`, sorted
 * by key.
 *
 * @example
 * ```ts
 * import { readOutput } from "./gather.ts";
 * const pairs = await readOutput("/tmp/out", 4);
 * ```
 */
export async function readOutput(outDir: string, reducers: number): Promise<[string, Value][]> {
  const out: [string, Value][] = [];
  for (let r = 0; r < reducers; r++) {
    const text = await Deno.readTextFile(`${outDir}/${partName(r)}`);
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const tab = line.lastIndexOf("\t");
      out.push([line.slice(0, tab), JSON.parse(line.slice(tab + 1))]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The `n` keys with the largest values (numbers, or list lengths), ties by key. */
export function topKeys(pairs: [string, Value][], n: number): [string, Value][] {
  const size = (v: Value) => (typeof v === "number" ? v : v.length);
  return [...pairs].sort((a, b) => size(b[1]) - size(a[1]) || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

/**
 * The live view's lines: the phase, tasks done per phase, workers and the fault counters.
 *
 * @example
 * ```ts
 * import { renderProgress } from "./gather.ts";
 * ```
 */
export function renderProgress(job: string, p: Progress, skipped: number): string[] {
  const bar = (done: number, total: number) => {
    const width = 20;
    const full = total === 0 ? width : Math.round((done / total) * width);
    return "#".repeat(full) + ".".repeat(width - full);
  };
  const row = (name: string, ph: Progress["map"]) =>
    `${name.padEnd(7)} ${bar(ph.done, ph.total)} ${String(ph.done).padStart(5)}/${
      String(ph.total).padEnd(5)
    } running ${String(ph.running).padStart(3)}  idle ${String(ph.idle).padStart(4)}`;
  return [
    `mr_master  job ${job}  phase ${p.phase}  elapsed ${(p.elapsedMs / 1000).toFixed(1)} s`,
    row("map", p.map),
    row("reduce", p.reduce),
    `workers map ${p.workers.map} reduce ${p.workers.reduce} | lost ${p.workersLost} requeued ${p.requeued} backups ${p.backups} (won ${p.backupWins}) duplicates ${p.duplicates} | skipped records ${skipped}`,
  ];
}
