/**
 * Lab 22 benchmark: forwarded messages per second through the hub, request/reply with
 * `client_app client` (4 DEALER clients, window 50, 64-byte bodies) and 2 `client_app
 * worker` echo workers, in the same run for:
 * 1. libzmq's `zmq_proxy` (FFI, in a second process: `bench/zmq_proxy.ts`): the ceiling;
 * 2. a plain manual pump on lib/zmq with no observation (`bench/plain_pump.ts`);
 * 3. `monitored_broker` with counters, histograms and per-peer stats (capture, metrics off);
 * 4. 3 + the metrics endpoint scraped every 250 ms;
 * 5. 4 + capture to a `client_app tap --quiet` subscriber.
 * Forwarded = requests + replies. Prints each rate and the cost ratios, and first the CPU
 * time the observation itself takes per message (the proxy with stub sockets, in process).
 *
 * Run: `deno run -A labs/22-observable-broker/bench.ts [--requests N] [--runs N]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { systemClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { spawnRole, spawnScript } from "@lib/testing/mod.ts";
import { ObservableProxy } from "./internal/observable_proxy.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    runs: { type: "string", default: "3" },
  },
});
const REQUESTS = Number(values.requests);
const RUNS = Number(values.runs);
const CLIENTS = 4;
const HWM = 10_000;
const here = new URL(".", import.meta.url).pathname;

type Proc = Awaited<ReturnType<typeof spawnRole>>;

interface Hub {
  frontend: string;
  backend: string;
  extra: Proc[];
  proc: Proc;
  metrics?: string;
}

async function scriptHub(script: string): Promise<Hub> {
  const proc = await spawnScript(`${here}bench/${script}`, ["ffi", "env", "read"], [String(HWM)]);
  const line = await proc.stdoutLine((l) => l.startsWith("{"), { timeout: 30_000 });
  const { frontend, backend } = JSON.parse(line);
  return { frontend, backend, proc, extra: [] };
}

async function brokerHub(metrics: boolean, capture: boolean): Promise<Hub> {
  const proc = await spawnRole("22", "monitored_broker", [
    "--frontend",
    "tcp://127.0.0.1:*",
    "--backend",
    "tcp://127.0.0.1:*",
    "--capture",
    capture ? "tcp://127.0.0.1:*" : "off",
    "--control",
    "off",
    "--metrics",
    metrics ? "127.0.0.1:0" : "off",
    "--stats-interval",
    "0",
    "--hwm",
    String(HWM),
  ]);
  const at = async (socket: string) =>
    String((await proc.event("listening", (e) => e.socket === socket)).endpoint);
  const hub: Hub = {
    proc,
    frontend: await at("frontend"),
    backend: await at("backend"),
    extra: [],
  };
  if (metrics) hub.metrics = await at("metrics");
  if (capture) {
    const tap = await spawnRole("22", "client_app", [
      "tap",
      "--connect",
      await at("capture"),
      "--quiet",
      "--stats-interval",
      "0",
    ]);
    await tap.event("tap_ready");
    hub.extra.push(tap);
  }
  return hub;
}

async function measure(hub: Hub): Promise<number> {
  const workers = [];
  for (let i = 0; i < 2; i++) {
    const w = await spawnRole("22", "client_app", [
      "worker",
      "--connect",
      hub.backend,
      "--stats-interval",
      "0",
    ]);
    await w.event("worker_ready");
    workers.push(w);
  }
  let scraping = true;
  const scraper = (async () => {
    while (hub.metrics && scraping) {
      await (await fetch(hub.metrics)).text();
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const client = await spawnRole("22", "client_app", [
    "client",
    "--connect",
    hub.frontend,
    "--clients",
    String(CLIENTS),
    "--window",
    "50",
    "--count",
    String(REQUESTS / CLIENTS),
    "--stats-interval",
    "0",
    "--timeout",
    "60000",
    "--json",
  ]);
  const started = Date.parse(
    String((await client.event("clients_started", undefined, { timeout: 30_000 })).ts),
  );
  const done = await client.event("clients_done", undefined, { timeout: 300_000 });
  const seconds = (Date.parse(String(done.ts)) - started) / 1000;
  scraping = false;
  await scraper;
  await client.wait();
  for (const w of workers) await w.stop();
  for (const p of hub.extra) await p.stop();
  await hub.proc.kill();
  if (Number(done.replied) !== REQUESTS) {
    throw new Error(`expected ${REQUESTS} replies, got ${done.replied}`);
  }
  return (2 * REQUESTS) / seconds;
}

/** ns of observation per forwarded message: ObservableProxy with sockets that take at once. */
function observationNs(capture: boolean): number {
  const port = { trySend: () => true, send: () => Promise.resolve() };
  const proxy = new ObservableProxy({
    clock: systemClock,
    log: createMemoryLogger(),
    toBackend: port,
    toFrontend: port,
    capture: capture ? () => true : undefined,
    maxPeers: 1024,
    maxPendingPerPeer: 64,
  });
  const ids = Array.from({ length: CLIENTS }, (_, i) => new Uint8Array([0, 0x80, 0, 0, i]));
  const body = new Uint8Array(64);
  const n = 500_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[i % CLIENTS];
    proxy.fromFrontend([id, new Uint8Array(0), body]);
    proxy.fromBackend([id, new Uint8Array(0), body]);
  }
  return ((performance.now() - t0) * 1e6) / (2 * n);
}
const plainNs = observationNs(false);
const captureNs = observationNs(true);
console.log(
  `observation cost (in process, stub sockets): ${plainNs.toFixed(0)} ns/message, ` +
    `${captureNs.toFixed(0)} ns/message with capture`,
);

const setups: [string, () => Promise<Hub>][] = [
  ["zmq_proxy (libzmq, C)", () => scriptHub("zmq_proxy.ts")],
  ["plain manual pump (lib/zmq, no observation)", () => scriptHub("plain_pump.ts")],
  ["monitored_broker (counters, histograms, peers)", () => brokerHub(false, false)],
  ["  + metrics scraped every 250 ms", () => brokerHub(true, false)],
  ["  + capture to a subscriber", () => brokerHub(true, true)],
];
console.log(
  `lab22 bench: ${REQUESTS} requests (x2 forwarded), ${CLIENTS} clients window 50, 2 echo workers, ${RUNS} runs (median)`,
);
const results: number[][] = setups.map(() => []);
for (let run = 0; run < RUNS; run++) {
  for (const [i, [name, make]] of setups.entries()) {
    const rate = await measure(await make());
    results[i].push(rate);
    console.log(`  run ${run + 1} ${name}: ${Math.round(rate).toLocaleString("en-US")} msgs/s`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = results.map(median);
for (const [i, [name]] of setups.entries()) {
  console.log(
    `${name.padEnd(48)} ${Math.round(m[i]).toLocaleString("en-US").padStart(10)} msgs/s  ` +
      `x${(m[i] / m[0]).toFixed(2)} of zmq_proxy, x${(m[i] / m[1]).toFixed(2)} of the plain pump`,
  );
}
const cost = (x: number) => `${((1 - x) * 100).toFixed(0)} %`;
console.log(
  `headline: monitored_broker ${
    Math.round(m[2]).toLocaleString("en-US")
  } msgs/s; observability costs ` +
    `${cost(m[2] / m[1])} (all on: ${cost(m[4] / m[1])}) against the plain pump, ${
      cost(m[2] / m[0])
    } against zmq_proxy`,
);
