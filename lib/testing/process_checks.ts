/**
 * Checks on a running role process: that it stops in time under load, and how much memory
 * it holds.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RoleProcess } from "./role_process.ts";

/**
 * How soon a role must log `stopping` after SIGTERM: 1 s on a machine with a core to spare;
 * scaled by the run queue per core when the machine is overloaded (shared CI, parallel
 * helpers), capped at 5 s, far below the 12-19 s of a starved event loop.
 */
export function stopDeadlineMs(): number {
  const cores = navigator.hardwareConcurrency || 1;
  const perCore = Deno.loadavg()[0] / cores;
  return Math.round(1000 * Math.min(5, Math.max(1, perCore)));
}

/**
 * Sends SIGTERM; asserts `stopping` within {@link stopDeadlineMs} of it (by the event's
 * own timestamp, so a slow reader here does not count) and exit 0 within the role's `--shutdown-timeout`.
 */
export async function assertStopsInTime(
  proc: RoleProcess,
  shutdownTimeoutMs: number,
): Promise<{ stoppingMs: number; exitMs: number }> {
  const signalled = Date.now();
  proc.signal("SIGTERM");
  // Generous wait: reading a flooded role's log here may lag; its own timestamp decides.
  const stopping = await proc.event("stopping", undefined, { timeout: shutdownTimeoutMs + 30_000 });
  const stoppingMs = Date.parse(String(stopping.ts)) - signalled;
  const bound = stopDeadlineMs();
  assert.ok(
    stoppingMs < bound,
    `expected stopping within ${bound} ms of SIGTERM, got ${stoppingMs} ms`,
  );
  const status = await proc.wait();
  const exitMs = Date.now() - signalled;
  assert.equal(status.code, 0, `expected exit 0, got ${status.code}`);
  // The runtime itself forces an exit past --shutdown-timeout (code 1): 0 means in time;
  // the slack is process teardown as seen from here.
  assert.ok(exitMs < shutdownTimeoutMs + 2000, `expected exit in time, got ${exitMs} ms`);
  return { stoppingMs, exitMs };
}

/** Resident set size of a process in MiB (Linux `/proc`). */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!kib) throw new Error(`expected VmRSS in /proc/${pid}/status, got none`);
  return Number(kib[1]) / 1024;
}
