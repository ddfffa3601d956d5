/**
 * The three MapReduce jobs of Lab 15, as pure functions: `map(record) → [key, value]*`,
 * `reduce(key, values) → value`, and an optional combiner (a reduce run on one map task's
 * output before it is written). `runLocal` computes a job in one process: the baseline the
 * tests compare the cluster's output with, and the benchmark's peer.
 *
 * - `wordcount`: words (Unicode letters/digits, lowercased) → count.
 * - `invindex`: word → the sorted list of documents (input file names) it appears in.
 * - `logstats`: over Lab 02's stored records (NDJSON, one ECS-style record per line, as
 *   `storage_writer` writes them): events per `dataset/level`, HTTP status codes, 5xx per
 *   URL, and failed SSH logins per source pseudonym.
 *
 * A record that makes `map` throw is a poisoned record: the map task skips it and reports
 * it (file, byte offset, reason) instead of failing.
 *
 * @module
 */

import type { EcsRecord } from "../../02-log-pipeline/internal/record.ts";

/** Job names, as the `--job` flag takes them. */
export const JOB_NAMES = ["wordcount", "invindex", "logstats"] as const;
/** A job name. */
export type JobName = typeof JOB_NAMES[number];

/** An intermediate or final value: JSON-safe. */
export type Value = number | string[];

/** One job's functions. */
export interface Job {
  name: JobName;
  /** Emits the pairs of one record (a line without its newline); throws on a poisoned record. */
  map(record: string, doc: string, emit: (key: string, value: Value) => void): void;
  /** Folds all values of one key into the output value. */
  reduce(key: string, values: Value[]): Value;
  /** The combiner (same contract as reduce, run per map task and partition), if the job has one. */
  combine?: (key: string, values: Value[]) => Value;
}

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu;

/** The words of a line, lowercased (the line first, then split). */
export function words(line: string): string[] {
  return line.toLowerCase().match(WORD) ?? [];
}

const sum = (_key: string, values: Value[]): Value => {
  let n = 0;
  for (const v of values) n += v as number;
  return n;
};

const union = (_key: string, values: Value[]): Value => {
  const set = new Set<string>();
  for (const v of values) for (const d of v as string[]) set.add(d);
  return [...set].sort();
};

/** Raised by a map function on a record it cannot read (a poisoned record). */
export class PoisonedRecordError extends Error {}

function checkText(line: string): void {
  if (line.includes("\uFFFD")) throw new PoisonedRecordError("not valid UTF-8");
}

const wordcount: Job = {
  name: "wordcount",
  map(line, _doc, emit) {
    checkText(line);
    for (const w of words(line)) emit(w, 1);
  },
  reduce: sum,
  combine: sum,
};

const invindex: Job = {
  name: "invindex",
  map(line, doc, emit) {
    checkText(line);
    for (const w of new Set(words(line))) emit(w, [doc]);
  },
  reduce: union,
  combine: union,
};

/** The fields of a Lab 02 record `logstats` reads. */
type StoredRecord = Pick<EcsRecord, "event" | "log" | "http" | "url" | "source" | "message">;

const logstats: Job = {
  name: "logstats",
  map(line, _doc, emit) {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new PoisonedRecordError("not a JSON record");
    }
    const r = parsed as StoredRecord;
    if (typeof r !== "object" || r === null || typeof r.event?.dataset !== "string") {
      throw new PoisonedRecordError("expected a Lab 02 record with event.dataset");
    }
    emit(`events ${r.event.dataset}/${r.log?.level ?? "-"}`, 1);
    const status = r.http?.response?.status_code;
    if (typeof status === "number") {
      emit(`http_status ${status}`, 1);
      if (status >= 500) emit(`http_5xx ${(r.url?.original ?? "-").split("?")[0]}`, 1);
    }
    if (typeof r.message === "string" && r.message.startsWith("Failed password")) {
      emit(`ssh_failed ${r.source?.ip ?? "-"}`, 1);
    }
  },
  reduce: sum,
  combine: sum,
};

/** Every job by name. */
export const JOBS: Readonly<Record<JobName, Job>> = { wordcount, invindex, logstats };

/** A record a map task skipped. */
export interface Skipped {
  /** Input file. */
  file: string;
  /** Byte offset of the record in the file. */
  offset: number;
  reason: string;
}

/**
 * Runs `job.map` on one record, catching a poisoned record: returns the reason it was
 * skipped, or null.
 */
export function mapRecord(
  job: Job,
  record: string,
  doc: string,
  emit: (key: string, value: Value) => void,
): string | null {
  // Pairs are staged until the record is fully mapped: a record that throws halfway emits none.
  staged.length = 0;
  try {
    job.map(record, doc, stage);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  for (let i = 0; i < staged.length; i++) emit(staged[i][0], staged[i][1]);
  return null;
}

/** One staging array for every record (map functions are synchronous: no interleaving). */
const staged: [string, Value][] = [];
const stage = (key: string, value: Value): void => void staged.push([key, value]);

/** Groups pairs by key and reduces each group; keys in code-unit order. */
export function reduceAll(
  job: Job,
  pairs: Iterable<[string, Value]>,
  fn: (key: string, values: Value[]) => Value = job.reduce,
): [string, Value][] {
  const groups = new Map<string, Value[]>();
  for (const [k, v] of pairs) {
    const list = groups.get(k);
    if (list) list.push(v);
    else groups.set(k, [v]);
  }
  return [...groups.keys()].sort(compareKeys).map((k) => [k, fn(k, groups.get(k)!)]);
}

/** Key order of every sorted file: UTF-16 code units (what `Array.prototype.sort` does). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What {@linkcode runLocal} returns. */
export interface LocalResult {
  /** Every key and its reduced value, in key order. */
  output: [string, Value][];
  records: number;
  skipped: number;
  bytes: number;
}

/**
 * The whole job in one process over whole files (decoded as the map workers decode: bad
 * UTF-8 becomes U+FFFD): the baseline.
 *
 * @example
 * ```ts
 * import { JOBS, runLocal } from "./jobs.ts";
 * const result = await runLocal(JOBS.wordcount, []);
 * console.log(result.output.length); // 0
 * ```
 */
export async function runLocal(job: Job, files: readonly string[]): Promise<LocalResult> {
  const pairs: [string, Value][] = [];
  let records = 0;
  let skipped = 0;
  let bytes = 0;
  const decoder = new TextDecoder();
  for (const file of files) {
    const data = await Deno.readFile(file);
    bytes += data.length;
    const doc = baseName(file);
    let start = 0;
    while (start < data.length) {
      let end = data.indexOf(10, start);
      if (end < 0) end = data.length;
      const line = decoder.decode(data.subarray(start, end)).replace(/\r$/, "");
      records++;
      if (mapRecord(job, line, doc, (k, v) => void pairs.push([k, v])) !== null) skipped++;
      start = end + 1;
    }
  }
  return { output: reduceAll(job, pairs), records, skipped, bytes };
}

/** The last path segment (a document's name for `invindex`). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

/** A final output line: `key<TAB>JSON value`. */
export function formatOutputLine(key: string, value: Value): string {
  return `${key}\t${JSON.stringify(value)}\n`;
}
