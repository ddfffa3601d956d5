/**
 * Lab 15 wire protocol (MR/1) between `mr_master` (ROUTER) and its workers (DEALER).
 *
 * ```
 * worker -> master   [ "MR/1 READY map" | "MR/1 READY reduce" ]          (one frame)
 *                    [ "MR/1 HEARTBEAT map" | "MR/1 HEARTBEAT reduce" ]  (one frame)
 *                    [ "MR/1" | msgpack MapDone | ReduceDone | TaskFailed ]
 * master -> worker   [ "MR/1 HEARTBEAT <type>" ]                           (one frame)
 *                    [ "MR/1" | msgpack MapTask | ReduceTask ]
 * ```
 *
 * (The master's ROUTER sees the worker's routing id in front of each message.) Control
 * words carry the worker type, so a master that restarted learns a worker's type from its
 * next heartbeat. Every frame is checked on the way in: a malformed one throws
 * `BadMessageError`, which the roles log as `bad_message` and drop.
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";
import { JOB_NAMES } from "./jobs.ts";

/** The protocol tag, first frame of every task and result. */
export const TAG = "MR/1";
/** Worker types. */
export const WORKER_TYPES = ["map", "reduce"] as const;
/** A worker type. */
export type WorkerType = typeof WORKER_TYPES[number];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** READY control word of a worker type. */
export function readyWord(type: WorkerType): Uint8Array {
  return encoder.encode(`${TAG} READY ${type}`);
}

/** HEARTBEAT control word of a worker type (both directions). */
export function heartbeatWord(type: WorkerType): Uint8Array {
  return encoder.encode(`${TAG} HEARTBEAT ${type}`);
}

const jobName = s.oneOf(...JOB_NAMES.map((name) => s.literal(name)));
const path = s.string({ min: 1, max: 4096 });
/** The id of one run of the master: results of another run's tasks are told apart by it. */
const jobId = s.string({ min: 1, max: 64 });

/**
 * A map task: read `[start, end)` of `file`, write R partitions to `work_dir`. Every task
 * and result carries the master run's `job_id`: a result from an earlier run (a worker that
 * was busy when the master restarted) is never taken for this run's task of the same number.
 */
export const MapTask = s.object({
  kind: s.literal("map"),
  job_id: jobId,
  job: jobName,
  task: s.int({ min: 0, max: 1_000_000 }),
  attempt: s.int({ min: 1, max: 1000 }),
  file: path,
  start: s.int({ min: 0 }),
  end: s.int({ min: 0 }),
  reducers: s.int({ min: 1, max: 10_000 }),
  work_dir: path,
  combine: s.boolean(),
  max_record: s.int({ min: 1 }),
  max_skipped: s.int({ min: 0 }),
}, { strict: true });
/** A map task. */
export type MapTask = Infer<typeof MapTask>;

/** A reduce task: read partition `task` of `maps` map outputs, commit a part file in `out_dir`. */
export const ReduceTask = s.object({
  kind: s.literal("reduce"),
  job_id: jobId,
  job: jobName,
  task: s.int({ min: 0, max: 10_000 }),
  attempt: s.int({ min: 1, max: 1000 }),
  maps: s.int({ min: 0, max: 1_000_000 }),
  work_dir: path,
  out_dir: path,
}, { strict: true });
/** A reduce task. */
export type ReduceTask = Infer<typeof ReduceTask>;

/** A task as the master sends it. */
export type Task = MapTask | ReduceTask;

const skipped = s.object({ file: s.string(), offset: s.int({ min: 0 }), reason: s.string() });

/** A finished map task. */
export const MapDone = s.object({
  kind: s.literal("map_done"),
  job_id: jobId,
  task: s.int({ min: 0 }),
  attempt: s.int({ min: 1 }),
  ms: s.number({ min: 0 }),
  records: s.int({ min: 0 }),
  bytes: s.int({ min: 0 }),
  pairs: s.int({ min: 0 }),
  written: s.int({ min: 0 }),
  skipped: s.array(skipped, { max: 10_000 }),
}, { strict: true });
/** A finished map task. */
export type MapDone = Infer<typeof MapDone>;

/** A finished reduce task. */
export const ReduceDone = s.object({
  kind: s.literal("reduce_done"),
  job_id: jobId,
  task: s.int({ min: 0 }),
  attempt: s.int({ min: 1 }),
  ms: s.number({ min: 0 }),
  pairs: s.int({ min: 0 }),
  keys: s.int({ min: 0 }),
  bytes: s.int({ min: 0 }),
  sha256: s.string({ min: 64, max: 64 }),
}, { strict: true });
/** A finished reduce task. */
export type ReduceDone = Infer<typeof ReduceDone>;

/** A task the worker could not finish (unreadable input, too many poisoned records, ...). */
export const TaskFailed = s.object({
  kind: s.literal("task_failed"),
  job_id: jobId,
  phase: s.oneOf(s.literal("map"), s.literal("reduce")),
  task: s.int({ min: 0 }),
  attempt: s.int({ min: 1 }),
  error: s.string({ max: 2000 }),
}, { strict: true });
/** A task the worker could not finish. */
export type TaskFailed = Infer<typeof TaskFailed>;

/** A result, as the worker sends it. */
export type Result = MapDone | ReduceDone | TaskFailed;

/** A message from a worker, decoded. */
export type FromWorker =
  | { kind: "ready"; type: WorkerType }
  | { kind: "heartbeat"; type: WorkerType }
  | Result;

/**
 * Encodes a task or a result as `["MR/1", msgpack]`.
 *
 * @example
 * ```ts
 * import { decodeTask, encodeMessage } from "./protocol.ts";
 * const frames = encodeMessage({
 *   kind: "reduce", job: "wordcount", task: 0, attempt: 1, maps: 2, work_dir: "/w", out_dir: "/o",
 * });
 * decodeTask(frames).kind; // "reduce"
 * ```
 */
export function encodeMessage(message: Task | Result): Uint8Array[] {
  return [encoder.encode(TAG), encode(message)];
}

/**
 * Decodes a task (the frames after the worker's control-word check); throws
 * `BadMessageError` otherwise.
 */
export function decodeTask(frames: Uint8Array[]): Task {
  return decode(tagged(frames), s.oneOf(MapTask, ReduceTask));
}

/**
 * Decodes a message from a worker (the frames after its routing id); throws
 * `BadMessageError` otherwise.
 *
 * @example
 * ```ts
 * import { decodeFromWorker, readyWord } from "./protocol.ts";
 * decodeFromWorker([readyWord("map")]); // { kind: "ready", type: "map" }
 * ```
 */
export function decodeFromWorker(frames: Uint8Array[]): FromWorker {
  if (frames.length === 1) {
    const word = frames[0].length <= 32 ? decoder.decode(frames[0]) : "";
    const m = /^MR\/1 (READY|HEARTBEAT) (map|reduce)$/.exec(word);
    if (!m) {
      throw new BadMessageError(
        `expected a control word "MR/1 READY|HEARTBEAT map|reduce", got ${frames[0].length} bytes`,
      );
    }
    return { kind: m[1] === "READY" ? "ready" : "heartbeat", type: m[2] as WorkerType };
  }
  return decode(tagged(frames), s.oneOf(MapDone, ReduceDone, TaskFailed));
}

function tagged(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 2) {
    throw new BadMessageError(`expected 2 frames ("MR/1", body), got ${frames.length}`);
  }
  if (decoder.decode(frames[0].subarray(0, 8)) !== TAG || frames[0].length !== TAG.length) {
    throw new BadMessageError(`expected the tag "${TAG}" in frame 1`);
  }
  return frames[1];
}
