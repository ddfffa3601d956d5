/**
 * Helpers for Lab 13's process tests and bench: Lab 12's majordomo_broker and echo_worker
 * (spawned from Lab 12's manifest), storage_service and titanic_broker as real processes,
 * patient_client run to completion.
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

/** Short heartbeats keep tests quick; liveness 4 leaves room for a loaded machine. */
export const FAST = ["--heartbeat-interval", "250", "--liveness", "4"];

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/**
 * Starts Lab 12's majordomo_broker on `bind` and returns it with its real endpoint.
 *
 * @example
 * ```ts
 * import { startMajordomo } from "./testing.ts";
 * await using broker = await startMajordomo();
 * console.log(broker.endpoint);
 * ```
 */
export async function startMajordomo(
  bind = "tcp://127.0.0.1:*",
  args: string[] = [],
): Promise<ListeningRole> {
  return await spawnListening("12", "majordomo_broker", [
    "--bind",
    bind,
    "--table-interval",
    "0",
    "--stats-interval",
    "0",
    "--queue-size",
    "100000",
    ...FAST,
    ...args,
  ]);
}

/**
 * Starts Lab 12's echo_worker for `service` and waits until `broker` registered it.
 *
 * @example
 * ```ts
 * import { startEcho, startMajordomo } from "./testing.ts";
 * await using broker = await startMajordomo();
 * await using worker = await startEcho(broker, "echo");
 * ```
 */
export async function startEcho(
  broker: { proc: RoleProcess; endpoint: string },
  service = "echo",
  args: string[] = [],
): Promise<RoleProcess> {
  const registered = () => broker.proc.eventCount("worker_ready", (e) => e.service === service);
  const before = registered();
  const proc = await spawnRole("12", "echo_worker", [
    "--broker",
    broker.endpoint,
    "--service",
    service,
    ...FAST,
    ...args,
  ]);
  await waitFor(`echo_worker for ${service} registered`, () => registered() > before, {
    timeoutMs: 20_000,
  }).catch(async (error) => {
    await proc[Symbol.asyncDispose]();
    throw error;
  });
  return proc;
}

/**
 * Starts storage_service on `db` (ephemeral endpoint unless `bind`), returns it and its endpoint.
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 * import { startStorage } from "./testing.ts";
 * await using dir = await tempDir();
 * await using storage = await startStorage(`${dir.path}/t.db`);
 * ```
 */
export async function startStorage(
  db: string,
  bind = "tcp://127.0.0.1:*",
  args: string[] = [],
): Promise<ListeningRole> {
  return await spawnListening("13", "storage_service", ["--bind", bind, "--db", db, ...args]);
}

/**
 * Starts titanic_broker against a Majordomo broker and a storage service and waits until all
 * three titanic.* services are registered (`workers` sessions each, default 2).
 *
 * @example
 * ```ts
 * import { startTitanic } from "./testing.ts";
 * // with `broker` from startMajordomo() and `storage` from startStorage():
 * // await using titanic = await startTitanic(broker, storage.endpoint);
 * void startTitanic;
 * ```
 */
export async function startTitanic(
  broker: { proc: RoleProcess; endpoint: string },
  storage: string,
  args: string[] = [],
  workers = 2,
): Promise<RoleProcess> {
  const registered = () =>
    broker.proc.eventCount("worker_ready", (e) => String(e.service).startsWith("titanic."));
  const before = registered();
  const proc = await spawnRole("13", "titanic_broker", [
    "--broker",
    broker.endpoint,
    "--storage",
    storage,
    "--workers",
    String(workers),
    "--stats-interval",
    "0",
    ...FAST,
    ...args,
  ]);
  await waitFor("titanic.* services registered", () => registered() >= before + 3 * workers, {
    timeoutMs: 20_000,
  }).catch(async (error) => {
    await proc[Symbol.asyncDispose]();
    throw error;
  });
  return proc;
}

/**
 * Runs patient_client to completion against `endpoint`.
 *
 * @example
 * ```ts
 * import { runPatient } from "./testing.ts";
 * const result = await runPatient("tcp://127.0.0.1:5512", ["--requests", "3"]);
 * ```
 */
export async function runPatient(
  endpoint: string,
  args: string[],
  timeout = 120_000,
): Promise<RunResult> {
  return await runOnce("13", "patient_client", ["--broker", endpoint, ...args], { timeout });
}

/**
 * The JSON lines patient_client printed.
 *
 * @example
 * ```ts
 * import { jsonLines, runPatient } from "./testing.ts";
 * const lines = jsonLines(await runPatient("tcp://127.0.0.1:5512", []));
 * ```
 */
export function jsonLines(result: { stdoutLines: string[] }): Record<string, unknown>[] {
  return result.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/**
 * Runs one of testdata/'s Python peers with `python` (from `pythonWithZmq()`).
 *
 * @example
 * ```ts
 * import { pythonWithZmq } from "@lib/testing/mod.ts";
 * import { spawnPeer } from "./testing.ts";
 * const python = await pythonWithZmq();
 * if (python) {
 *   await using peer = spawnPeer(python, "ticlient.py", ["tcp://127.0.0.1:5512", "echo", "hi"]);
 * }
 * ```
 */
export function spawnPeer(python: string, script: string, args: string[]): RoleProcess {
  return spawnPython(python, testdata(script), args);
}
