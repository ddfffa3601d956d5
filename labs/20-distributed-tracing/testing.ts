/**
 * Lab 20 test helpers: start the collector and a service chain as real processes on
 * ephemeral ports, drive requests, read the collector's HTTP API, and drive headless
 * Chromium (Debian's `chromium` through `playwright-core`).
 *
 * @module
 */

import { type RoleProcess, runOnce, type RunResult, spawnRole } from "@lib/testing/mod.ts";
import type { CompletedTrace, TraceSummary } from "./internal/assembler.ts";

/** A running trace_collector: its PULL endpoint and page URL. */
export interface Collector extends AsyncDisposable {
  proc: RoleProcess;
  endpoint: string;
  url: string;
}

/**
 * Starts trace_collector on an ephemeral PULL port and an ephemeral HTTP port.
 *
 * @example
 * ```ts
 * import { startCollector } from "./testing.ts";
 * await using collector = await startCollector(["--trace-timeout", "300"]);
 * console.log(collector.url); // "http://127.0.0.1:41234/"
 * ```
 */
export async function startCollector(
  args: string[] = [],
  logLevel = "debug", // trace_complete events are debug
): Promise<Collector> {
  const proc = await spawnRole("20", "trace_collector", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--http",
    "127.0.0.1:0",
    "--table-interval",
    "0",
    ...args,
  ], { env: { LOG_LEVEL: logLevel } });
  try {
    const { endpoint } = await proc.event("listening", undefined, { timeout: 30_000 });
    const { url } = await proc.event("http_listening", undefined, { timeout: 30_000 });
    return {
      proc,
      endpoint: String(endpoint),
      url: String(url),
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** A running chain of monitored_service processes, first (the gateway) first. */
export interface Chain extends AsyncDisposable {
  services: RoleProcess[];
  /** The first service's endpoint (where `load` sends). */
  endpoint: string;
  byName(name: string): RoleProcess;
}

/** The default chain of the issue. */
export const CHAIN = ["gateway", "auth", "orders", "inventory"];

/**
 * Starts one monitored_service per name, last hop first, each `--next` pointing at the one
 * after it; `args` go to every service, `perService[name]` to one.
 *
 * @example
 * ```ts
 * import { startChain } from "./testing.ts";
 * await using chain = await startChain("off");
 * console.log(chain.endpoint);
 * ```
 */
export async function startChain(
  collector: string,
  args: string[] = [],
  perService: Record<string, string[]> = {},
  names: string[] = CHAIN,
): Promise<Chain> {
  const started: RoleProcess[] = [];
  const dispose = async () => {
    for (const p of started) await p[Symbol.asyncDispose]();
  };
  try {
    let next: string | undefined;
    const endpoints: string[] = [];
    for (const name of [...names].reverse()) {
      const proc = await spawnRole("20", "monitored_service", [
        "--name",
        name,
        "--bind",
        "tcp://127.0.0.1:*",
        "--collector",
        collector,
        ...(next ? ["--next", next] : []),
        ...args,
        ...(perService[name] ?? []),
      ]);
      started.unshift(proc);
      const { endpoint } = await proc.event("listening", undefined, { timeout: 30_000 });
      next = String(endpoint);
      endpoints.unshift(next);
    }
    return {
      services: started,
      endpoint: endpoints[0],
      byName: (name) => started[names.indexOf(name)],
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** One reply line of `monitored_service load --json`. */
export interface LoadReply {
  id: string;
  ok: boolean;
  traceresponse: string;
  traceId: string | null;
  ms: number;
  error?: string;
}

/** Runs `monitored_service load --json` to completion; returns its output and replies. */
export async function runLoad(
  target: string,
  args: string[] = [],
  timeout = 60_000,
): Promise<RunResult & { replies: LoadReply[]; summary: Record<string, unknown> }> {
  const result = await runOnce("20", "monitored_service", [
    "load",
    "--target",
    target,
    "--json",
    ...args,
  ], { timeout });
  const replies = result.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const summary = result.events.find((e) => e.event === "summary") ?? {};
  return { ...result, replies, summary };
}

/** GETs JSON from the collector's API. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: ${res.status}`);
  }
  return await res.json() as T;
}

/** The collector's list of completed traces. */
export async function traceList(collector: Collector): Promise<TraceSummary[]> {
  return (await getJson<{ traces: TraceSummary[] }>(`${collector.url}api/traces`)).traces;
}

/** One completed trace from the collector (404 → undefined). */
export async function traceById(
  collector: Collector,
  traceId: string,
): Promise<CompletedTrace | undefined> {
  const res = await fetch(`${collector.url}api/traces/${traceId}`);
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  return await res.json() as CompletedTrace;
}

export {
  browserUnavailable,
  CHROMIUM,
  launchBrowser,
  withScreenshotOnFailure,
} from "@lib/testing/browser.ts";
