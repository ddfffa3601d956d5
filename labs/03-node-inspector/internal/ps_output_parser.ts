/**
 * Parsers for the process lists of hosts without `/proc`: Windows `tasklist /FO CSV /NH`
 * and BSD/macOS `ps` with the columns in {@linkcode PS_ARGS}.
 *
 * @module
 */

import type { ProcessInfo } from "./process_info.ts";

/** Arguments for `ps` on macOS/BSD that {@linkcode parsePsOutput} reads. */
export const PS_ARGS: readonly string[] = [
  "-axww",
  "-o",
  "pid=,ppid=,user=,pcpu=,pmem=,rss=,state=,args=",
];

/** Arguments for Windows `tasklist` that {@linkcode parseTasklistCsv} reads. */
export const TASKLIST_ARGS: readonly string[] = ["/FO", "CSV", "/NH"];

/**
 * Parses `ps -axww -o pid=,ppid=,user=,pcpu=,pmem=,rss=,state=,args=` output
 * (rss in KiB). Lines that do not fit are skipped.
 *
 * @example
 * ```ts
 * parsePsOutput("  42     1 alice   1.5  0.3  2048 S    /usr/bin/vim notes.txt\n")[0].name; // "vim"
 * ```
 */
export function parsePsOutput(text: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  const row = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\S+)\s+(.*)$/;
  for (const line of text.split("\n")) {
    const m = row.exec(line);
    if (!m) continue;
    const command = m[8].trim();
    const exe = command.split(/\s+/)[0] ?? "";
    out.push({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      user: m[3],
      cpu: Number(m[4]),
      mem: Number(m[5]),
      rss: Number(m[6]) * 1024,
      state: m[7].slice(0, 1),
      threads: null,
      name: exe.slice(exe.lastIndexOf("/") + 1) || command,
      command,
    });
  }
  return out;
}

/**
 * Parses `tasklist /FO CSV /NH` output: `"Image Name","PID","Session Name","Session#","Mem Usage"`.
 * The memory column is localised (`12,345 K`, `12.345 K`, `12 345 K`): every non-digit is
 * dropped before the `K`.
 *
 * @example
 * ```ts
 * parseTasklistCsv('"deno.exe","4242","Console","1","52,116 K"\r\n')[0].rss; // 53366784
 * ```
 */
export function parseTasklistCsv(text: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    const cols = splitCsvLine(line);
    if (cols.length < 5) continue;
    const pid = Number(cols[1]);
    if (!Number.isInteger(pid)) continue;
    const kb = Number(cols[4].replace(/[^\d]/g, ""));
    out.push({
      pid,
      ppid: null,
      user: null,
      state: null,
      cpu: null,
      mem: null,
      rss: Number.isFinite(kb) && cols[4].trim() !== "" ? kb * 1024 : null,
      threads: null,
      name: cols[0],
      command: cols[0],
    });
  }
  return out;
}

/** Splits one CSV line with `"`-quoted fields (`""` is a literal quote). */
function splitCsvLine(line: string): string[] {
  const cols: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === '"') {
      let value = "";
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      cols.push(value);
      if (line[i] === ",") i++;
    } else {
      const comma = line.indexOf(",", i);
      const end = comma < 0 ? line.length : comma;
      cols.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return cols;
}
