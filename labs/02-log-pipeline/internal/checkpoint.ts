/**
 * The collector's input checkpoint, so a collector killed with `kill -9` resumes without
 * losing lines and without storing any twice. One small JSON file, replaced atomically
 * (write to `<path>.tmp`, then rename) before every batch is sent and after every ack:
 *
 * ```json
 * { "version": 1, "run": "<16 hex>", "next_seq": 42,
 *   "files": { "/var/log/app.log": { "ino": 1234, "offset": 81920 } },
 *   "pending": [ { "seq": 40, "segments": [ { "path": "...", "ino": 1234, "start": 70000, "end": 75000 } ] } ] }
 * ```
 *
 * - `files`: per input file, the offset just after the last line put into a sent batch.
 * - `pending`: every sent batch not acknowledged yet, with the exact byte ranges of its
 *   lines. Everything before `files` that is not in `pending` is acknowledged (stored), so
 *   `pending` ∪ (after `files`) is exactly what a restart must deliver again.
 * - `run` and `next_seq`: the restarted collector keeps its run id and re-sends pending
 *   batches with their old seq and the very same lines, so their batch ids are the
 *   sink's dedup keys: a batch the sink stored but could not ack is acked, not stored.
 *
 * Written without fsync: it survives the process (kill -9), not a power loss.
 *
 * @module
 */
import type { LinePosition, ResumePosition } from "./line_source.ts";
import { RUN_ID_RE } from "./protocol.ts";

/** Byte ranges of one batch's lines (consecutive lines of one file form one segment). */
export type Segment = LinePosition;

/** The checkpoint file's content. */
export interface CheckpointState {
  version: 1;
  run: string;
  next_seq: number;
  files: Record<string, ResumePosition>;
  pending: { seq: number; segments: Segment[] }[];
}

/** Thrown for a checkpoint file that is not what this module writes. */
export class CheckpointError extends Error {}

function check(state: unknown, path: string): CheckpointState {
  const fail = (what: string): never => {
    throw new CheckpointError(`checkpoint ${path}: expected ${what}`);
  };
  const isInt = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const isSeg = (g: Segment) =>
    typeof g?.path === "string" && (g.ino === null || isInt(g.ino)) && isInt(g.start) &&
    isInt(g.end) && g.start <= g.end;
  const s = state as CheckpointState;
  if (typeof s !== "object" || s === null || s.version !== 1) fail("a version 1 object");
  if (typeof s.run !== "string" || !RUN_ID_RE.test(s.run)) fail("a run id of 16 hex digits");
  if (!isInt(s.next_seq)) fail("next_seq >= 0");
  if (typeof s.files !== "object" || s.files === null) fail("a files object");
  for (const f of Object.values(s.files)) {
    if (!isInt(f?.offset) || !(f.ino === null || isInt(f.ino))) fail("files {ino, offset}");
  }
  if (!Array.isArray(s.pending)) fail("a pending array");
  for (const p of s.pending) {
    if (!isInt(p?.seq) || p.seq >= s.next_seq || !Array.isArray(p.segments)) {
      fail("pending entries {seq < next_seq, segments[]}");
    }
    if (!p.segments.every(isSeg)) fail("segments {path, ino, start <= end}");
  }
  return s;
}

/**
 * @example
 * ```ts
 * const cp = Checkpoint.load("/var/lib/collector.json") ?? Checkpoint.create(path, newRunId());
 * cp.sent(0, [{ path: "/var/log/a.log", ino: 7, start: 0, end: 4096 }]); // before sending
 * cp.acked(0);                                                         // on the sink's ack
 * ```
 */
export class Checkpoint {
  readonly path: string;
  readonly run: string;
  /** The seq the next new batch gets. */
  nextSeq: number;
  /** Batches to re-send on start (from the file), oldest first. */
  readonly restored: { seq: number; segments: Segment[] }[];
  #files: Map<string, ResumePosition>;
  #pending = new Map<number, Segment[]>();
  #encoder = new TextEncoder();

  private constructor(path: string, state: CheckpointState) {
    this.path = path;
    this.run = state.run;
    this.nextSeq = state.next_seq;
    this.#files = new Map(Object.entries(state.files));
    this.restored = [...state.pending].sort((a, b) => a.seq - b.seq);
    for (const p of this.restored) this.#pending.set(p.seq, p.segments);
  }

  /** A new checkpoint (nothing read yet); written at the first {@linkcode sent}. */
  static create(path: string, run: string): Checkpoint {
    return new Checkpoint(path, { version: 1, run, next_seq: 0, files: {}, pending: [] });
  }

  /** The checkpoint in `path`, or null when there is none. Throws CheckpointError. */
  static load(path: string): Checkpoint | null {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch {
      throw new CheckpointError(`checkpoint ${path}: expected JSON, got ${text.slice(0, 40)}`);
    }
    return new Checkpoint(path, check(state, path));
  }

  /** Where each file resumes. */
  get files(): Map<string, ResumePosition> {
    return new Map(this.#files);
  }

  /** Unacknowledged batches held (bounded by the collector's window). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Records batch `seq` (its lines' byte ranges) as sent; call before sending it. */
  sent(seq: number, segments: Segment[]): void {
    this.#pending.set(seq, segments);
    for (const g of segments) this.#files.set(g.path, { ino: g.ino, offset: g.end });
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    this.save();
  }

  /** Records batch `seq` as acknowledged (stored by the sink). */
  acked(seq: number): void {
    if (this.#pending.delete(seq)) this.save();
  }

  /** Replaces the file atomically (tmp + rename). */
  save(): void {
    const state: CheckpointState = {
      version: 1,
      run: this.run,
      next_seq: this.nextSeq,
      files: Object.fromEntries(this.#files),
      pending: [...this.#pending].map(([seq, segments]) => ({ seq, segments })),
    };
    const tmp = `${this.path}.tmp`;
    Deno.writeFileSync(tmp, this.#encoder.encode(JSON.stringify(state)));
    Deno.renameSync(tmp, this.path);
  }
}
