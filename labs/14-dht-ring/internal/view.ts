/**
 * The dht_node live view: the ring as this node sees it (members, liveness, tokens, share
 * of the ring), this node's load and the ranges it is primary for.
 *
 * @module
 */

import type { NodeStats } from "./node.ts";
import type { RingOk } from "./protocol.ts";
import type { Range } from "./ring.ts";

const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Renders the view as lines.
 *
 * @example
 * ```ts ignore
 * renderView(node.ringInfo(), node.stats, node.ring.ranges(node.id), 8);
 * ```
 */
export function renderView(
  info: RingOk,
  stats: NodeStats,
  ranges: Range[],
  maxRanges = 6,
): string[] {
  const up = info.members.filter((m) => m.status === "up");
  const lines = [
    `dht_node ${info.node}  N=${info.n} R=${info.r} W=${info.w}  ring: ${up.length} node(s), ${
      up.reduce((n, m) => n + m.vnodes, 0)
    } tokens`,
    `${"node".padEnd(22)} ${"endpoint".padEnd(26)} ${"status".padEnd(6)} ${"liveness".padEnd(8)} ${
      "tokens".padStart(6)
    } ${"share".padStart(7)}`,
  ];
  for (const m of [...info.members].sort((a, b) => a.id.localeCompare(b.id))) {
    lines.push(
      `${(m.id === info.node ? "*" : " ") + m.id.slice(0, 21).padEnd(21)} ${
        m.endpoint.slice(0, 26).padEnd(26)
      } ${m.status.padEnd(6)} ${m.liveness.padEnd(8)} ${String(m.vnodes).padStart(6)} ${
        (m.share * 100).toFixed(1).padStart(6)
      }%`,
    );
  }
  lines.push(
    `load: ${info.keys} key(s) (${info.live} live, ${
      info.keys - info.live
    } tombstones), ${info.hints} hint(s) waiting`,
    `puts ${stats.puts} (failed ${stats.putsFailed})  gets ${stats.gets} (failed ${stats.getsFailed})  repairs ${stats.repairs}  hints stored/delivered ${stats.hintsStored}/${stats.hintsDelivered}  transfer in/out ${stats.transferReceivedNew}/${stats.transferSent}`,
    `primary ranges: ${ranges.length}${ranges.length > 0 ? ":" : ""} ${
      ranges.slice(0, maxRanges).map((r) => `(${hex(r.start)}, ${hex(r.end)}]`).join(" ")
    }${ranges.length > maxRanges ? " ..." : ""}`,
  );
  return lines;
}
