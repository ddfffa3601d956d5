/**
 * The storage writer's engine: dedup by batch id, append records and dead letters to
 * rotated NDJSON files, then acknowledge. Files are fsynced on rotation and on close.
 *
 * @module
 */
import { DedupStore } from "./dedup.ts";
import type { Ack, Parsed } from "./protocol.ts";
import { RotatingWriter } from "./rotating_writer.ts";

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
  };

  constructor(options: SinkOptions) {
    this.#now = options.now ?? (() => new Date());
    Deno.mkdirSync(options.dir, { recursive: true });
    this.#dedup = DedupStore.open(options.dir);
    const onRotate = () => {
      this.#counts.rotations++;
      this.#dedup.compact();
    };
    this.#records = new RotatingWriter({
      dir: options.dir,
      prefix: "records",
      maxBytes: options.rotateBytes,
      onRotate,
    });
    this.#dead = new RotatingWriter({
      dir: options.dir,
      prefix: "dead-letter",
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
    this.#dedup.record(p.run, p.seq);
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
