/**
 * Lists the processes of a Linux host from `/proc` (or a fixture tree laid out like it).
 *
 * @module
 */

import type { ProcessInfo } from "./process_info.ts";
import { buildProcProcess, parseMeminfo, parsePasswd, parseUptime } from "./proc_parser.ts";
import type { ProcFiles } from "./proc_files.ts";

/** Where to read from. */
export interface ProcSource {
  /** File access (libc on a real host, Deno fs for fixtures). */
  files: ProcFiles;
  /** Root of the proc tree (default `/proc`). */
  procRoot?: string;
  /** The passwd file for uid → name (default `/etc/passwd`). */
  passwdPath?: string;
}

/**
 * Reads every `<procRoot>/<pid>/{stat,status,cmdline}`. Processes that exit while being
 * read are skipped, as `ps` does.
 *
 * @example
 * ```ts
 * const list = listLinuxProcesses({ files: libcProcFiles() });
 * list.some((p) => p.pid === Deno.pid); // true
 * ```
 */
export function listLinuxProcesses(source: ProcSource): ProcessInfo[] {
  const { files } = source;
  const root = source.procRoot ?? "/proc";
  const need = (path: string): string => {
    const text = files.readText(path);
    if (text === null) throw new Error(`expected ${path} to be readable, got nothing`);
    return text;
  };
  const ctx = {
    uptime: parseUptime(need(`${root}/uptime`)),
    memTotal: parseMeminfo(need(`${root}/meminfo`)).MemTotal ?? 0,
    users: parsePasswd(files.readText(source.passwdPath ?? "/etc/passwd") ?? ""),
  };
  const entries = files.list(root);
  if (entries === null) throw new Error(`expected ${root} to be listable, got nothing`);
  const out: ProcessInfo[] = [];
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = files.readText(`${root}/${pid}/stat`);
    const status = files.readText(`${root}/${pid}/status`);
    // Gone between the listing and the read (or a zombie being reaped): skip, like `ps`.
    if (stat === null || status === null || stat === "") continue;
    const cmdline = files.readText(`${root}/${pid}/cmdline`) ?? "";
    out.push(buildProcProcess(stat, status, cmdline, ctx));
  }
  return out.sort((a, b) => a.pid - b.pid);
}
