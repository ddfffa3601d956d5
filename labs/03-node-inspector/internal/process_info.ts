/**
 * The process record every platform's lister produces and `ps` replies carry.
 *
 * @module
 */

/**
 * One row of a process list. Fields a platform cannot report are `null`.
 *
 * @example
 * ```ts
 * const p: ProcessInfo = {
 *   pid: 1, ppid: 0, user: "root", state: "S", cpu: 0.1, mem: 0.2,
 *   rss: 17_000_000, threads: 1, name: "init", command: "/sbin/init",
 * };
 * ```
 */
export interface ProcessInfo {
  /** Process id. */
  pid: number;
  /** Parent process id (null where unknown, e.g. `tasklist`). */
  ppid: number | null;
  /** Owner's user name (or numeric uid when it has no name). */
  user: string | null;
  /** One-letter state (`R`, `S`, `D`, `Z`, ...) where known. */
  state: string | null;
  /** CPU use in percent of one core, averaged over the process lifetime (as `ps`). */
  cpu: number | null;
  /** Resident memory in percent of physical memory. */
  mem: number | null;
  /** Resident set size in bytes. */
  rss: number | null;
  /** Thread count. */
  threads: number | null;
  /** Short executable name. */
  name: string;
  /** Full command line (falls back to `[name]` for kernel threads). */
  command: string;
}
