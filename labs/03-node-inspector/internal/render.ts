/**
 * Turns a command's reply data into lines for people (tables) or for scripts (JSON).
 *
 * @module
 */

import type { DiskInfo } from "./df_parser.ts";
import type { ProcessQueryResult } from "./process_query.ts";
import type { Command } from "./protocol.ts";
import type { HostInfo, MemInfo } from "./system_probe.ts";
import { formatBytes, formatDuration, formatTable } from "./table.ts";

/** The `ping` reply's data. */
export interface PingData {
  pong: boolean;
  /** The agent's wall clock, epoch ms. */
  time: number;
}

/** Reply data by command. */
export interface CommandData {
  info: HostInfo;
  mem: MemInfo;
  ps: ProcessQueryResult;
  disk: { filesystems: DiskInfo[] };
  ping: PingData;
}

/** What the CLI knows besides the data, for the human view. */
export interface RenderContext {
  endpoint: string;
  /** Round trip of the successful attempt, ms. */
  rtt: number;
}

const pct = (n: number | null) => (n === null ? "-" : n.toFixed(1));

/**
 * Lines of human-readable output for `cmd`'s reply data.
 *
 * @example
 * ```ts
 * for (const line of renderHuman("mem", data, { endpoint, rtt: 0.4 })) console.log(line);
 * ```
 */
export function renderHuman<C extends Command>(
  cmd: C,
  data: CommandData[C],
  ctx: RenderContext,
): string[] {
  switch (cmd) {
    case "ping": {
      const d = data as PingData;
      return [
        `pong from ${ctx.endpoint} in ${ctx.rtt.toFixed(2)} ms (agent clock ${
          new Date(d.time).toISOString()
        })`,
      ];
    }
    case "info": {
      const d = data as HostInfo;
      return formatTable([{ header: "FIELD" }, { header: "VALUE" }], [
        ["host", d.host],
        ["os", `${d.os} ${d.release} (${d.arch})`],
        ["uptime", formatDuration(d.uptime)],
        ["load", d.load.map((l) => l.toFixed(2)).join(" ")],
        ["cpus", String(d.cpus)],
        ["agent", `pid ${d.agent.pid}, v${d.agent.version}, up ${formatDuration(d.agent.uptime)}`],
      ]);
    }
    case "mem": {
      const d = data as MemInfo;
      const row = (name: string, total: number, used: number, free: number, avail: string) => [
        name,
        formatBytes(total),
        formatBytes(used),
        formatBytes(free),
        avail,
        total > 0 ? `${(100 * used / total).toFixed(1)}%` : "-",
      ];
      return formatTable(
        [
          { header: "" },
          { header: "TOTAL", align: "r" },
          { header: "USED", align: "r" },
          { header: "FREE", align: "r" },
          { header: "AVAILABLE", align: "r" },
          { header: "USE", align: "r" },
        ],
        [
          row("mem", d.total, d.used, d.free, formatBytes(d.available)),
          row("swap", d.swapTotal, d.swapTotal - d.swapFree, d.swapFree, "-"),
        ],
      );
    }
    case "ps": {
      const d = data as ProcessQueryResult;
      const lines = formatTable(
        [
          { header: "PID", align: "r" },
          { header: "PPID", align: "r" },
          { header: "USER", max: 12 },
          { header: "S" },
          { header: "%CPU", align: "r" },
          { header: "%MEM", align: "r" },
          { header: "RSS", align: "r" },
          { header: "THR", align: "r" },
          { header: "COMMAND", max: 80 },
        ],
        d.processes.map((p) => [
          String(p.pid),
          p.ppid === null ? "-" : String(p.ppid),
          p.user ?? "-",
          p.state ?? "-",
          pct(p.cpu),
          pct(p.mem),
          formatBytes(p.rss),
          p.threads === null ? "-" : String(p.threads),
          p.command,
        ]),
      );
      lines.push(
        `${d.processes.length} shown of ${d.matched} matching (${d.total} processes), by ${d.sort}`,
      );
      return lines;
    }
    case "disk": {
      const d = data as { filesystems: DiskInfo[] };
      return formatTable(
        [
          { header: "FILESYSTEM", max: 32 },
          { header: "SIZE", align: "r" },
          { header: "USED", align: "r" },
          { header: "AVAIL", align: "r" },
          { header: "USE%", align: "r" },
          { header: "MOUNTED ON" },
        ],
        d.filesystems.map((f) => [
          f.filesystem,
          formatBytes(f.size),
          formatBytes(f.used),
          formatBytes(f.available),
          `${f.capacity}%`,
          f.mount,
        ]),
      );
    }
  }
  return [JSON.stringify(data)];
}
