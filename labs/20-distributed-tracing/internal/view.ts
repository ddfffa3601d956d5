/**
 * The collector's live table: the most recent completed traces, one line each, with the
 * critical path spelled out.
 *
 * @module
 */

import type { AssemblerStats, CompletedTrace } from "./assembler.ts";

/** What the table shows per service: batches and spans received, spans it said it dropped. */
export interface ServiceTally {
  batches: number;
  spans: number;
  dropped: number;
}

/**
 * Renders the table as text lines.
 *
 * @example
 * ```ts
 * import { renderTable } from "./view.ts";
 * renderTable([], {
 *   openTraces: 0, openSpans: 0, completed: 0, evicted: 0, spans: 0, duplicates: 0,
 *   late: 0, droppedSpans: 0,
 * }, new Map(), 10)[0]; // "traces: 0 open, 0 completed ..."
 * ```
 */
export function renderTable(
  traces: readonly CompletedTrace[],
  stats: AssemblerStats,
  services: ReadonlyMap<string, ServiceTally>,
  rows: number,
): string[] {
  const lines = [
    `traces: ${stats.openTraces} open, ${stats.completed} completed, ${stats.evicted} evicted; ` +
    `spans: ${stats.spans} received, ${stats.late} late, ${stats.duplicates} duplicate, ` +
    `${stats.droppedSpans} over the per-trace cap`,
    "services: " +
    ([...services].map(([name, t]) =>
      `${name} ${t.spans} spans/${t.batches} batches, dropped ${t.dropped}`
    ).join("; ") || "none yet"),
    `${"trace".padEnd(16)} ${"root".padEnd(24)} ${"spans".padStart(5)} ${"ms".padStart(9)} ` +
    `${"err".padStart(3)}  critical path`,
  ];
  for (const t of traces.slice(0, rows)) {
    const s = t.summary;
    const byId = new Map(t.spans.map((sp) => [sp.spanId, sp]));
    const path: string[] = [];
    for (const seg of t.criticalPath) {
      const name = byId.get(seg.spanId)?.service ?? "?";
      if (path.at(-1) !== name) path.push(name);
    }
    lines.push(
      `${s.traceId.slice(0, 16)} ${`${s.rootService}: ${s.rootName}`.slice(0, 24).padEnd(24)} ` +
        `${String(s.spanCount).padStart(5)} ${s.durationMs.toFixed(2).padStart(9)} ` +
        `${String(s.errorCount).padStart(3)}  ${path.join(" > ")}`,
    );
  }
  return lines;
}
