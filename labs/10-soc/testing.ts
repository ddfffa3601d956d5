/**
 * Lab 10 test helpers: the whole SOC topology as local processes on ephemeral ports.
 *
 * @module
 */

import { type RoleProcess, spawnRole, waitFor } from "@lib/testing/mod.ts";

/** The running topology (without the generator) and where it listens. */
export interface Soc extends AsyncDisposable {
  feed: RoleProcess;
  detector: RoleProcess;
  router: RoleProcess;
  sink: RoleProcess;
  /** Detector REP endpoint. */
  detectorEndpoint: string;
  /** Router PULL endpoint. */
  alertsEndpoint: string;
  /** Base URL of the sink's web view. */
  sinkUrl: string;
  /** Starts (or restarts) the detector on its own endpoint and db. */
  startDetector(): Promise<RoleProcess>;
}

/** The sink's `/alerts.json`. */
export interface SinkView {
  count: number;
  duplicates: number;
  ids: string[];
  summary: { rule: string; severity: string; n: number }[];
}

/**
 * Starts feed, detector (SQLite in `dir`), router and sink, each on an ephemeral port.
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 * import { startSoc } from "./testing.ts";
 * await using dir = await tempDir();
 * await using soc = await startSoc(dir.path);
 * console.log(soc.sinkUrl);
 * ```
 */
export async function startSoc(
  dir: string,
  options: { detectorDb?: string } = {},
): Promise<Soc> {
  const procs: RoleProcess[] = [];
  const spawn = async (role: string, args: string[]) => {
    const p = await spawnRole("10", role, args, { env: { LOG_LEVEL: "info" } });
    procs.push(p);
    return p;
  };
  try {
    const feed = await spawn("threat_feed", ["--bind", "tcp://127.0.0.1:*", "--interval", "200"]);
    const feedEndpoint = String((await feed.event("listening")).endpoint);
    const router = await spawn("alert_router", [
      "--bind",
      "tcp://127.0.0.1:*",
      "--urgent",
      `ipc://${dir}/urgent`,
      "--routine",
      `ipc://${dir}/routine`,
    ]);
    const alertsEndpoint = String((await router.event("listening")).endpoint);
    const sink = await spawn("alert_sink", [
      "--urgent",
      `ipc://${dir}/urgent`,
      "--routine",
      `ipc://${dir}/routine`,
      "--db",
      `${dir}/alerts.db`,
      "--http",
      "127.0.0.1:0",
    ]);
    const sinkUrl = String((await sink.event("listening")).endpoint);
    let detectorEndpoint = "tcp://127.0.0.1:*";
    const startDetector = async () => {
      const d = await spawn("anomaly_detector", [
        "--feed",
        feedEndpoint,
        "--bind",
        detectorEndpoint,
        "--db",
        options.detectorDb ?? `${dir}/detector.db`,
      ]);
      detectorEndpoint = String((await d.event("listening")).endpoint);
      return d;
    };
    const detector = await startDetector();
    return {
      feed,
      detector,
      router,
      sink,
      get detectorEndpoint() {
        return detectorEndpoint;
      },
      alertsEndpoint,
      sinkUrl,
      startDetector,
      async [Symbol.asyncDispose]() {
        await Promise.all(procs.map((p) => p[Symbol.asyncDispose]()));
      },
    };
  } catch (error) {
    await Promise.all(procs.map((p) => p[Symbol.asyncDispose]()));
    throw error;
  }
}

/**
 * Reads the sink's `/alerts.json`.
 *
 * @example
 * ```ts
 * import { sinkView } from "./testing.ts";
 * const view = await sinkView("http://127.0.0.1:5615/");
 * console.log(view.count);
 * ```
 */
export async function sinkView(url: string): Promise<SinkView> {
  const r = await fetch(new URL("/alerts.json", url));
  return await r.json();
}

/**
 * Waits until the sink holds `n` alerts (then returns its view).
 *
 * @example
 * ```ts
 * import { waitForAlerts } from "./testing.ts";
 * const view = await waitForAlerts("http://127.0.0.1:5615/", 5);
 * ```
 */
export async function waitForAlerts(url: string, n: number, timeoutMs = 60_000): Promise<SinkView> {
  let view: SinkView | undefined;
  await waitFor(`${n} alerts in the sink`, async () => {
    view = await sinkView(url);
    return view.count >= n;
  }, { timeoutMs });
  return view!;
}
