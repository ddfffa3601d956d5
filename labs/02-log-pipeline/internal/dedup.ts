/**
 * The sink's record of stored batches, so a re-sent batch is acknowledged again but not
 * stored twice. Batch ids are (collector run id, sequence number); sequence numbers of a
 * run start at 0 and increase by one, and the collector never has more than its window of
 * batches in flight. So per run a watermark (every seq <= it is stored) plus a small set
 * of stored seqs above it describe everything: memory is O(runs × window).
 *
 * @module
 */
import type { FilePosition } from "./rotating_writer.ts";

/** Per-run state in a snapshot. */
export interface RunState {
  run: string;
  watermark: number;
  above: number[];
}

/** Options for {@linkcode DedupIndex}. */
export interface DedupOptions {
  /** Most runs remembered (least recently used are forgotten first). Default 256. */
  maxRuns?: number;
  /** Most out-of-order seqs kept per run above its watermark. Default 65536. */
  maxAbove?: number;
}

interface Run {
  watermark: number;
  above: Set<number>;
}

/**
 * Watermark + set dedup index.
 *
 * @example
 * ```ts
 * const d = new DedupIndex();
 * d.add("run-a", 0);
 * d.has("run-a", 0); // true
 * d.has("run-a", 1); // false
 * ```
 */
export class DedupIndex {
  #runs = new Map<string, Run>();
  #maxRuns: number;
  #maxAbove: number;

  constructor(options: DedupOptions = {}) {
    this.#maxRuns = options.maxRuns ?? 256;
    this.#maxAbove = options.maxAbove ?? 65_536;
  }

  /** Whether batch (run, seq) was stored already. */
  has(run: string, seq: number): boolean {
    const r = this.#runs.get(run);
    return r !== undefined && (seq <= r.watermark || r.above.has(seq));
  }

  /** Records batch (run, seq) as stored. */
  add(run: string, seq: number): void {
    let r = this.#runs.get(run);
    if (r) {
      this.#runs.delete(run); // re-insert: most recently used last
    } else {
      r = { watermark: -1, above: new Set() };
      if (this.#runs.size >= this.#maxRuns) this.#runs.delete(this.#runs.keys().next().value!);
    }
    this.#runs.set(run, r);
    if (seq <= r.watermark) return;
    if (seq === r.watermark + 1) {
      r.watermark = seq;
      while (r.above.delete(r.watermark + 1)) r.watermark++;
    } else {
      r.above.add(seq);
      if (r.above.size > this.#maxAbove) r.above.delete(Math.min(...r.above));
    }
  }

  /** Entries held (runs + out-of-order seqs): the memory gauge. */
  get size(): number {
    let n = 0;
    for (const r of this.#runs.values()) n += 1 + r.above.size;
    return n;
  }

  /** A JSON-able copy of the state. */
  snapshot(): RunState[] {
    return [...this.#runs].map(([run, r]) => ({
      run,
      watermark: r.watermark,
      above: [...r.above],
    }));
  }

  /** Rebuilds an index from {@linkcode snapshot} output. */
  static restore(states: RunState[], options: DedupOptions = {}): DedupIndex {
    const index = new DedupIndex(options);
    for (const s of states) {
      index.#runs.set(s.run, { watermark: s.watermark, above: new Set(s.above) });
    }
    return index;
  }
}

const SNAPSHOT = "dedup.snapshot.json";
const JOURNAL = "dedup.journal";

/** Where each file series ended at the last commit (by series prefix). */
export type Committed = Record<string, FilePosition>;

interface Snapshot {
  runs: RunState[];
  committed: Committed;
}

const POSITION = /^([a-z-]+)=(\d+):(\d+)$/;

/**
 * Persists a {@linkcode DedupIndex} in a directory: a snapshot (written atomically with
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
  readonly index: DedupIndex;
  /** Positions at the last commit (empty on a new directory: nothing committed). */
  committed: Committed;
  /** True when the directory had no dedup state at all (no snapshot, no journal). */
  readonly fresh: boolean;
  #dir: string;
  #journal: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(dir: string, index: DedupIndex, committed: Committed, fresh: boolean) {
    this.#dir = dir;
    this.fresh = fresh;
    this.index = index;
    this.committed = committed;
    this.#journal = Deno.openSync(`${dir}/${JOURNAL}`, { append: true, create: true });
  }

  /** Loads (or starts) the store in `dir`. */
  static open(dir: string, options: DedupOptions = {}): DedupStore {
    let snapshot: Snapshot = { runs: [], committed: {} };
    let found = 0;
    try {
      const raw = JSON.parse(Deno.readTextFileSync(`${dir}/${SNAPSHOT}`));
      snapshot = Array.isArray(raw) ? { runs: raw, committed: {} } : raw;
      found++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const index = DedupIndex.restore(snapshot.runs, options);
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
      const snapshot: Snapshot = { runs: this.index.snapshot(), committed: this.committed };
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
