/**
 * What the workers run: a map task (read a split, map each record, partition the pairs by
 * key hash into R sorted — and with the combiner, combined — files, each committed
 * atomically into the shared work directory) and a reduce task (read its partition of
 * every map task's output, group, sort, reduce, commit one part file).
 *
 * The shuffle is worker-to-worker through files: a map worker writes
 * `map-<m>-r<r>.jsonl`; the reduce worker for `r` reads the M files named for it. The
 * master moves only task descriptions and summaries, never data.
 *
 * @module
 */

import { toHex } from "@lib/async/mod.ts";
import { commitFile } from "./commit.ts";
import {
  baseName,
  formatOutputLine,
  type Job,
  mapRecord,
  reduceAll,
  type Skipped,
  type Value,
} from "./jobs.ts";
import { intermediateName, partition, partName } from "./partition.ts";
import { readSplit } from "./splits.ts";

/** A task failed for a reason worth reporting (the master retries it elsewhere). */
export class TaskError extends Error {}

/** Input of {@linkcode runMapTask}. */
export interface MapInput {
  job: Job;
  /** Map task index. */
  m: number;
  file: string;
  start: number;
  end: number;
  reducers: number;
  workDir: string;
  combine: boolean;
  /** Longest record kept (longer ones are skipped and reported). */
  maxRecord: number;
  /** More skipped records than this fail the task. */
  maxSkipped: number;
  /** Called every few thousand records: the worker yields to its event loop (heartbeats). */
  pause?: () => Promise<void>;
}

/** What a map task reports. */
export interface MapOutput {
  records: number;
  bytes: number;
  pairs: number;
  /** Pairs written after the combiner. */
  written: number;
  skipped: Skipped[];
}

const PAUSE_EVERY = 2000;

/**
 * Runs one map task.
 *
 * @example
 * ```ts
 * import { JOBS } from "./jobs.ts";
 * import { runMapTask } from "./tasks.ts";
 * const out = await runMapTask({
 *   job: JOBS.wordcount, m: 0, file: "in.txt", start: 0, end: 100, reducers: 2,
 *   workDir: "/tmp/work", combine: true, maxRecord: 1 << 20, maxSkipped: 10,
 * });
 * ```
 */
export async function runMapTask(input: MapInput): Promise<MapOutput> {
  const { job, reducers } = input;
  const buckets: [string, Value][][] = Array.from({ length: reducers }, () => []);
  const skipped: Skipped[] = [];
  const decoder = new TextDecoder();
  const doc = baseName(input.file);
  let records = 0;
  let pairs = 0;
  const partitionOf = new Map<string, number>(); // distinct keys of one split: bounded by it
  const emit = (key: string, value: Value) => {
    pairs++;
    let r = partitionOf.get(key);
    if (r === undefined) partitionOf.set(key, r = partition(key, reducers));
    buckets[r].push([key, value]);
  };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(input.file, { read: true });
  } catch (error) {
    throw new TaskError(`cannot read ${input.file}: ${(error as Error).message}`);
  }
  try {
    for await (const record of readSplit(file, input.start, input.end, input.maxRecord)) {
      records++;
      if (records % PAUSE_EVERY === 0) await input.pause?.();
      let reason: string | null;
      if (record.bytes === null) {
        reason = `record too long: expected at most ${input.maxRecord} bytes, got ${record.length}`;
      } else {
        reason = mapRecord(job, decoder.decode(record.bytes), doc, emit);
      }
      if (reason === null) continue;
      skipped.push({ file: input.file, offset: record.offset, reason });
      if (skipped.length > input.maxSkipped) {
        throw new TaskError(
          `too many poisoned records: expected at most ${input.maxSkipped}, got ${skipped.length}`,
        );
      }
    }
  } finally {
    file.close();
  }
  let written = 0;
  const encoder = new TextEncoder();
  for (let r = 0; r < reducers; r++) {
    const sorted = input.combine && job.combine
      ? reduceAll(job, buckets[r], job.combine)
      : stableSort(buckets[r]);
    written += sorted.length;
    let text = "";
    for (const [k, v] of sorted) text += JSON.stringify([k, v]) + "\n";
    await commitFile(`${input.workDir}/${intermediateName(input.m, r)}`, encoder.encode(text));
    await input.pause?.();
  }
  return { records, bytes: input.end - input.start, pairs, written, skipped };
}

function stableSort(pairs: [string, Value][]): [string, Value][] {
  return pairs.map((p, i) => [p, i] as const)
    .sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]))
    .map(([p]) => p);
}

/** Input of {@linkcode runReduceTask}. */
export interface ReduceInput {
  job: Job;
  /** Reduce task index. */
  r: number;
  /** Number of map tasks (files to read). */
  maps: number;
  workDir: string;
  outDir: string;
  pause?: () => Promise<void>;
}

/** What a reduce task reports. */
export interface ReduceOutput {
  /** Intermediate pairs read. */
  pairs: number;
  /** Keys written. */
  keys: number;
  /** Bytes of the committed part file. */
  bytes: number;
  /** SHA-256 of the part file (hex). */
  sha256: string;
}

/**
 * Runs one reduce task: reads `map-*-r<r>.jsonl`, reduces, commits `part-r-<r>`.
 *
 * @example
 * ```ts
 * import { JOBS } from "./jobs.ts";
 * import { runReduceTask } from "./tasks.ts";
 * const out = await runReduceTask({ job: JOBS.wordcount, r: 0, maps: 3, workDir: "/tmp/work", outDir: "/tmp/out" });
 * ```
 */
export async function runReduceTask(input: ReduceInput): Promise<ReduceOutput> {
  const pairs: [string, Value][] = [];
  for (let m = 0; m < input.maps; m++) {
    const path = `${input.workDir}/${intermediateName(m, input.r)}`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new TaskError(`cannot read map output ${path}: ${(error as Error).message}`);
    }
    let at = 0;
    while (at < text.length) {
      let nl = text.indexOf("\n", at);
      if (nl < 0) nl = text.length;
      if (nl > at) {
        const pair = JSON.parse(text.slice(at, nl));
        if (!Array.isArray(pair) || typeof pair[0] !== "string") {
          throw new TaskError(`malformed map output in ${path} at ${at}`);
        }
        pairs.push([pair[0], pair[1]]);
      }
      at = nl + 1;
    }
    await input.pause?.();
  }
  const reduced = reduceAll(input.job, pairs);
  let text = "";
  for (const [k, v] of reduced) text += formatOutputLine(k, v);
  const data = new TextEncoder().encode(text);
  await commitFile(`${input.outDir}/${partName(input.r)}`, data);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return {
    pairs: pairs.length,
    keys: reduced.length,
    bytes: data.length,
    sha256: toHex(digest),
  };
}
