/**
 * Parsers for the Linux `/proc` text files the `ps` command reads, and `buildProcProcess`,
 * which turns them into a {@linkcode ProcessInfo}. Pure functions of text: unit-tested
 * with fixture files in `testdata/`.
 *
 * @module
 */

import type { ProcessInfo } from "./process_info.ts";
import { redactArgv } from "./redact.ts";

/** Kernel clock ticks per second in `/proc/<pid>/stat` (USER_HZ, 100 on every Linux ABI). */
export const USER_HZ = 100;
/** Page size used for `rss` when `/proc/<pid>/status` has no VmRSS (kernel threads). */
export const PAGE_SIZE = 4096;

/** The fields of `/proc/<pid>/stat` that `ps` uses. */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** User + system CPU time in clock ticks. */
  cpuTicks: number;
  threads: number;
  /** Start time after boot in clock ticks. */
  startTicks: number;
  rssPages: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name sits between the first `(` and the LAST
 * `)`: it may itself contain spaces and parentheses.
 *
 * @example
 * ```ts
 * const st = parseProcStat("42 (my (odd) name) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 2 0 500 0 12");
 * st.comm; // "my (odd) name"
 * st.cpuTicks; // 10
 * ```
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open) {
    throw new SyntaxError(`/proc stat: expected "<pid> (<comm>) <fields...>", got ${clip(text)}`);
  }
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (rest[n - 3] === undefined || !Number.isFinite(v)) {
      throw new SyntaxError(
        `/proc stat: expected a number in field ${n}, got ${JSON.stringify(rest[n - 3])}`,
      );
    }
    return v;
  };
  if (!Number.isInteger(pid) || pid < 0) {
    throw new SyntaxError(`/proc stat: expected a pid, got ${JSON.stringify(text.slice(0, open))}`);
  }
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "?",
    ppid: field(4),
    cpuTicks: field(14) + field(15),
    threads: field(20),
    startTicks: field(22),
    rssPages: field(24),
  };
}

/** The fields of `/proc/<pid>/status` that `ps` uses. */
export interface ProcStatus {
  name: string | null;
  /** Real uid. */
  uid: number | null;
  /** VmRSS in bytes (null for kernel threads). */
  rssBytes: number | null;
}

/**
 * Parses `/proc/<pid>/status` (`Key:\tvalue` lines).
 *
 * @example
 * ```ts
 * parseProcStatus("Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t  5120 kB\n");
 * // { name: "bash", uid: 1000, rssBytes: 5242880 }
 * ```
 */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = { name: null, uid: null, rssBytes: null };
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "Name") out.name = value;
    else if (key === "Uid") {
      const uid = Number(value.split(/\s+/)[0]);
      if (Number.isInteger(uid)) out.uid = uid;
    } else if (key === "VmRSS") out.rssBytes = parseKb(value);
  }
  return out;
}

/**
 * Turns `/proc/<pid>/cmdline` (NUL-separated arguments) into one printable line.
 *
 * @example
 * ```ts
 * parseCmdline("deno\0run\0main.ts\0"); // "deno run main.ts"
 * ```
 */
export function parseCmdline(text: string): string {
  return parseArgv(text).join(" ");
}

/**
 * Splits `/proc/<pid>/cmdline` (NUL-separated arguments) into the argument vector.
 *
 * @example
 * ```ts
 * import { parseArgv } from "./proc_parser.ts";
 * parseArgv("app\0--password\0two words\0"); // ["app", "--password", "two words"]
 * ```
 */
export function parseArgv(text: string): string[] {
  return text.split("\0").filter((a) => a !== "");
}

/**
 * Parses `/proc/meminfo` into bytes per key.
 *
 * @example
 * ```ts
 * parseMeminfo("MemTotal:  2048 kB\nHugePages_Total: 0\n");
 * // { MemTotal: 2097152, HugePages_Total: 0 }
 * ```
 */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([^:\s]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  return out;
}

/**
 * Parses `/proc/uptime` and returns the seconds since boot.
 *
 * @example
 * ```ts
 * parseUptime("8048.28 16036.15\n"); // 8048.28
 * ```
 */
export function parseUptime(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v) || v < 0) {
    throw new SyntaxError(`/proc/uptime: expected "<seconds> <idle>", got ${clip(text)}`);
  }
  return v;
}

/**
 * Parses `/etc/passwd` into a uid → user name map.
 *
 * @example
 * ```ts
 * parsePasswd("root:x:0:0:root:/root:/bin/bash\n").get(0); // "root"
 * ```
 */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split("\n")) {
    const parts = line.split(":");
    if (parts.length < 3 || line.startsWith("#")) continue;
    const uid = Number(parts[2]);
    if (Number.isInteger(uid) && !users.has(uid)) users.set(uid, parts[0]);
  }
  return users;
}

/** What {@linkcode buildProcProcess} needs besides the per-process files. */
export interface ProcContext {
  /** Seconds since boot (`/proc/uptime`). */
  uptime: number;
  /** Physical memory in bytes (`MemTotal`). */
  memTotal: number;
  /** uid → user name. */
  users: Map<number, string>;
}

/**
 * Combines one process's `stat`, `status` and `cmdline` texts into a {@linkcode ProcessInfo}.
 * CPU is the lifetime average, like `ps`: (utime + stime) / (uptime − start time).
 *
 * @example
 * ```ts
 * const p = buildProcProcess(statText, statusText, cmdlineText, {
 *   uptime: 1000, memTotal: 8 * 2 ** 30, users: new Map([[0, "root"]]),
 * });
 * ```
 */
export function buildProcProcess(
  statText: string,
  statusText: string,
  cmdlineText: string,
  ctx: ProcContext,
): ProcessInfo {
  const stat = parseProcStat(statText);
  const status = parseProcStatus(statusText);
  const elapsed = ctx.uptime - stat.startTicks / USER_HZ;
  const cpuSeconds = stat.cpuTicks / USER_HZ;
  const cpu = elapsed > 0 ? round2(Math.min(100 * cpuSeconds / elapsed, 100 * 4096)) : 0;
  const rss = status.rssBytes ?? stat.rssPages * PAGE_SIZE;
  const mem = ctx.memTotal > 0 ? round2(100 * rss / ctx.memTotal) : null;
  // Redacted while the argument boundaries are known: `--password "two words"` is one value.
  const command = redactArgv(parseArgv(cmdlineText)).join(" ");
  return {
    pid: stat.pid,
    ppid: stat.ppid,
    user: status.uid === null ? null : ctx.users.get(status.uid) ?? String(status.uid),
    state: stat.state,
    cpu,
    mem,
    rss,
    threads: stat.threads,
    name: stat.comm,
    command: command === "" ? `[${stat.comm}]` : command,
  };
}

function parseKb(value: string): number | null {
  const m = /^(\d+)\s*kB$/.exec(value);
  return m ? Number(m[1]) * 1024 : null;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function clip(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}
