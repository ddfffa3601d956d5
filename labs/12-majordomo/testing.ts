/**
 * Helpers for Lab 12's process tests: start the broker and workers as real processes, run
 * the client to completion, and run the Guide-style Python peers in testdata/.
 *
 * @module
 */
import {
  type ListeningRole,
  type RoleProcess,
  runOnce,
  type RunResult,
  spawnListening,
  spawnPython,
  spawnRole,
  waitFor,
} from "@lib/testing/mod.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/**
 * Runs one of testdata/'s Python peers with `python` (from `pythonWithZmq()`), its stdout
 * lines readable as a role's.
 *
 * @example
 * ```ts
 * import { pythonWithZmq } from "@lib/testing/mod.ts";
 * import { spawnPeer } from "./testing.ts";
 * const python = await pythonWithZmq();
 * if (python) {
 *   await using broker = spawnPeer(python, "mdbroker.py", ["tcp://127.0.0.1:*", "250"]);
 *   await broker.stdoutLine((l) => l.startsWith("listening "));
 * }
 * ```
 */
export function spawnPeer(python: string, script: string, args: string[]): RoleProcess {
  return spawnPython(python, testdata(script), args);
}

/** A running majordomo_broker and its real endpoint. */
export type Broker = ListeningRole;

/**
 * Starts majordomo_broker (default on an ephemeral 127.0.0.1 port) and reads its endpoint.
 *
 * @example
 * ```ts
 * import { startBroker } from "./testing.ts";
 * await using broker = await startBroker(["--heartbeat-interval", "200"]);
 * ```
 */
export async function startBroker(
  args: string[] = [],
  bind = "tcp://127.0.0.1:*",
): Promise<Broker> {
  return await spawnListening("12", "majordomo_broker", [
    "--bind",
    bind,
    "--table-interval",
    "0",
    "--stats-interval",
    "0",
    ...args,
  ]);
}

/**
 * Starts echo_worker against `broker` for `service` and waits until the broker registered
 * it (one more `worker_ready` for that service).
 *
 * @example
 * ```ts
 * import { startBroker, startWorker } from "./testing.ts";
 * await using broker = await startBroker();
 * await using worker = await startWorker(broker, "echo", ["--delay", "10"]);
 * ```
 */
export async function startWorker(
  broker: Broker,
  service: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<RoleProcess> {
  const registered = () => broker.proc.eventCount("worker_ready", (e) => e.service === service);
  const before = registered();
  const proc = await spawnRole("12", "echo_worker", [
    "--broker",
    broker.endpoint,
    "--service",
    service,
    ...args,
  ], { env });
  try {
    await waitFor(`worker for ${service} registered`, () => registered() > before, {
      timeoutMs: 20_000,
    });
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Runs client_requester to completion (`--json` replies on stdout) against `endpoint`.
 *
 * @example
 * ```ts
 * import { runClient, startBroker } from "./testing.ts";
 * await using broker = await startBroker();
 * const result = await runClient(broker.endpoint, ["--service", "echo"]);
 * ```
 */
export async function runClient(endpoint: string, args: string[]): Promise<RunResult> {
  return await runOnce("12", "client_requester", ["--broker", endpoint, "--json", ...args], {
    timeout: 60_000,
  });
}

/**
 * The JSON lines a client printed (replies and error replies).
 *
 * @example
 * ```ts
 * import { jsonLines, runClient } from "./testing.ts";
 * const replies = jsonLines(await runClient("tcp://127.0.0.1:5512", ["--service", "echo"]));
 * ```
 */
export function jsonLines(result: RunResult): Record<string, unknown>[] {
  return result.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
