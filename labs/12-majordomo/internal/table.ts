/**
 * The broker's live table as text: one row per service (workers, ready, busy, queue depth,
 * counters) and a totals line.
 *
 * @module
 */

import type { BrokerStats, ServiceRow } from "./broker.ts";

const COLUMNS: [keyof ServiceRow, string][] = [
  ["service", "SERVICE"],
  ["workers", "WORKERS"],
  ["ready", "READY"],
  ["busy", "BUSY"],
  ["queued", "QUEUED"],
  ["requests", "REQUESTS"],
  ["replies", "REPLIES"],
  ["refused", "REFUSED"],
  ["expired", "EXPIRED"],
];

/**
 * Renders the table (no trailing newline).
 *
 * @example
 * ```ts
 * import { renderTable } from "./table.ts";
 * renderTable([], {
 *   services: 0, workers: 0, queued: 0, busy: 0, requests: 0, replies: 0, mmi: 0, refused: 0,
 *   requestsExpired: 0, workersJoined: 0, workersExpired: 0, workersLeft: 0, disconnectsSent: 0,
 *   badMessages: 0,
 * });
 * ```
 */
export function renderTable(rows: ServiceRow[], stats: BrokerStats): string {
  const cells = [
    COLUMNS.map(([, title]) => title),
    ...rows.map((row) => COLUMNS.map(([key]) => String(row[key]))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const lines = cells.map((r) =>
    r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
  );
  lines.push(
    `services ${stats.services}  workers ${stats.workers} (busy ${stats.busy})  queued ${stats.queued}  ` +
      `replies ${stats.replies}  mmi ${stats.mmi}  refused ${stats.refused}  expired ${stats.requestsExpired}  ` +
      `workers expired ${stats.workersExpired}  bad ${stats.badMessages}`,
  );
  return lines.join("\n");
}
