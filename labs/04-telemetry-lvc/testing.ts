/**
 * Test helpers of Lab 04: start the roles on ephemeral ports, read the terminal's `--json`
 * lines, and a raw ZMTP 3.0 peer that writes subscription frames as fast as TCP takes them
 * (what a hostile subscriber does; a libzmq XSUB would keep its own copy of each).
 *
 * @module
 */
import { spawnRole } from "@lib/testing/mod.ts";

/** Any port on the loopback interface. */
export const ANY = "tcp://127.0.0.1:*";

/** A spawned role. */
export type Proc = Awaited<ReturnType<typeof spawnRole>>;

/** Starts a broker on ephemeral ports; returns it with its two real endpoints. */
export async function startBroker(
  args: string[] = [],
): Promise<{ proc: Proc; frontend: string; backend: string }> {
  const proc = await spawnRole("04", "lvc_broker", [
    "--frontend",
    ANY,
    "--backend",
    ANY,
    "--stats-interval",
    "100",
    ...args,
  ]);
  const frontend = String((await proc.event("listening", (e) => e.socket === "frontend")).endpoint);
  const backend = String((await proc.event("listening", (e) => e.socket === "backend")).endpoint);
  return { proc, frontend, backend };
}

/** Starts a source connected to the broker's frontend. */
export function startSource(frontend: string, args: string[]): Promise<Proc> {
  return spawnRole("04", "telemetry_source", ["--connect", frontend, ...args]);
}

/** Starts a terminal in --json mode subscribed to `topics` (`""`: every topic, the default). */
export function startTerminal(
  backend: string,
  topics: string[],
  args: string[] = [],
): Promise<Proc> {
  return spawnRole("04", "analyst_terminal", [
    "--connect",
    backend,
    ...topics.filter((t) => t !== "").flatMap((t) => ["--topic", t]),
    "--json",
    "--refresh",
    "100",
    ...args,
  ]);
}
