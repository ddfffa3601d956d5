/**
 * The client side of Lab 16's benchmark (run by `bench.ts` as its own process): N Deno
 * WebSocket clients of the bridge, each subscribed to every topic, plus a raw ZeroMQ SUB on
 * the same publisher, all counting updates and recording latency from the publisher's
 * header `ts` to receive. Reads commands on stdin (`reset`, `report`), answers JSON lines.
 *
 * Run: `deno run -A labs/16-websocket-bridge/bench_clients.ts <ws-url> <origin> <n> <zmq-endpoint>`
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";
import { decodeHeader } from "../04-telemetry-lvc/internal/protocol.ts";
import { Subscriber } from "@lib/zmq/mod.ts";

const [wsUrl, origin, nText, zmqEndpoint] = Deno.args;
const n = Number(nText);
const now = () => performance.timeOrigin + performance.now();
const MAX_SAMPLES = 2_000_000;

class Counter {
  count = 0;
  conflated = 0;
  first = 0;
  last = 0;
  samples = new Float64Array(MAX_SAMPLES);
  taken = 0;
  constructor(readonly sample: boolean) {}
  hit(ts: number, conflated: boolean): void {
    const t = now();
    if (this.count === 0) this.first = t;
    this.last = t;
    this.count++;
    if (conflated) this.conflated++;
    if (this.sample && this.taken < MAX_SAMPLES) this.samples[this.taken++] = t - ts;
  }
  reset(): void {
    this.count =
      this.conflated =
      this.first =
      this.last =
      this.taken =
        0;
  }
}

// Latency samples from every client go to one counter (all clients are alike).
const wsAll = new Counter(true);
const perClient = Array.from({ length: n }, () => new Counter(false));
const raw = new Counter(true);

const sockets: WebSocket[] = [];
await Promise.all(perClient.map((counter) =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { origin } } as unknown as string[]);
    sockets.push(ws);
    ws.onerror = () => reject(new Error("websocket failed"));
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", topics: [""] }));
    ws.onmessage = (e) => {
      const text = e.data as string;
      if (text.startsWith('{"type":"data"') || text.startsWith('{"conflated"')) {
        const m = JSON.parse(text);
        counter.hit(m.ts, m.conflated === true);
        wsAll.hit(m.ts, m.conflated === true);
      } else {
        const m = JSON.parse(text);
        if (m.type === "welcome") resolve();
        if (m.type === "ping") ws.send(JSON.stringify({ type: "pong", t: m.t }));
      }
    };
  })
));

const sub = new Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
sub.subscribe("");
sub.connect(zmqEndpoint);
const rawLoop = (async () => {
  try {
    for await (const frames of sub) raw.hit(decodeHeader(frames[1]).ts, false);
  } catch { /* closed */ }
})();
console.log(JSON.stringify({ type: "ready", clients: n }));

function summary(c: Counter) {
  const [p50, p99] = c.taken > 0
    ? percentiles(c.samples.subarray(0, c.taken), [0.5, 0.99])
    : [0, 0];
  return {
    count: c.count,
    conflated: c.conflated,
    seconds: (c.last - c.first) / 1000,
    p50_ms: p50,
    p99_ms: p99,
  };
}

const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const command = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (command === "reset") {
      wsAll.reset();
      raw.reset();
      for (const c of perClient) c.reset();
      console.log(JSON.stringify({ type: "reset" }));
    } else if (command === "report") {
      console.log(JSON.stringify({
        type: "report",
        ws: summary(wsAll),
        raw: summary(raw),
        per_client_min: Math.min(...perClient.map((c) => c.count)),
        first: Math.min(...perClient.map((c) => c.first || Infinity)),
        last: Math.max(...perClient.map((c) => c.last)),
      }));
    }
  }
}
for (const ws of sockets) ws.close();
sub.close();
await rawLoop;
