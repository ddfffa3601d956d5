/**
 * The bridge's live view: a summary line and one row per WebSocket client.
 *
 * @module
 */

import type { BridgeStats, ClientRow } from "./bridge.ts";

/**
 * Lines of the live view.
 *
 * @example
 * ```ts
 * import { renderView } from "./view.ts";
 * const lines = renderView("http://127.0.0.1:5516/", {
 *   clients: 0, prefixes: 0, seq: 0, ring: 0, ring_bytes: 0, updates: 0, bad_updates: 0,
 *   fanned_out: 0, conflated: 0, skipped: 0, replayed: 0, closed_slow: 0, closed_bad: 0,
 *   closed_ping: 0,
 * }, []);
 * console.log(lines.join("\n"));
 * ```
 */
export function renderView(url: string, stats: BridgeStats, rows: ClientRow[]): string[] {
  const lines = [
    `zmq_bridge ${url}  seq ${stats.seq}  updates ${stats.updates} (bad ${stats.bad_updates})  ` +
    `ring ${stats.ring} (${kib(stats.ring_bytes)})  zmq prefixes ${stats.prefixes}`,
    `clients ${stats.clients}  sent ${stats.fanned_out}  replayed ${stats.replayed}  ` +
    `conflated ${stats.conflated} (skipped ${stats.skipped})  closed: slow ${stats.closed_slow} ` +
    `bad ${stats.closed_bad} ping ${stats.closed_ping}`,
    pad(["client", "state", "buffered", "sent", "conflated", "skipped", "age", "topics"]),
  ];
  for (const r of rows) {
    lines.push(pad([
      `#${r.id}`,
      r.state,
      kib(r.buffered),
      String(r.sent),
      String(r.conflated),
      String(r.skipped),
      `${Math.round(r.age_ms / 1000)}s`,
      r.topics.map((t) => t === "" ? '""' : t).join(",").slice(0, 60),
    ]));
  }
  if (rows.length === 0) lines.push("  (no browser connected)");
  return lines;
}

function pad(cells: string[]): string {
  const widths = [7, 11, 10, 9, 10, 9, 6];
  return cells.map((c, i) => i < widths.length ? c.padEnd(widths[i]) : c).join(" ");
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes}B` : `${(bytes / 1024).toFixed(1)}KiB`;
}
