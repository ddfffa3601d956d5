/**
 * The collector's engine (transport injected): cuts input lines into numbered batches,
 * sends each only when the ack window has room (backpressure), re-sends batches whose
 * ack is overdue, and drains on shutdown. A batch is cut by lines and by bytes, so it
 * always fits the receivers' message size limit.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { RetransmitWindow } from "@lib/patterns/mod.ts";
import type { Segment } from "./checkpoint.ts";
import type { InputLine } from "./line_source.ts";
import type { Batch } from "./protocol.ts";

/** Options for {@linkcode Collector}. */
export interface CollectorOptions {
  /** This collector run's id (unique per process start). */
  run: string;
  /** Lines per batch. */
  batchSize: number;
  /** Most line bytes (UTF-8) per batch; a longer single line is cut and flagged oversize. */
  maxBatchBytes?: number;
  /** Most batches in flight. */
  window: number;
  /** First resend timeout (ms). */
  ackTimeout: number;
  /**
   * Sends one batch (resolves when handed to the transport; `signal` aborts a wait for
   * a parser with credit).
   */
  send: (batch: Batch, signal?: AbortSignal) => Promise<void>;
  /** Time source of the resend deadlines and the flush interval. */
  clock: Clock;
  /** Seq of the first new batch (a resumed run continues its numbering). Default 0. */
  firstSeq?: number;
  /**
   * Input checkpoint: told about every batch (with its lines' byte ranges) before it is
   * sent, and about every ack.
   */
  checkpoint?: {
    sent(seq: number, segments: Segment[]): void;
    acked(seq: number): void;
  };
}

/** Counters the collector logs. */
export interface CollectorStats {
  lines: number;
  batches: number;
  acked_batches: number;
  acked_lines: number;
  resent: number;
  duplicate_acks: number;
  in_flight: number;
  in_flight_lines: number;
  window: number;
  buffered: number;
  buffered_bytes: number;
}

/** UTF-8 length of `text`, without encoding it. */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

/**
 * @example
 * ```ts
 * const c = new Collector({ run: "r1", batchSize: 500, window: 16, ackTimeout: 5000, send });
 * await c.push({ line: "..." });   // waits while the window is full
 * c.onAck({ run: "r1", seq: 0, stored: 499, dead: 1, duplicate: false });
 * await c.drain(signal);           // flush + wait for every ack
 * ```
 */
export class Collector {
  readonly run: string;
  readonly window: RetransmitWindow<Batch>;
  #options: CollectorOptions;
  #lines: string[] = [];
  #oversize: [number, number][] = [];
  #invalid: number[] = [];
  #bytes = 0;
  #maxBytes: number;
  #segments: Segment[] = [];
  #seq: number;
  #clock: Clock;
  /** When the oldest buffered line arrived. */
  #firstAt = 0;
  #stats = { lines: 0, batches: 0, acked_batches: 0, acked_lines: 0, resent: 0, duplicate_acks: 0 };

  constructor(options: CollectorOptions) {
    this.#options = options;
    this.run = options.run;
    this.#seq = options.firstSeq ?? 0;
    this.#clock = options.clock;
    this.#maxBytes = options.maxBatchBytes ?? Infinity;
    this.window = new RetransmitWindow<Batch>({
      capacity: options.window,
      ackTimeoutMs: options.ackTimeout,
      clock: options.clock,
    });
  }

  /** Adds a line; sends the batch when it is full (waiting for window room). */
  async push(input: InputLine, signal?: AbortSignal): Promise<void> {
    let line = input.line;
    let bytes = utf8Length(line);
    let oversize = input.oversize;
    if (bytes > this.#maxBytes) {
      // Alone over the batch cap: cut and flagged, so the parser dead-letters it.
      oversize ??= bytes;
      line = line.slice(0, Math.floor(this.#maxBytes / 3));
      bytes = utf8Length(line);
    }
    // The line would push the batch over its byte cap: send what is there first.
    if (this.#lines.length > 0 && this.#bytes + bytes > this.#maxBytes) await this.flush(signal);
    if (this.#lines.length === 0) this.#firstAt = this.#clock.now();
    if (oversize !== undefined) this.#oversize.push([this.#lines.length, oversize]);
    else if (input.invalidUtf8) this.#invalid.push(this.#lines.length);
    this.#lines.push(line);
    this.#bytes += bytes;
    this.#stats.lines++;
    const at = input.at;
    if (at) {
      const last = this.#segments.at(-1);
      if (last && last.path === at.path && last.ino === at.ino && last.end === at.start) {
        last.end = at.end;
      } else {
        this.#segments.push({ ...at });
      }
    }
    if (this.#lines.length >= this.#options.batchSize) await this.flush(signal);
  }

  /** Lines waiting for the current batch to fill. */
  get buffered(): number {
    return this.#lines.length;
  }

  /**
   * Sends the partial batch, if any, once the window has room. When `signal` aborts
   * while the window is still full, the lines stay buffered (a later flush sends them).
   */
  async flush(signal?: AbortSignal): Promise<void> {
    if (this.#lines.length === 0) return;
    await this.window.waitForSpace(signal);
    // Another flush may have taken the lines meanwhile.
    if (this.window.full || this.#lines.length === 0) return;
    const batch: Batch = { run: this.run, seq: this.#seq++, lines: this.#lines };
    if (this.#oversize.length) batch.oversize = this.#oversize;
    if (this.#invalid.length) batch.invalid_utf8 = this.#invalid;
    const segments = this.#segments;
    this.#lines = [];
    this.#oversize = [];
    this.#invalid = [];
    this.#bytes = 0;
    this.#segments = [];
    this.window.add(batch.seq, batch, batch.lines.length);
    this.#stats.batches++;
    this.#options.checkpoint?.sent(batch.seq, segments);
    await this.#options.send(batch, signal);
  }

  /**
   * Sends batch `seq` again after a restart, with the lines re-read from its checkpointed
   * byte ranges (so it has the same id and the same lines as before). Waits for window
   * room; returns false when `signal` aborted first.
   */
  async replay(
    seq: number,
    inputs: InputLine[],
    segments: Segment[],
    signal?: AbortSignal,
  ): Promise<boolean> {
    await this.window.waitForSpace(signal);
    if (this.window.full) return false;
    const batch: Batch = { run: this.run, seq, lines: inputs.map((i) => i.line) };
    const oversize = inputs.flatMap((i, n) =>
      i.oversize === undefined ? [] : [[n, i.oversize] as [number, number]]
    );
    if (oversize.length) batch.oversize = oversize;
    const invalid = inputs.flatMap((i, n) => i.invalidUtf8 && i.oversize === undefined ? [n] : []);
    if (invalid.length) batch.invalid_utf8 = invalid;
    this.#seq = Math.max(this.#seq, seq + 1);
    this.window.add(seq, batch, inputs.length);
    this.#stats.batches++;
    this.#stats.lines += inputs.length;
    this.#options.checkpoint?.sent(seq, segments);
    await this.#options.send(batch, signal);
    return true;
  }

  /**
   * Sends the partial batch when its oldest line waited `maxAgeMs` (slow input, follow
   * mode, stdin): a quiet source must not hold lines back.
   */
  async flushStale(maxAgeMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#lines.length > 0 && this.#clock.now() - this.#firstAt >= maxAgeMs) {
      await this.flush(signal);
    }
  }

  /** Handles an ack; returns false for an ack of another run or of a batch not in flight. */
  onAck(ack: { run: string; seq: number }): boolean {
    const entry = ack.run === this.run ? this.window.ack(ack.seq) : undefined;
    if (!entry) {
      this.#stats.duplicate_acks++;
      return false;
    }
    this.#stats.acked_batches++;
    this.#stats.acked_lines += entry.weight;
    this.#options.checkpoint?.acked(ack.seq);
    return true;
  }

  /** Re-sends one batch (counted in `resent`). */
  async resend(batch: Batch, signal?: AbortSignal): Promise<void> {
    this.#stats.resent++;
    await this.#options.send(batch, signal);
  }

  /** Re-sends every overdue batch; returns how many. */
  async resendDue(signal?: AbortSignal): Promise<number> {
    const due = this.window.due();
    for (const entry of due) await this.resend(entry.payload, signal);
    return due.length;
  }

  /** Whether nothing is buffered or in flight. */
  get idle(): boolean {
    return this.#lines.length === 0 && this.window.size === 0;
  }

  /**
   * Flushes the partial batch and waits until every batch is acknowledged or `signal`
   * aborts (someone else must keep re-sending overdue batches meanwhile). Returns
   * whether it drained.
   */
  async drain(signal: AbortSignal): Promise<boolean> {
    while (!this.idle && !signal.aborted) {
      await this.flush(signal);
      await this.window.waitForEmpty(signal);
    }
    return this.idle;
  }

  /** Current counters and gauges (`buffered`: read lines not yet in a batch). */
  stats(): CollectorStats {
    return {
      ...this.#stats,
      in_flight: this.window.size,
      in_flight_lines: this.window.weight,
      window: this.window.capacity,
      buffered: this.#lines.length,
      buffered_bytes: this.#bytes,
    };
  }
}
