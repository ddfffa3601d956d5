/**
 * The critical path of a trace: the chain of spans whose own time adds up to the root's
 * duration, found backwards from the root's end (as Jaeger's critical-path view does). At
 * each span, walk back from the end of its window: the child that finished last (clipped to
 * the window) was what the span was waiting for, so the gap after it is the span's own time,
 * the child's window is walked recursively, and the walk goes on from that child's start.
 * Children that start after the point reached were not on the path (they ran in the shadow
 * of a later one).
 *
 * @module
 */

import type { SpanRecord } from "./span.ts";

/** A stretch of time the trace spent in one span's own work (or waiting on nothing else). */
export interface CriticalSegment {
  spanId: string;
  startMs: number;
  endMs: number;
}

/**
 * The critical path, in time order, from `rootId` over the spans given (children are found
 * through `parentSpanId`). Cycles and unknown ids are tolerated (a span is walked once).
 *
 * @example
 * ```ts
 * import { criticalPath } from "./critical_path.ts";
 * import type { SpanRecord } from "./span.ts";
 * const span = (spanId: string, parentSpanId: string, startMs: number, endMs: number) =>
 *   ({ spanId, parentSpanId, startMs, endMs }) as SpanRecord;
 * criticalPath([span("a", "", 0, 10), span("b", "a", 2, 8)], "a");
 * // [{a 0-2}, {b 2-8}, {a 8-10}]
 * ```
 */
export function criticalPath(spans: readonly SpanRecord[], rootId: string): CriticalSegment[] {
  const byId = new Map<string, SpanRecord>();
  const children = new Map<string, SpanRecord[]>();
  for (const sp of spans) byId.set(sp.spanId, sp);
  for (const sp of spans) {
    if (sp.parentSpanId === "" || sp.spanId === sp.parentSpanId) continue;
    let list = children.get(sp.parentSpanId);
    if (!list) children.set(sp.parentSpanId, list = []);
    list.push(sp);
  }
  for (const list of children.values()) list.sort((a, b) => b.endMs - a.endMs);
  const root = byId.get(rootId);
  if (!root) return [];
  const out: CriticalSegment[] = [];
  const visited = new Set<string>();
  const walk = (span: SpanRecord, windowStart: number, windowEnd: number) => {
    visited.add(span.spanId);
    let cursor = windowEnd;
    for (const child of children.get(span.spanId) ?? []) {
      if (cursor <= windowStart) break;
      if (visited.has(child.spanId) || child.startMs >= cursor) continue;
      const childEnd = Math.min(child.endMs, cursor);
      const childStart = Math.max(child.startMs, windowStart);
      if (childEnd <= childStart) continue;
      if (childEnd < cursor) out.push({ spanId: span.spanId, startMs: childEnd, endMs: cursor });
      walk(child, childStart, childEnd);
      cursor = childStart;
    }
    if (cursor > windowStart) {
      out.push({ spanId: span.spanId, startMs: windowStart, endMs: cursor });
    }
  };
  walk(root, root.startMs, root.endMs);
  return out.reverse();
}

/**
 * Each span's share of the critical path in ms (spans off the path are absent).
 *
 * @example
 * ```ts
 * import { criticalTimes } from "./critical_path.ts";
 * criticalTimes([{ spanId: "a", startMs: 0, endMs: 2 }]); // Map { "a" => 2 }
 * ```
 */
export function criticalTimes(path: readonly CriticalSegment[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const seg of path) {
    times.set(seg.spanId, (times.get(seg.spanId) ?? 0) + seg.endMs - seg.startMs);
  }
  return times;
}
