/**
 * The storage writer's engine: dedup by batch id, append records and dead letters to
 * rotated NDJSON files, then acknowledge. Files are fsynced on rotation and on close.
 *
 * @module
 */
import { DedupStore } from "./dedup_store.ts";
import type { Ack, Parsed } from "./protocol.ts";
import { rollBack, RotatingWriter } from "./rotating_writer.ts";

const RECORDS = "records";
const DEAD = "dead-letter";

/** Options for {@linkcode Sink}. */
export interface SinkOptions {
  /** Output directory (records, dead letters, dedup state). */
  dir: string;
  /** Rotate files at this size (bytes). */
  rotateBytes: number;
  /** Clock for dead-letter timestamps. */
  now?: () => Date;
}

/** Counts the sink reports. */
export interface SinkCounts {
  /** Lines in the (unique) batches received. */
  received: number;
  /** Lines parsed into records. */
  parsed: number;
  /** Lines written to the dead-letter file. */
  dead_lettered: number;
  /** Records written to the record files. */
  stored: number;
  /** Unique batches stored. */
  batches: number;
  /** Re-sent batches seen again (acknowledged, not stored). */
  duplicates: number;
  rotations: number;
  /** Bytes of uncommitted data (a batch written before a crash, never acked) cut on start. */
  rolled_back_bytes: number;
}

/**
 * @example
 * ```ts
 * const sink = new Sink({ dir: "/tmp/out", rotateBytes: 64 << 20 });
 * const ack = sink.store(parsed); // then send encodeAck(ack)
 * sink.close();
 * ```
 */
export class Sink {
  #records: RotatingWriter;
  #dead: RotatingWriter;
  #dedup: DedupStore;
  #now: () => Date;
  #counts: SinkCounts = {
    received: 0,
    parsed: 0,
    dead_lettered: 0,
    stored: 0,
    batches: 0,
    duplicates: 0,
    rotations: 0,
    rolled_back_bytes: 0,
  };

  constructor(options: SinkOptions) {
    this.#now = options.now ?? (() => new Date());
    Deno.mkdirSync(options.dir, { recursive: true });
    this.#dedup = DedupStore.open(options.dir);
    // A batch is committed by its journal line, written after its data. Data after the
    // last commit belongs to a batch the sink never acknowledged: cut it, the re-send
    // stores it again (once).
    // (A directory without any dedup state is left as it is.)
    for (const prefix of this.#dedup.fresh ? [] : [RECORDS, DEAD]) {
      const at = this.#dedup.committed[prefix] ?? { index: 0, size: 0 };
      this.#counts.rolled_back_bytes += rollBack(options.dir, prefix, at);
    }
    const onRotate = () => {
      this.#counts.rotations++;
      this.#dedup.compact();
    };
    this.#records = new RotatingWriter({
      dir: options.dir,
      prefix: RECORDS,
      maxBytes: options.rotateBytes,
      onRotate,
    });
    this.#dead = new RotatingWriter({
      dir: options.dir,
      prefix: DEAD,
      maxBytes: options.rotateBytes,
      onRotate,
    });
  }

  /** Stores a parsed batch unless it was stored before; returns the ack to send. */
  store(p: Parsed): Ack {
    if (this.#dedup.index.has(p.run, p.seq)) {
      this.#counts.duplicates++;
      return { run: p.run, seq: p.seq, stored: p.count, dead: p.dead.length, duplicate: true };
    }
    this.#records.write(p.records);
    if (p.dead.length) {
      const ts = this.#now().toISOString();
      this.#dead.write(
        p.dead.map((d) =>
          JSON.stringify({
            "@timestamp": ts,
            event: { id: `${p.run}-${p.seq}-${d.index}`, kind: "pipeline_error" },
            error: { message: d.reason },
            // The line as the parser saw it, after free-text scrubbing.
            log: { original: d.line },
          }) + "\n"
        ).join(""),
      );
    }
    this.#dedup.record(p.run, p.seq, {
      [RECORDS]: this.#records.position,
      [DEAD]: this.#dead.position,
    });
    const c = this.#counts;
    c.received += p.lines;
    c.parsed += p.count;
    c.stored += p.count;
    c.dead_lettered += p.dead.length;
    c.batches++;
    return { run: p.run, seq: p.seq, stored: p.count, dead: p.dead.length, duplicate: false };
  }

  /** Current counts. */
  counts(): SinkCounts {
    return { ...this.#counts };
  }

  /** Entries in the dedup index (memory gauge). */
  get dedupSize(): number {
    return this.#dedup.index.size;
  }

  /** fsyncs both files and the dedup journal. */
  sync(): void {
    this.#records.sync();
    this.#dead.sync();
    this.#dedup.sync();
  }

  /** fsyncs and closes everything (dedup state compacted into its snapshot). */
  close(): void {
    this.#records.close();
    this.#dead.close();
    this.#dedup.close();
  }
}
