/**
 * Test helpers of Lab 01: a dashboard on an ephemeral port, agent options that force a
 * status, and the shared timings.
 *
 * @module
 */
import { spawnRole } from "@lib/testing/mod.ts";

/** Heartbeat interval of every role in these tests (ms). */
export const INTERVAL = 200;
export const ANY = "tcp://127.0.0.1:*";
export const FAST = ["--interval", String(INTERVAL)];

/** Starts a dashboard bound to an ephemeral port; returns it with its endpoint. */
export async function dashboard(args: string[] = []) {
  const proc = await spawnRole("01", "dashboard", ["--bind", ANY, ...FAST, ...args]);
  const { endpoint } = await proc.event("listening");
  return { proc, endpoint: String(endpoint) };
}

/** Options making a host agent report the given status whatever the real host does. */
export function forceStatus(status: "ok" | "warning" | "critical"): string[] {
  switch (status) {
    case "ok":
      return [
        "--warn-load",
        "1000",
        "--crit-load",
        "1000",
        "--warn-mem",
        "100",
        "--crit-mem",
        "100",
      ];
    case "warning":
      return ["--warn-load", "0", "--crit-load", "1000", "--crit-mem", "100"];
    case "critical":
      return ["--warn-load", "0", "--crit-load", "0"];
  }
}
