/**
 * Filter, sort and top-N over a process list: the `ps` command's arguments.
 *
 * @module
 */

import type { ProcessInfo } from "./process_info.ts";

/** Sort keys of `ps`: `cpu` and `mem` descending, `pid` ascending. */
export const PS_SORT_KEYS = ["cpu", "mem", "pid"] as const;
/** A `ps` sort key. */
export type PsSortKey = typeof PS_SORT_KEYS[number];

/** Arguments of the `ps` command. */
export interface ProcessQuery {
  /** Keep the first N after sorting (default: all). */
  top?: number;
  /** Sort key (default `cpu`). */
  sort?: PsSortKey;
  /** All digits: that pid exactly. Otherwise a case-insensitive substring of the name,
   * command line or user. */
  filter?: string;
}

/** The `ps` reply's data. */
export interface ProcessQueryResult {
  /** Processes on the host. */
  total: number;
  /** Processes that matched the filter (before top-N). */
  matched: number;
  sort: PsSortKey;
  processes: ProcessInfo[];
}

/**
 * Applies filter, then sort, then top-N. Ties are broken by pid so the order is stable.
 *
 * @example
 * ```ts
 * const r = queryProcesses(list, { filter: "deno", sort: "mem", top: 5 });
 * r.processes.length <= 5; // true
 * ```
 */
export function queryProcesses(list: ProcessInfo[], query: ProcessQuery): ProcessQueryResult {
  const sort = query.sort ?? "cpu";
  const needle = query.filter?.toLowerCase() ?? "";
  const matches = /^\d+$/.test(needle)
    ? (p: ProcessInfo) => String(p.pid) === needle
    : (p: ProcessInfo) =>
      p.name.toLowerCase().includes(needle) ||
      p.command.toLowerCase().includes(needle) ||
      (p.user ?? "").toLowerCase().includes(needle);
  const matched = needle === "" ? [...list] : list.filter(matches);
  const byPid = (a: ProcessInfo, b: ProcessInfo) => a.pid - b.pid;
  const desc = (f: (p: ProcessInfo) => number | null) => (a: ProcessInfo, b: ProcessInfo) =>
    (f(b) ?? -1) - (f(a) ?? -1) || byPid(a, b);
  matched.sort(
    sort === "pid" ? byPid : sort === "mem" ? desc((p) => p.rss ?? p.mem) : desc((p) => p.cpu),
  );
  return {
    total: list.length,
    matched: matched.length,
    sort,
    processes: query.top === undefined ? matched : matched.slice(0, query.top),
  };
}
