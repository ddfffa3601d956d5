/**
 * Lab 16 benchmark: updates fanned out by the real zmq_bridge (its own process) to 1, 10
 * and 100 Deno WebSocket clients (another process), beside a raw ZeroMQ SUB on the same
 * publisher in the clients' process, in the same run.
 *
 * For each client count: a flood (`count` small readings as fast as the XPUB takes them)
 * gives updates/s per client and deliveries/s in all; a paced run for 3 s at
 * min(`rate`, 5000 / clients) updates/s (at most 5,000 deliveries/s asked, under what the
 * bridge sustains, so latency is not queueing) gives latency p50/p99 from the publisher's
 * header `ts` to receive, for the WebSocket clients and for the raw SUB. Ratios: to the
 * 1-client figure and to the raw SUB.
 *
 * Run: `deno run -A labs/16-websocket-bridge/bench.ts [count] [rate]` (default 20000, 1000).
 *
 * @module
 */

import { spawnRole } from "@lib/testing/mod.ts";
import { terminate, XPublisher } from "@lib/zmq/mod.ts";
import {
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
} from "../04-telemetry-lvc/internal/protocol.ts";

const count = Number(Deno.args[0] ?? 20_000);
const rate = Number(Deno.args[1] ?? 1000);
const te = new TextEncoder();
const topics = Array.from({ length: 50 }, (_, i) => te.encode(`bench/sensor/${i}`));

const pub = new XPublisher({ sendHighWaterMark: 0, linger: 0 });
await pub.bind("tcp://127.0.0.1:*");
const subscribers = new Set<string>();
const subLoop = (async () => {
  try {
    for await (const [f] of pub) {
      subscribers.add(`${f[0]}${new TextDecoder().decode(f.subarray(1))}`);
    }
  } catch { /* closed */ }
})();

await using bridge = await spawnRole("16", "zmq_bridge", [
  "--listen",
  "127.0.0.1:0",
  "--connect",
  pub.lastEndpoint!,
  "--auth-secret",
  "bench-token-16",
  "--receive-hwm",
  "1000000",
  "--ping-interval",
  "60000",
  "--ping-timeout",
  "120000",
  "--json",
  "--refresh",
  "60000",
]);
const url = String((await bridge.event("listening", undefined, { timeout: 30_000 })).endpoint);
const port = new URL(url).port;

let seq = 0;
function frames(): Uint8Array[] {
  seq++;
  const ts = performance.timeOrigin + performance.now();
  return [
    topics[seq % topics.length],
    encodeHeader({ seq, ts, units: "degC", schema: READING_SCHEMA }),
    encodeReading(seq / 10, new Uint8Array()),
  ];
}

interface Side {
  count: number;
  conflated: number;
  seconds: number;
  p50_ms: number;
  p99_ms: number;
}
interface Report {
  ws: Side;
  raw: Side;
  per_client_min: number;
  first: number;
  last: number;
}

class Clients {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: Promise<void>;
  constructor(n: number) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./bench_clients.ts", import.meta.url).pathname,
        `ws://127.0.0.1:${port}/ws?token=bench-token-16`,
        `http://127.0.0.1:${port}`,
        String(n),
        pub.lastEndpoint!,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    this.#reader = (async () => {
      let pending = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          this.lines.push(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    })();
  }
  async next(type: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const start = performance.now();
    while (performance.now() - start < timeoutMs) {
      const i = this.lines.findIndex((l) => l.includes(`"type":"${type}"`));
      if (i >= 0) return JSON.parse(this.lines.splice(i, 1)[0]);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${type} from bench_clients`);
  }
  async command(line: string): Promise<void> {
    await this.#writer.write(te.encode(line + "\n"));
  }
  async report(): Promise<Report> {
    await this.command("report");
    return await this.next("report") as unknown as Report;
  }
  /**
   * Reports until the WebSocket clients got `expected` updates, or their count stopped
   * moving for `quietMs` (conflation sends fewer), or `timeoutMs` passed.
   */
  async settle(expected: number, quietMs = 5000, timeoutMs = 180_000): Promise<Report> {
    const start = performance.now();
    let last = await this.report();
    let movedAt = performance.now();
    while (last.ws.count < expected && performance.now() - start < timeoutMs) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await this.report();
      if (now.ws.count !== last.ws.count) movedAt = performance.now();
      else if (now.ws.count > 0 && performance.now() - movedAt > quietMs) return now;
      last = now;
    }
    await new Promise((r) => setTimeout(r, 250)); // the raw SUB's last ones
    return await this.report();
  }
  async close(): Promise<void> {
    await this.#writer.close();
    await this.child.status;
    await this.#reader;
  }
}

async function waitSubscribed(): Promise<void> {
  const start = performance.now();
  while (!subscribers.has("1")) {
    if (performance.now() - start > 30_000) throw new Error("no subscription reached the XPUB");
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Row {
  n: number;
  flooded: number;
  pacedRate: number;
  perClient: number;
  total: number;
  raw: number;
  conflated: number;
  minShare: number;
  p50: number;
  p99: number;
  rawP50: number;
  rawP99: number;
}

const rows: Row[] = [];
for (const n of [1, 10, 100]) {
  const clients = new Clients(n);
  await clients.next("ready");
  await waitSubscribed();
  await new Promise((r) => setTimeout(r, 500));

  // Flood: as fast as the XPUB takes them.
  await clients.command("reset");
  await clients.next("reset");
  // At most 400,000 deliveries per flood (the bridge does some 10-30k/s here).
  const flooded = Math.min(count, Math.floor(400_000 / n));
  for (let i = 0; i < flooded; i++) {
    await pub.send(frames());
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 0));
  }
  const flood = await clients.settle(flooded * n);
  const wsSeconds = Math.max(1e-3, (flood.last - flood.first) / 1000);
  const deliveries = flood.ws.count;

  // Paced: latency.
  await clients.command("reset");
  await clients.next("reset");
  const pacedRate = Math.min(rate, Math.floor(5000 / n));
  const paced = pacedRate * 3;
  const start = performance.now();
  for (let i = 0; i < paced; i++) {
    const due = start + (i * 1000) / pacedRate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    await pub.send(frames());
  }
  const latency = await clients.settle(paced * n);
  rows.push({
    n,
    pacedRate,
    perClient: deliveries / n / wsSeconds,
    total: deliveries / wsSeconds,
    flooded,
    raw: flood.raw.count / Math.max(1e-3, flood.raw.seconds),
    conflated: flood.ws.conflated,
    minShare: flood.per_client_min / flooded,
    p50: latency.ws.p50_ms,
    p99: latency.ws.p99_ms,
    rawP50: latency.raw.p50_ms,
    rawP99: latency.raw.p99_ms,
  });
  await clients.close();
  // Wait for the bridge to drop the old clients' subscriptions before the next round.
  await new Promise((r) => setTimeout(r, 500));
}

const one = rows[0];
const f = (x: number, d = 0) => x.toFixed(d);
console.log(
  `lab16 bench: zmq_bridge fan-out: a flood of min(${count}, 400000/clients) readings, then paced for 3 s`,
);
console.log(
  "clients  flooded  updates/s/client  deliveries/s  vs 1 client  raw SUB msg/s  client/raw  min got  conflated | paced/s  p50 ms  p99 ms  raw p50  raw p99  p50/raw  p50 vs 1",
);
for (const r of rows) {
  console.log(
    [
      String(r.n).padStart(7),
      String(r.flooded).padStart(7),
      f(r.perClient).padStart(16),
      f(r.total).padStart(12),
      f(r.total / one.total, 2).padStart(11),
      f(r.raw).padStart(13),
      f(r.perClient / r.raw, 2).padStart(10),
      `${f(r.minShare * 100)}%`.padStart(7),
      String(r.conflated).padStart(9),
      "|",
      String(r.pacedRate).padStart(7),
      f(r.p50, 2).padStart(6),
      f(r.p99, 2).padStart(7),
      f(r.rawP50, 2).padStart(7),
      f(r.rawP99, 2).padStart(7),
      f(r.p50 / r.rawP50, 2).padStart(7),
      f(r.p50 / one.p50, 2).padStart(8),
    ].join("  "),
  );
}
console.log(
  "deliveries/s = updates received by all WebSocket clients per second; client/raw = one client's updates/s over the raw SUB's in the same flood; min got = the share of the flood the least-served client received (the rest conflated away)",
);
await bridge.stop();
pub.close();
await subLoop;
await terminate();
