/**
 * Reads this host's facts for the agent's commands: `info`, `mem`, the process list and
 * the mounted file systems, choosing the data source by platform.
 *
 * @module
 */

import { DF_ARGS, type DiskInfo, parseDfOutput, parseWmicDisks, WMIC_ARGS } from "./df_parser.ts";
import { listLinuxProcesses } from "./linux_processes.ts";
import { libcProcFiles, type ProcFiles } from "./proc_files.ts";
import type { ProcessInfo } from "./process_info.ts";
import { parsePsOutput, parseTasklistCsv, PS_ARGS, TASKLIST_ARGS } from "./ps_output_parser.ts";

/** The `info` reply's data. */
export interface HostInfo {
  host: string;
  os: string;
  arch: string;
  /** Kernel / OS release. */
  release: string;
  /** Seconds since boot. */
  uptime: number;
  /** 1, 5 and 15 minute load averages (zeros on Windows). */
  load: number[];
  cpus: number;
  agent: { pid: number; version: string; uptime: number };
}

/** The `mem` reply's data, in bytes. */
export interface MemInfo {
  total: number;
  free: number;
  available: number;
  used: number;
  buffers: number;
  cached: number;
  swapTotal: number;
  swapFree: number;
}

/** Where the agent's answers come from. Injected so the agent logic is unit-tested. */
export interface SystemProbe {
  info(): Promise<HostInfo>;
  mem(): Promise<MemInfo>;
  processes(): Promise<ProcessInfo[]>;
  disks(): Promise<DiskInfo[]>;
}

/** A command this host cannot answer (e.g. `disk` where neither `df` nor `wmic` exists). */
export class UnsupportedError extends Error {
  override name = "UnsupportedError";
}

/** Runs a program and returns its stdout; used by the probe, injectable for tests. */
export type RunProgram = (program: string, args: readonly string[]) => Promise<string>;

/** Milliseconds a helper program (`df`, `ps`, `tasklist`, `wmic`) may take. */
export const PROGRAM_TIMEOUT_MS = 5000;

/** Runs a program with a timeout; a missing program throws {@linkcode UnsupportedError}. */
export const runProgram: RunProgram = async (program, args) => {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(PROGRAM_TIMEOUT_MS),
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new UnsupportedError(`${program} is not installed on this host`);
    }
    throw err;
  }
  // df exits 1 when one mount is unreadable but still prints the rest: keep the output.
  if (!out.success && out.stdout.length === 0) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`${program} exited with code ${out.code}: ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
};

/** The agent version reported by `info`. */
export const AGENT_VERSION = "1.0.0";

/**
 * The real probe for this host (`os` defaults to `Deno.build.os`).
 *
 * @example
 * ```ts
 * const probe = createSystemProbe();
 * const { host } = await probe.info();
 * ```
 */
export function createSystemProbe(
  os: typeof Deno.build.os = Deno.build.os,
  run: RunProgram = runProgram,
): SystemProbe {
  const started = performance.now();
  let procFiles: ProcFiles | undefined;
  return {
    info() {
      return Promise.resolve({
        host: Deno.hostname(),
        os,
        arch: Deno.build.arch,
        release: Deno.osRelease(),
        uptime: Deno.osUptime(),
        load: os === "windows" ? [0, 0, 0] : Deno.loadavg(),
        cpus: navigator.hardwareConcurrency,
        agent: {
          pid: Deno.pid,
          version: AGENT_VERSION,
          uptime: Math.round((performance.now() - started) / 1000),
        },
      });
    },
    mem() {
      const m = Deno.systemMemoryInfo();
      return Promise.resolve({
        total: m.total,
        free: m.free,
        available: m.available,
        used: m.total - m.available,
        buffers: m.buffers,
        cached: m.cached,
        swapTotal: m.swapTotal,
        swapFree: m.swapFree,
      });
    },
    async processes() {
      if (os === "linux" || os === "android") {
        return listLinuxProcesses({ files: procFiles ??= libcProcFiles() });
      }
      if (os === "windows") return parseTasklistCsv(await run("tasklist", TASKLIST_ARGS));
      return parsePsOutput(await run("ps", PS_ARGS));
    },
    async disks() {
      if (os === "windows") return parseWmicDisks(await run("wmic", WMIC_ARGS));
      return parseDfOutput(await run("df", DF_ARGS));
    },
  };
}
