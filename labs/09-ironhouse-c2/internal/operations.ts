/**
 * What an agent does for each allow-listed operation. The host is a port (`HostProbe`) so
 * tests inject it; `rotate_key` is handed to the role (it touches the key files).
 *
 * @module
 */
import { HEALTH_CHECKS, OPERATIONS } from "./protocol.ts";

/** The host facts an agent can read. */
export interface HostProbe {
  hostname(): string;
  os(): string;
  arch(): string;
  loadavg(): number[];
  cpus(): number;
  memory(): { total: number; free: number };
  uptimeSeconds(): number;
  now(): number;
}

/** The outcome of one operation. */
export type OperationResult = { ok: true; result: unknown } | { ok: false; error: string };

/**
 * Runs `facts` and `health`; other operations (or unknown names) are refused here.
 *
 * @example
 * ```ts
 * import { runOperation } from "./operations.ts";
 * const probe = {
 *   hostname: () => "h", os: () => "linux", arch: () => "x86_64", loadavg: () => [0.1, 0, 0],
 *   cpus: () => 2, memory: () => ({ total: 100, free: 50 }), uptimeSeconds: () => 5,
 *   now: () => 0,
 * };
 * runOperation("health", { check: "loadavg" }, probe); // { ok: true, result: { status: "pass", ... } }
 * ```
 */
export function runOperation(
  op: string,
  args: Record<string, string>,
  probe: HostProbe,
): OperationResult {
  if (!(OPERATIONS as readonly string[]).includes(op)) {
    return { ok: false, error: `unknown operation: expected one of ${OPERATIONS.join(", ")}` };
  }
  if (op === "facts") {
    return {
      ok: true,
      result: {
        hostname: probe.hostname(),
        os: probe.os(),
        arch: probe.arch(),
        cpus: probe.cpus(),
        uptime_s: Math.round(probe.uptimeSeconds()),
      },
    };
  }
  if (op === "health") {
    const check = args.check;
    if (check === "loadavg") {
      const [load1] = probe.loadavg();
      const limit = probe.cpus() * 2;
      return {
        ok: true,
        result: { check, status: load1 <= limit ? "pass" : "fail", load1, limit },
      };
    }
    if (check === "memory") {
      const { total, free } = probe.memory();
      const ratio = total > 0 ? free / total : 0;
      return {
        ok: true,
        result: { check, status: ratio >= 0.05 ? "pass" : "fail", free_ratio: ratio },
      };
    }
    if (check === "clock") {
      return { ok: true, result: { check, status: "pass", epoch_ms: probe.now() } };
    }
    return {
      ok: false,
      error: `unknown health check: expected one of ${HEALTH_CHECKS.join(", ")}`,
    };
  }
  return { ok: false, error: `${op} is carried out by the agent role, not here` };
}

/**
 * The real host, through Deno's APIs (needs `--allow-sys`).
 *
 * @example
 * ```ts
 * import { systemProbe } from "./operations.ts";
 * systemProbe().cpus() > 0; // true (with --allow-sys)
 * ```
 */
export function systemProbe(): HostProbe {
  return {
    hostname: () => Deno.hostname(),
    os: () => Deno.build.os,
    arch: () => Deno.build.arch,
    loadavg: () => Deno.loadavg(),
    cpus: () => navigator.hardwareConcurrency,
    memory: () => {
      const m = Deno.systemMemoryInfo();
      return { total: m.total, free: m.available };
    },
    uptimeSeconds: () => Deno.osUptime(),
    now: () => Date.now(),
  };
}
