/**
 * The sink's durable record of stored batches, so a re-sent batch is acknowledged again
 * but not stored twice. Batch ids are (collector run id, seq): the in-memory index is a
 * {@linkcode DedupWindow} (one stream per run), persisted here as a snapshot plus a
 * journal of commit lines.
 *
 * @module
 */
import { type DedupStreamState, DedupWindow, type DedupWindowOptions } from "@lib/patterns/mod.ts";
import type { FilePosition } from "./rotating_writer.ts";

/** Per-run state in the snapshot file (its format predates the generic window: `run`). */
interface RunState {
  run: string;
  watermark: number;
  above: number[];
}

const SNAPSHOT = "dedup.snapshot.json";
const JOURNAL = "dedup.journal";

/** Where each file series ended at the last commit (by series prefix). */
export type Committed = Record<string, FilePosition>;

interface Snapshot {
  runs: RunState[];
  committed: Committed;
}

const toFile = (s: DedupStreamState): RunState => ({
  run: s.stream,
  watermark: s.watermark,
  above: s.above,
});
const fromFile = (s: RunState): DedupStreamState => ({
  stream: s.run,
  watermark: s.watermark,
  above: s.above,
});

const POSITION = /^([a-z-]+)=(\d+):(\d+)$/;

/**
 * Persists a {@linkcode DedupWindow} in a directory: a snapshot (written atomically with
 * fsync) plus a journal with one commit line per stored batch:
 * `<run> <seq> records=<file index>:<size> dead-letter=<file index>:<size>`. The line is
 * written after the batch's data, so it is the batch's commit point: on open, the last
 * complete line (a line without its newline is ignored) says where committed data ends,
 * and the sink cuts anything after it ({@linkcode rollBack}). A batch is therefore either
 * stored and known to dedup, or not stored at all: a re-send after a crash is stored once.
 *
 * @example
 * ```ts
 * const store = DedupStore.open("/var/lib/sink");
 * store.committed;            // positions to roll the files back to
 * store.record("run-a", 0, { records: { index: 1, size: 900 } }); // after the data
 * store.compact();            // on rotation: snapshot + empty journal
 * ```
 */
export class DedupStore {
  readonly index: DedupWindow;
  /** Positions at the last commit (empty on a new directory: nothing committed). */
  committed: Committed;
  /** True when the directory had no dedup state at all (no snapshot, no journal). */
  readonly fresh: boolean;
  #dir: string;
  #journal: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(dir: string, index: DedupWindow, committed: Committed, fresh: boolean) {
    this.#dir = dir;
    this.fresh = fresh;
    this.index = index;
    this.committed = committed;
    this.#journal = Deno.openSync(`${dir}/${JOURNAL}`, { append: true, create: true });
  }

  /** Loads (or starts) the store in `dir`. */
  static open(dir: string, options: DedupWindowOptions = {}): DedupStore {
    let snapshot: Snapshot = { runs: [], committed: {} };
    let found = 0;
    try {
      const raw = JSON.parse(Deno.readTextFileSync(`${dir}/${SNAPSHOT}`));
      snapshot = Array.isArray(raw) ? { runs: raw, committed: {} } : raw;
      found++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const index = DedupWindow.restore(snapshot.runs.map(fromFile), options);
    let committed = snapshot.committed;
    try {
      const lines = Deno.readTextFileSync(`${dir}/${JOURNAL}`).split("\n");
      found++;
      lines.pop(); // "" after the last newline, or a line cut short by a crash
      for (const line of lines) {
        const [run, seq, ...positions] = line.split(" ");
        if (!run || !/^\d+$/.test(seq ?? "")) continue;
        const at: Committed = {};
        for (const p of positions) {
          const m = POSITION.exec(p);
          if (m) at[m[1]] = { index: Number(m[2]), size: Number(m[3]) };
        }
        index.add(run, Number(seq));
        committed = { ...committed, ...at };
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return new DedupStore(dir, index, committed, found === 0);
  }

  /** Commits a batch whose data is written: index + journal line with the file positions. */
  record(run: string, seq: number, positions: Committed = {}): void {
    this.index.add(run, seq);
    this.committed = { ...this.committed, ...positions };
    const at = Object.entries(positions).map(([k, p]) => ` ${k}=${p.index}:${p.size}`).join("");
    const bytes = this.#encoder.encode(`${run} ${seq}${at}\n`);
    let off = 0;
    while (off < bytes.length) off += this.#journal.writeSync(bytes.subarray(off));
  }

  /** Writes the snapshot atomically (tmp + fsync + rename) and empties the journal. */
  compact(): void {
    const tmp = `${this.#dir}/${SNAPSHOT}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const snapshot: Snapshot = {
        runs: this.index.snapshot().map(toFile),
        committed: this.committed,
      };
      const bytes = this.#encoder.encode(JSON.stringify(snapshot));
      let off = 0;
      while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, `${this.#dir}/${SNAPSHOT}`);
    this.#journal.truncateSync(0);
    this.#journal.syncSync();
  }

  /** fsyncs the journal. */
  sync(): void {
    this.#journal.syncSync();
  }

  /** Compacts and closes. */
  close(): void {
    this.compact();
    this.#journal.close();
  }
}
