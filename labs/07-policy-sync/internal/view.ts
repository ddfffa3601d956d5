/**
 * The node's live policy table for people: a header line (version, count, fingerprint,
 * server, state) and one row per policy, redrawn in place on a terminal or printed as
 * snapshots when piped.
 *
 * @module
 */
import { formatRule } from "./acl.ts";
import type { LivePolicy, ReplicaState } from "./replica.ts";

/** What the header shows. */
export interface ViewHeader {
  version: number;
  fingerprint: string;
  server: string;
  state: ReplicaState;
  subtree: string;
}

/**
 * The view as lines (rows sorted by key; each row: key, rule count, the sequence that set
 * it, and its first rule).
 *
 * @example
 * ```ts
 * import { renderView } from "./view.ts";
 * renderView(
 *   { version: 5, fingerprint: "0badf00d", server: "tcp://127.0.0.1:5570", state: "active", subtree: "" },
 *   new Map(),
 * )[0]; // "policy version 5 · 0 policies · fingerprint 0badf00d · tcp://127.0.0.1:5570 · active"
 * ```
 */
export function renderView(
  header: ViewHeader,
  table: ReadonlyMap<string, LivePolicy>,
  maxRows = 40,
): string[] {
  const keys = [...table.keys()].sort();
  const width = Math.max(10, ...keys.map((k) => k.length));
  const lines = [
    `policy version ${header.version} · ${table.size} policies · fingerprint ${header.fingerprint} · ${header.server} · ${header.state}${
      header.subtree ? ` · subtree ${header.subtree}` : ""
    }`,
    `${"KEY".padEnd(width)}  RULES  SET AT            FIRST RULE`,
  ];
  for (const key of keys.slice(0, maxRows)) {
    const p = table.get(key)!;
    lines.push(
      `${key.padEnd(width)}  ${String(p.rules.length).padStart(5)}  ${
        String(p.sequence).padEnd(16)
      }  ${formatRule(p.rules[0])}${p.rules.length > 1 ? " …" : ""}`,
    );
  }
  if (keys.length > maxRows) lines.push(`… ${keys.length - maxRows} more`);
  return lines;
}
