/**
 * The receiver's live per-device view: rows built from the durable counters plus what this
 * receiver sees of each device's session, rendered as a fixed-width table (redrawn in place
 * on a terminal, printed as snapshots when piped) or as JSON lines.
 *
 * @module
 */
import type { DeviceRow } from "./reading_store.ts";

/** One row of the view. */
export interface ViewRow {
  device: string;
  /** `online` (a session with this receiver), `lost` (its session expired), `away` (stored via another receiver). */
  state: "online" | "lost" | "away";
  /** Ms since this receiver last heard the device (null: never here). */
  lastSeenMs: number | null;
  /** Age of the newest stored reading when it was stored (ms). */
  lagMs: number;
  lastSeq: number;
  stored: number;
  /** Readings the device dropped before they could be stored. */
  missing: number;
  duplicates: number;
  restarts: number;
}

/** What this receiver knows of a device's session. */
export interface SessionInfo {
  online: boolean;
  lastSeen: number;
}

/**
 * Builds the rows (sorted by device).
 *
 * @example
 * ```ts
 * import { buildRows } from "./view.ts";
 * buildRows([], new Map(), 0); // []
 * ```
 */
export function buildRows(
  devices: DeviceRow[],
  sessions: ReadonlyMap<string, SessionInfo>,
  now: number,
): ViewRow[] {
  return devices.map((d) => {
    const session = sessions.get(d.device);
    return {
      device: d.device,
      state: session ? (session.online ? "online" : "lost") : "away",
      lastSeenMs: session ? Math.max(0, Math.round(now - session.lastSeen)) : null,
      lagMs: Math.max(0, Math.round(d.lastStoredAt - d.lastTakenAt)),
      lastSeq: d.lastSeq,
      stored: d.stored,
      missing: d.missing,
      duplicates: d.duplicates,
      restarts: d.restarts,
    };
  });
}

const ms = (v: number | null) =>
  v === null ? "-" : v < 10_000 ? `${v}ms` : `${Math.round(v / 1000)}s`;

/**
 * The table as lines (a header, one line per device, at most `maxRows` devices).
 *
 * @example
 * ```ts
 * import { renderTable } from "./view.ts";
 * renderTable([], "r1").length; // 2: title and header
 * ```
 */
export function renderTable(
  rows: ViewRow[],
  title: string,
  maxRows = 50,
): string[] {
  const head = [
    "device",
    "state",
    "last seen",
    "lag",
    "last seq",
    "stored",
    "gaps",
    "dups",
    "restarts",
  ];
  const body = rows.slice(0, maxRows).map((r) => [
    r.device,
    r.state,
    ms(r.lastSeenMs),
    ms(r.lagMs),
    String(r.lastSeq),
    String(r.stored),
    String(r.missing),
    String(r.duplicates),
    String(r.restarts),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ");
  const more = rows.length > maxRows ? [`... ${rows.length - maxRows} more devices`] : [];
  return [title, line(head), ...body.map(line), ...more];
}
