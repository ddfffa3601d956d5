/**
 * The dashboard's terminal view: a racks × nodes grid of liveness states, then a table of
 * the nodes that need attention first. Pure: a view model in, lines of text out.
 *
 * @module
 */
import type { FleetTotals, NodeState, NodeView } from "./fleet_monitor.ts";
import type { Status } from "./protocol.ts";

/** Everything the view shows. */
export interface ViewModel {
  /** `heartbeats` (dashboard) or `alerts` (alert system). */
  mode: "heartbeats" | "alerts";
  /** The prefix subscriptions in force. */
  subscriptions: readonly string[];
  /** Expected heartbeat interval (ms). */
  intervalMs: number;
  nodes: readonly NodeView[];
  totals: FleetTotals;
  /** Messages dropped as malformed. */
  badMessages: number;
}

/** Layout options. */
export interface RenderOptions {
  /** ANSI colours. */
  color: boolean;
  /** Terminal width in columns. */
  width: number;
  /** Most table rows (the rest is summarised in one line). */
  maxRows: number;
}

/** One-character marks for the grid. */
export const STATE_MARKS: Record<NodeState, string> = {
  unknown: "?",
  alive: "●",
  suspect: "◐",
  dead: "✕",
};

const STATE_COLOR: Record<NodeState, string> = {
  unknown: "90",
  alive: "32",
  suspect: "33",
  dead: "31",
};
const STATUS_COLOR: Record<Status, string> = { ok: "32", warning: "33", critical: "31" };
const STATE_ORDER: Record<NodeState, number> = { dead: 0, suspect: 1, unknown: 2, alive: 3 };
const STATUS_ORDER: Record<Status, number> = { critical: 0, warning: 1, ok: 2 };

/**
 * Renders the view as lines (no trailing newline, no cursor control).
 *
 * @example
 * ```ts
 * import { renderView } from "./render.ts";
 * const totals = { nodes: 0, beats: 0, gaps: 0, missing: 0, restarts: 0, stale: 0 };
 * const model = { mode: "heartbeats" as const, subscriptions: ["hb."], intervalMs: 1000,
 *   nodes: [], totals, badMessages: 0 };
 * const lines = renderView(model, { color: false, width: 100, maxRows: 20 });
 * console.log(lines.join("\n"));
 * ```
 */
export function renderView(view: ViewModel, options: RenderOptions): string[] {
  const paint = (code: string, text: string) =>
    options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  const width = Math.max(40, options.width);
  const alerts = view.mode === "alerts";
  const count = (state: NodeState) => view.nodes.filter((n) => n.state === state).length;
  const lines: string[] = [];
  const title = alerts ? "Cluster alerts" : "Cluster heartbeat";
  lines.push(
    `${title} · ${view.totals.nodes} nodes · interval ${view.intervalMs} ms · subscribed ${
      view.subscriptions.join(" ")
    }`,
  );
  if (alerts) {
    const active = view.nodes.filter((n) => n.state !== "dead");
    const level = (s: Status) => active.filter((n) => n.status === s).length;
    lines.push(
      `active ${active.length} (critical ${level("critical")}, warning ${level("warning")})` +
        ` · cleared ${count("dead")} · restarts ${view.totals.restarts} · bad ${view.badMessages}`,
    );
  } else {
    lines.push(
      `alive ${count("alive")} · suspect ${count("suspect")} · dead ${count("dead")}` +
        ` · unknown ${count("unknown")} · gaps ${view.totals.gaps} (${view.totals.missing} lost)` +
        ` · restarts ${view.totals.restarts} · bad ${view.badMessages}`,
    );
  }
  lines.push("");
  if (view.nodes.length === 0) {
    lines.push("(waiting for heartbeats)");
    return lines;
  }

  // Grid: one row per rack (wrapped to the width), one cell per node.
  const racks = new Map<string, NodeView[]>();
  for (const node of view.nodes) {
    const list = racks.get(node.rack) ?? [];
    list.push(node);
    racks.set(node.rack, list);
  }
  const rackWidth = Math.max(4, ...[...racks.keys()].map((r) => r.length));
  const cellWidth = Math.max(...view.nodes.map((n) => n.node.length)) + 2;
  const perLine = Math.max(1, Math.floor((width - rackWidth - 1) / (cellWidth + 2)));
  for (const [rack, nodes] of [...racks].sort(([a], [b]) => a.localeCompare(b))) {
    for (let i = 0; i < nodes.length; i += perLine) {
      const label = i === 0 ? rack.padEnd(rackWidth) : " ".repeat(rackWidth);
      const cells = nodes.slice(i, i + perLine).map((n) => {
        const mark = alerts && n.state !== "dead" ? statusMark(n.status) : STATE_MARKS[n.state];
        const code = alerts && n.state !== "dead" ? STATUS_COLOR[n.status] : STATE_COLOR[n.state];
        return paint(code, mark) + " " + n.node.padEnd(cellWidth - 2);
      });
      lines.push(`${label} │ ${cells.join("  ")}`.trimEnd());
    }
  }
  lines.push(
    alerts
      ? "legend: ! critical  ~ warning  ✕ cleared"
      : "legend: ● alive  ◐ suspect  ✕ dead  ? unknown",
  );
  lines.push("");

  // Table: worst first.
  const header = [
    "RACK",
    "NODE",
    "STATE",
    "STATUS",
    "SEQ",
    "GAPS",
    "RESTARTS",
    "LOAD1",
    "MEM%",
    "AGE",
  ];
  const rows = [...view.nodes].sort((a, b) =>
    STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
    STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
    a.rack.localeCompare(b.rack) || a.node.localeCompare(b.node)
  );
  const shown = rows.slice(0, Math.max(0, options.maxRows));
  const table = shown.map((n) => [
    n.rack,
    n.node,
    alerts ? (n.state === "dead" ? "cleared" : "active") : n.state,
    n.status,
    String(n.seq),
    String(n.gaps),
    String(n.restarts),
    formatNumber(n.metrics.load1),
    formatNumber(n.metrics.mem_used_pct),
    formatAge(n.silentMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[], colorize: boolean) =>
    cells.map((cell, i) => {
      const padded = i >= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      if (!colorize) return padded;
      if (i === 2 && !alerts) return paint(STATE_COLOR[cell as NodeState], padded);
      if (i === 3) return paint(STATUS_COLOR[cell as Status], padded);
      return padded;
    }).join("  ").trimEnd();
  lines.push(line(header, false));
  for (const row of table) lines.push(line(row, true));
  if (rows.length > shown.length) lines.push(`… ${rows.length - shown.length} more nodes`);
  return lines;
}

function statusMark(status: Status): string {
  return status === "critical" ? "!" : status === "warning" ? "~" : "●";
}

function formatNumber(value: number | undefined): string {
  return value === undefined ? "-" : String(Math.round(value * 10) / 10);
}

/**
 * Formats a duration for the AGE column: `850ms`, `3.2s`, `4m05s`.
 *
 * @example
 * ```ts
 * formatAge(3200); // "3.2s"
 * ```
 */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
