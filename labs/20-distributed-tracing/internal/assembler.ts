/**
 * The collector's trace assembler (sans-IO). Spans arrive in any order, from any service,
 * in batches; they are grouped by trace id. There is no "trace finished" message in
 * distributed tracing, so a trace is complete when no span of it has arrived for
 * `timeoutMs`; then its root is found, its critical path computed and it moves to a bounded
 * list of completed traces. Memory is bounded: at most `maxTraces` open traces (the one idle
 * longest is completed early, as `evicted`), `maxSpansPerTrace` spans per trace (more are
 * dropped and counted) and `keepCompleted` completed traces. A span of a trace completed
 * already is `late`: it joins the kept trace (not exported again).
 *
 * @module
 */

import { criticalPath, type CriticalSegment } from "./critical_path.ts";
import { type SpanRecord, StatusCode } from "./span.ts";

/** Assembler limits. */
export interface AssemblerOptions {
  /** A trace with no new span for this long is complete. */
  timeoutMs: number;
  /** Open traces at most. */
  maxTraces: number;
  /** Spans per trace at most. */
  maxSpansPerTrace: number;
  /** Completed traces kept for the view. */
  keepCompleted: number;
}

/** Why a trace was completed. */
export type CompletionReason = "timeout" | "evicted" | "stopped";

/** What the view lists about a trace. */
export interface TraceSummary {
  traceId: string;
  rootSpanId: string;
  rootName: string;
  rootService: string;
  startMs: number;
  durationMs: number;
  spanCount: number;
  services: string[];
  /** Spans with status ERROR. */
  errorCount: number;
  /** The root span's status is ERROR. */
  error: boolean;
  /** Spans, other than the root, whose parent never arrived. */
  orphans: number;
  reason: CompletionReason;
  /** Spans that arrived after completion. */
  late: number;
}

/** A completed trace: its spans (in start order), summary and critical path. */
export interface CompletedTrace {
  summary: TraceSummary;
  spans: SpanRecord[];
  criticalPath: CriticalSegment[];
}

/** What {@link TraceAssembler.add} did with a span. */
export type AddResult = "added" | "duplicate" | "late" | "dropped";

/** Assembler counters. */
export interface AssemblerStats {
  openTraces: number;
  openSpans: number;
  completed: number;
  evicted: number;
  spans: number;
  duplicates: number;
  late: number;
  droppedSpans: number;
}

interface OpenTrace {
  traceId: string;
  spans: Map<string, SpanRecord>;
  lastMs: number;
}

/** Groups spans into traces and completes them on idle timeout (see the module doc). */
export class TraceAssembler {
  readonly #options: AssemblerOptions;
  // Ordered by last activity: a trace is re-inserted when a span arrives.
  readonly #open = new Map<string, OpenTrace>();
  readonly #completed = new Map<string, CompletedTrace>(); // insertion-ordered, bounded
  #openSpans = 0;
  #stats = { completed: 0, evicted: 0, spans: 0, duplicates: 0, late: 0, droppedSpans: 0 };

  /**
   * @example
   * ```ts
   * import { TraceAssembler } from "./assembler.ts";
   * const assembler = new TraceAssembler({
   *   timeoutMs: 2000,
   *   maxTraces: 10_000,
   *   maxSpansPerTrace: 1000,
   *   keepCompleted: 200,
   * });
   * assembler.tick(0); // [] (nothing open)
   * ```
   */
  constructor(options: AssemblerOptions) {
    this.#options = options;
  }

  /**
   * Takes one span at time `nowMs` (monotonic). May complete the longest-idle trace early to
   * stay within `maxTraces`: such traces are returned.
   */
  add(span: SpanRecord, nowMs: number): { result: AddResult; evicted: CompletedTrace[] } {
    const evicted: CompletedTrace[] = [];
    const done = this.#completed.get(span.traceId);
    if (done) {
      if (done.spans.some((s) => s.spanId === span.spanId)) {
        this.#stats.duplicates++;
        return { result: "duplicate", evicted };
      }
      this.#stats.late++;
      if (done.spans.length >= this.#options.maxSpansPerTrace) {
        this.#stats.droppedSpans++;
        return { result: "dropped", evicted };
      }
      const again = finish(
        span.traceId,
        [...done.spans, span],
        done.summary.reason,
        done.summary.late + 1,
      );
      this.#completed.set(span.traceId, again); // an existing key keeps its place
      return { result: "late", evicted };
    }
    let trace = this.#open.get(span.traceId);
    if (trace) {
      this.#open.delete(span.traceId);
    } else {
      while (this.#open.size >= this.#options.maxTraces) {
        const oldest = this.#open.values().next().value!;
        this.#open.delete(oldest.traceId);
        this.#stats.evicted++;
        evicted.push(this.#complete(oldest, "evicted"));
      }
      trace = { traceId: span.traceId, spans: new Map(), lastMs: nowMs };
    }
    trace.lastMs = nowMs;
    this.#open.set(span.traceId, trace);
    if (trace.spans.has(span.spanId)) {
      this.#stats.duplicates++;
      return { result: "duplicate", evicted };
    }
    if (trace.spans.size >= this.#options.maxSpansPerTrace) {
      this.#stats.droppedSpans++;
      return { result: "dropped", evicted };
    }
    trace.spans.set(span.spanId, span);
    this.#openSpans++;
    this.#stats.spans++;
    return { result: "added", evicted };
  }

  /** Completes the traces idle for `timeoutMs` at `nowMs`; returns them (oldest first). */
  tick(nowMs: number): CompletedTrace[] {
    const out: CompletedTrace[] = [];
    for (const trace of this.#open.values()) {
      if (nowMs - trace.lastMs < this.#options.timeoutMs) break; // ordered by activity
      this.#open.delete(trace.traceId);
      out.push(this.#complete(trace, "timeout"));
    }
    return out;
  }

  /** Completes every open trace (at shutdown). */
  completeAll(): CompletedTrace[] {
    const out = [...this.#open.values()].map((t) => this.#complete(t, "stopped"));
    this.#open.clear();
    return out;
  }

  /** Completed traces, newest first. */
  recent(): CompletedTrace[] {
    return [...this.#completed.values()].reverse();
  }

  /** One completed trace. */
  get(traceId: string): CompletedTrace | undefined {
    return this.#completed.get(traceId);
  }

  /** The counters. */
  stats(): AssemblerStats {
    return { openTraces: this.#open.size, openSpans: this.#openSpans, ...this.#stats };
  }

  #complete(trace: OpenTrace, reason: CompletionReason): CompletedTrace {
    this.#openSpans -= trace.spans.size;
    this.#stats.completed++;
    const done = finish(trace.traceId, [...trace.spans.values()], reason, 0);
    this.#completed.delete(trace.traceId);
    this.#completed.set(trace.traceId, done);
    while (this.#completed.size > this.#options.keepCompleted) {
      this.#completed.delete(this.#completed.keys().next().value!);
    }
    return done;
  }
}

/**
 * Finds the root (a span whose parent is not in the trace: the earliest, then the longest),
 * summarizes and computes the critical path.
 */
export function finish(
  traceId: string,
  spans: SpanRecord[],
  reason: CompletionReason,
  late: number,
): CompletedTrace {
  spans.sort((a, b) => a.startMs - b.startMs || b.endMs - a.endMs);
  const ids = new Set(spans.map((s) => s.spanId));
  const tops = spans.filter((s) => s.parentSpanId === "" || !ids.has(s.parentSpanId));
  const root = tops[0] ?? spans[0];
  const services = [...new Set(spans.map((s) => s.service))];
  const summary: TraceSummary = {
    traceId,
    rootSpanId: root.spanId,
    rootName: root.name,
    rootService: root.service,
    startMs: Math.min(...spans.map((s) => s.startMs)),
    durationMs: root.endMs - root.startMs,
    spanCount: spans.length,
    services,
    errorCount: spans.filter((s) => s.status.code === StatusCode.ERROR).length,
    error: root.status.code === StatusCode.ERROR,
    orphans: Math.max(0, tops.length - 1),
    reason,
    late,
  };
  return { summary, spans, criticalPath: criticalPath(spans, root.spanId) };
}
