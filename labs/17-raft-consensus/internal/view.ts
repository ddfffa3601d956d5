/**
 * consensus_node's live view: role, term, commit index and the peers, as lines (pure).
 *
 * @module
 */

import type { RaftStatus } from "./raft.ts";

/** Extra figures the driver keeps. */
export interface ViewExtras {
  keys: number;
  fingerprint: string;
  fsyncs: number;
  dropped: number;
  isolated: boolean;
}

/**
 * Renders the view.
 *
 * @example
 * ```ts
 * import { renderView } from "./view.ts";
 * const lines = renderView({
 *   id: "n1", role: "leader", term: 3, votedFor: "n1", leader: "n1", leaderEndpoint: null,
 *   commitIndex: 9, lastApplied: 9, lastIndex: 9, snapshotIndex: 0,
 *   peers: [{ id: "n2", matchIndex: 9, nextIndex: 10, lastHeardMs: 12 }],
 * }, { keys: 4, fingerprint: "0badf00d", fsyncs: 20, dropped: 0, isolated: false });
 * console.log(lines.join("\n"));
 * ```
 */
export function renderView(s: RaftStatus, x: ViewExtras): string[] {
  const leader = s.role === "leader";
  const lines = [
    `node ${s.id}  ${s.role.toUpperCase()}${
      x.isolated ? " (isolated)" : ""
    }  term ${s.term}  leader ${s.leader ?? "?"}`,
    `commit ${s.commitIndex}  applied ${s.lastApplied}  last ${s.lastIndex}  snapshot ${s.snapshotIndex}  keys ${x.keys}  state ${x.fingerprint}  fsyncs ${x.fsyncs}  dropped ${x.dropped}`,
    leader ? "peer      match     next  heard" : "peer      heard",
  ];
  for (const p of s.peers) {
    const heard = p.lastHeardMs === null ? "never" : `${p.lastHeardMs} ms ago`;
    lines.push(
      leader
        ? `${p.id.padEnd(8)} ${String(p.matchIndex).padStart(6)} ${
          String(p.nextIndex).padStart(8)
        }  ${heard}`
        : `${p.id.padEnd(8)}  ${heard}`,
    );
  }
  return lines;
}
