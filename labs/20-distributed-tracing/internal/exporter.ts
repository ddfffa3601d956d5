/**
 * The bounded batching span exporter (sans-IO). The request path only ever calls
 * {@link BatchExporter.add}, which appends to a bounded array and returns at once: when the
 * queue is full the span is dropped and counted, never waited for. {@link BatchExporter.flush}
 * (on a timer, or soon after a batch fills) encodes batches and hands them to the port's
 * `trySend`, which must not block either: `false` means "not now" (the socket's queue is full,
 * e.g. the collector is stalled) and the batch waits for the next flush while new spans keep
 * being dropped at the bound.
 *
 * @module
 */

import { encodeBatch, type SpanRecord } from "./span.ts";

/** Where batches go: a non-blocking send (`false` = refused for now). */
export interface ExporterPort {
  trySend(frame: Uint8Array): boolean;
}

/** Exporter limits. */
export interface BatchExporterOptions {
  /** The service name each batch carries. */
  service: string;
  /** Spans held at most (queued plus the encoded batch waiting to go). */
  maxQueue: number;
  /** Spans per batch at most. */
  batchSize: number;
}

/** Exporter counters. */
export interface ExporterStats {
  /** Spans waiting (not yet handed to the socket). */
  queued: number;
  /** Spans handed to the socket. */
  exported: number;
  /** Spans dropped because the queue was full. */
  dropped: number;
  /** Batches handed to the socket. */
  batches: number;
  /** Times the socket refused a batch (backpressure). */
  refused: number;
}

/** A bounded queue of finished spans, sent in batches without ever blocking. */
export class BatchExporter {
  readonly #port: ExporterPort;
  readonly #options: BatchExporterOptions;
  #queue: SpanRecord[] = [];
  #pending: { frame: Uint8Array; count: number } | null = null;
  #exported = 0;
  #dropped = 0;
  #batches = 0;
  #refused = 0;

  /**
   * @example
   * ```ts
   * import { BatchExporter } from "./exporter.ts";
   * const sent: Uint8Array[] = [];
   * const exporter = new BatchExporter({ trySend: (f) => (sent.push(f), true) }, {
   *   service: "gateway",
   *   maxQueue: 1000,
   *   batchSize: 100,
   * });
   * exporter.flush(); // 0 spans: nothing queued
   * ```
   */
  constructor(port: ExporterPort, options: BatchExporterOptions) {
    if (options.maxQueue < 1 || options.batchSize < 1) {
      throw new RangeError("maxQueue and batchSize must be at least 1");
    }
    this.#port = port;
    this.#options = options;
  }

  /** Queues a finished span; false (and counted) when the queue is full. O(1), never waits. */
  add(span: SpanRecord): boolean {
    if (this.held >= this.#options.maxQueue) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(span);
    return true;
  }

  /** Spans held: queued plus those in an encoded batch the socket refused. */
  get held(): number {
    return this.#queue.length + (this.#pending?.count ?? 0);
  }

  /** Whether a full batch is waiting (the role schedules a flush soon). */
  get batchReady(): boolean {
    return this.#pending === null && this.#queue.length >= this.#options.batchSize;
  }

  /**
   * Hands as many batches to the port as it takes; returns the spans sent. A refused batch
   * stays encoded and is offered again first next time (order kept).
   */
  flush(): number {
    let sent = 0;
    for (;;) {
      if (this.#pending === null) {
        if (this.#queue.length === 0) return sent;
        const spans = this.#queue.length <= this.#options.batchSize
          ? this.#queue
          : this.#queue.slice(0, this.#options.batchSize);
        this.#queue = spans === this.#queue ? [] : this.#queue.slice(spans.length);
        this.#pending = {
          frame: encodeBatch(this.#options.service, this.#dropped, spans),
          count: spans.length,
        };
      }
      if (!this.#port.trySend(this.#pending.frame)) {
        this.#refused++;
        return sent;
      }
      sent += this.#pending.count;
      this.#exported += this.#pending.count;
      this.#batches++;
      this.#pending = null;
    }
  }

  /** Gives up on whatever is still held (at shutdown): counted as dropped; returns how many. */
  abandon(): number {
    const lost = this.held;
    this.#dropped += lost;
    this.#queue = [];
    this.#pending = null;
    return lost;
  }

  /** The counters. */
  stats(): ExporterStats {
    return {
      queued: this.held,
      exported: this.#exported,
      dropped: this.#dropped,
      batches: this.#batches,
      refused: this.#refused,
    };
  }
}
