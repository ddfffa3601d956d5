/**
 * The live membership table of a gossip_node, as lines (pure: the role draws them with
 * `terminalFrame`).
 *
 * @module
 */

import type { MemberView, SwimStats } from "./swim.ts";

/** What the view shows besides the members. */
export interface ViewInput {
  id: string;
  endpoint: string;
  now: number;
  members: MemberView[];
  stats: SwimStats;
  peers: number;
  bytesPerSecond: number;
}

const COLORS: Record<string, string> = {
  alive: "\x1b[32m",
  suspect: "\x1b[33m",
  dead: "\x1b[31m",
  left: "\x1b[90m",
};

/**
 * The table: a header line, then one line per member (this node first, marked `*`).
 *
 * @example
 * ```ts
 * import { renderView } from "./render.ts";
 * const lines = renderView({
 *   id: "n1", endpoint: "tcp://127.0.0.1:5623", now: 0, peers: 0, bytesPerSecond: 0,
 *   members: [{ id: "n1", endpoint: "tcp://127.0.0.1:5623", incarnation: 0, state: "alive", since: 0, self: true, kv: {} }],
 *   stats: { incarnation: 0, awareness: 0, probes: 0, probe_failures: 0, indirect_probes: 0, refutations: 0, syncs: 0, stalls: 0, pending_gossip: 0, members: { alive: 1, suspect: 0, dead: 0, left: 0 } },
 * }, { color: false, maxRows: 20 });
 * console.log(lines.join("\n"));
 * ```
 */
export function renderView(
  input: ViewInput,
  options: { color: boolean; maxRows: number },
): string[] {
  const { stats } = input;
  const c = (state: string, text: string) =>
    options.color ? `${COLORS[state] ?? ""}${text}\x1b[0m` : text;
  const lines = [
    `gossip_node ${input.id} ${input.endpoint}  incarnation ${stats.incarnation}  ` +
    `health ${stats.awareness}  members: ${stats.members.alive} alive, ` +
    `${stats.members.suspect} suspect, ${stats.members.dead} dead, ${stats.members.left} left  ` +
    `out ${Math.round(input.bytesPerSecond)} B/s`,
    `${"MEMBER".padEnd(14)} ${"STATE".padEnd(10)} ${"INC".padStart(4)} ${"FOR".padStart(6)}  ${
      "ENDPOINT".padEnd(26)
    } STATE (key=value)`,
  ];
  const shown = input.members.slice(0, Math.max(1, options.maxRows));
  for (const m of shown) {
    const age = m.self ? "" : `${Math.max(0, (input.now - m.since) / 1000).toFixed(0)}s`;
    const kv = Object.entries(m.kv).map(([k, v]) => `${k}=${v}`).join(" ");
    const state = m.state + (m.confirmations ? `+${m.confirmations}` : "");
    lines.push(
      `${(m.id + (m.self ? " *" : "")).padEnd(14)} ${c(m.state, state.padEnd(10))} ${
        String(m.incarnation).padStart(4)
      } ${age.padStart(6)}  ${m.endpoint.padEnd(26)} ${kv}`,
    );
  }
  if (input.members.length > shown.length) {
    lines.push(`... ${input.members.length - shown.length} more`);
  }
  return lines;
}
