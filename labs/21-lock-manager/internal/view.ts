/**
 * The live view of lock_server: one row per lock in memory (held, waited for or in
 * lock-delay) with its state, last fencing token, holders with their remaining lease, and
 * the FIFO queue.
 *
 * @module
 */
import type { LockTableStats } from "./lock_table.ts";
import type { LockInfo } from "./protocol.ts";

const short = (session: string) => session.length > 10 ? session.slice(0, 10) : session;

/**
 * Renders the lock table as text lines.
 *
 * @example
 * ```ts
 * import { renderLocks } from "./view.ts";
 * const lines = renderLocks([], "sessions 0");
 * console.log(lines.join("\n"));
 * ```
 */
export function renderLocks(rows: LockInfo[], header: string, maxRows = 40): string[] {
  const lines = [header];
  const table = [["LOCK", "STATE", "TOKEN", "HOLDERS (session:token lease)", "WAITERS (FIFO)"]];
  for (const row of rows.slice(0, maxRows)) {
    const holders = row.holders.map((h) =>
      `${short(h.session)}:${h.token}${h.mode === "shared" ? "s" : ""} ${h.lease_ms}ms`
    );
    const waiters = row.waiters.slice(0, 5).map((w) =>
      `${short(w.session)}${w.mode === "shared" ? "(s)" : ""}`
    );
    if (row.waiters.length > 5) waiters.push(`+${row.waiters.length - 5}`);
    table.push([
      row.lock,
      row.state === "delayed" ? `delayed ${row.delay_ms}ms` : row.state,
      String(row.token),
      holders.join(", ") || "-",
      waiters.join(" ") || "-",
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) lines.push(r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  if (rows.length > maxRows) lines.push(`... ${rows.length - maxRows} more`);
  return lines;
}

/**
 * The header line of the server's view.
 *
 * @example
 * ```ts
 * import { statsHeader } from "./view.ts";
 * statsHeader({ sessions: 1, locks: 1, waiters: 0, grants: 3, releases: 2, expired_sessions: 0,
 *   wait_timeouts: 0, refused: 0, send_failed: 0 });
 * ```
 */
export function statsHeader(stats: LockTableStats): string {
  return `locks ${stats.locks}  sessions ${stats.sessions}  waiters ${stats.waiters}  grants ${stats.grants}  releases ${stats.releases}  expired ${stats.expired_sessions}  timeouts ${stats.wait_timeouts}`;
}
