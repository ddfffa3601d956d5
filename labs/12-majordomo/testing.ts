/**
 * Helpers for Lab 12's process tests: start the broker and workers as real processes, run
 * the client to completion, and run the Guide-style Python peers in testdata/.
 *
 * @module
 */
import { RoleProcess, runOnce, type RunResult, spawnRole, waitFor } from "@lib/testing/mod.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/** Debian's python3 (the pyenv one on PATH has no zmq). */
export const PYTHON = "/usr/bin/python3";

/**
 * Why the Python interop tests cannot run here, or null when `python3 -c "import zmq"` works.
 *
 * @example
 * ```ts
 * const reason = await pythonZmqMissing();
 * if (reason) console.log(`skipped: ${reason}`);
 * ```
 */
export async function pythonZmqMissing(): Promise<string | null> {
  try {
    const out = await new Deno.Command(PYTHON, { args: ["-c", "import zmq"], stderr: "piped" })
      .output();
    return out.success ? null : `${PYTHON} cannot import zmq`;
  } catch (error) {
    return `${PYTHON} not runnable: ${error instanceof Error ? error.message : error}`;
  }
}

/**
 * Runs one of testdata/'s Python peers as a process (stdout lines readable as with a role).
 *
 * @example
 * ```ts
 * await using broker = spawnPython("mdbroker.py", ["tcp://127.0.0.1:*", "250"]);
 * const line = await broker.stdoutLine((l) => l.startsWith("listening "));
 * ```
 */
export function spawnPython(script: string, args: string[]): RoleProcess {
  const command = new Deno.Command(PYTHON, {
    args: ["-u", testdata(script), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  return new RoleProcess(script, command, false);
}

/** A running majordomo_broker and its real endpoint. */
export interface Broker {
  proc: RoleProcess;
  endpoint: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts majordomo_broker (default on an ephemeral 127.0.0.1 port) and reads its endpoint.
 *
 * @example
 * ```ts
 * await using broker = await startBroker(["--heartbeat-interval", "200"]);
 * ```
 */
export async function startBroker(
  args: string[] = [],
  bind = "tcp://127.0.0.1:*",
): Promise<Broker> {
  const proc = await spawnRole("12", "majordomo_broker", [
    "--bind",
    bind,
    "--table-interval",
    "0",
    "--stats-interval",
    "0",
    ...args,
  ]);
  try {
    const { endpoint } = await proc.event("listening");
    return {
      proc,
      endpoint: String(endpoint),
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Starts echo_worker against `broker` for `service` and waits until the broker registered
 * it (one more `worker_ready` for that service).
 *
 * @example
 * ```ts
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
 * const result = await runClient(broker.endpoint, ["--service", "echo"]);
 * ```
 */
export async function runClient(endpoint: string, args: string[]): Promise<RunResult> {
  return await runOnce("12", "client_requester", ["--broker", endpoint, "--json", ...args], {
    timeout: 60_000,
  });
}

/** The JSON lines a client printed (replies and error replies). */
export function jsonLines(result: RunResult): Record<string, unknown>[] {
  return result.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
