/**
 * The sink's record of stored batches, so a re-sent batch is acknowledged again but not
 * stored twice. Batch ids are (collector run id, sequence number); sequence numbers of a
 * run start at 0 and increase by one, and the collector never has more than its window of
 * batches in flight. So per run a watermark (every seq <= it is stored) plus a small set
 * of stored seqs above it describe everything: memory is O(runs × window).
 *
 * @module
 */

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

/**
 * Persists a {@linkcode DedupIndex} in a directory: a snapshot (written atomically with
 * fsync) plus a journal of batch ids appended after each batch is written. Loading
 * replays the journal over the snapshot, so the sink's dedup survives its own restart.
 *
 * @example
 * ```ts
 * const store = DedupStore.open("/var/lib/sink");
 * store.record("run-a", 0);   // after the batch's records are written
 * store.compact();            // on rotation: snapshot + empty journal
 * ```
 */
export class DedupStore {
  readonly index: DedupIndex;
  #dir: string;
  #journal: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(dir: string, index: DedupIndex) {
    this.#dir = dir;
    this.index = index;
    this.#journal = Deno.openSync(`${dir}/${JOURNAL}`, { append: true, create: true });
  }

  /** Loads (or starts) the store in `dir`. */
  static open(dir: string, options: DedupOptions = {}): DedupStore {
    let states: RunState[] = [];
    try {
      states = JSON.parse(Deno.readTextFileSync(`${dir}/${SNAPSHOT}`));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const index = DedupIndex.restore(states, options);
    try {
      for (const line of Deno.readTextFileSync(`${dir}/${JOURNAL}`).split("\n")) {
        const [run, seq] = line.split(" ");
        if (run && /^\d+$/.test(seq ?? "")) index.add(run, Number(seq));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return new DedupStore(dir, index);
  }

  /** Marks a batch stored (index + journal). */
  record(run: string, seq: number): void {
    this.index.add(run, seq);
    const bytes = this.#encoder.encode(`${run} ${seq}\n`);
    let off = 0;
    while (off < bytes.length) off += this.#journal.writeSync(bytes.subarray(off));
  }

  /** Writes the snapshot atomically (tmp + fsync + rename) and empties the journal. */
  compact(): void {
    const tmp = `${this.#dir}/${SNAPSHOT}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const bytes = this.#encoder.encode(JSON.stringify(this.index.snapshot()));
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
