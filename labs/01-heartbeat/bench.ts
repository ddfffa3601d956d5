/**
 * Lab 01 benchmark: how many heartbeats per second one dashboard can ingest (receive over
 * lib/zmq PUB-SUB on loopback TCP, decode and schema-check the msgpack, track seq and
 * liveness), beside the raw SUB receive rate of the same messages measured in the same run.
 *
 * Run: `deno run -A labs/01-heartbeat/bench.ts [messages]` (default 100000).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { Publisher, Subscriber, terminate } from "@lib/zmq/mod.ts";
import { FleetMonitor } from "./internal/fleet_monitor.ts";
import { FleetSimulator } from "./internal/fleet_simulator.ts";
import { decodeMessage, heartbeatMessages } from "./internal/protocol.ts";
import { seededRandom } from "@lib/random/mod.ts";

const total = Number(Deno.args[0] ?? 100_000);
const te = new TextEncoder();

// The workload: a 1000-node fleet, heartbeat topics only, pre-encoded.
const fleet = new FleetSimulator({
  size: 1000,
  racks: ["A", "B", "C", "D"],
  intervalMs: 1000,
  random: seededRandom(1),
  newBootId: () => crypto.randomUUID(),
  now: Date.now,
  rates: { degrade: 0, fail: 0 },
});
const messages: [Uint8Array, Uint8Array][] = [];
while (messages.length < total) {
  for (const hb of fleet.tick()) {
    const [topic, payload] = heartbeatMessages(hb)[0];
    messages.push([te.encode(topic), payload]);
  }
}
messages.length = total;

/** Sends every message and returns the receive rate (messages/s) with `handle` applied. */
async function run(handle: (frames: Uint8Array[]) => void): Promise<number> {
  const hwm = total + 1000;
  const sub = new Subscriber({ receiveHighWaterMark: hwm });
  sub.subscribe("hb.", "warmup");
  await sub.bind("tcp://127.0.0.1:*");
  const pub = new Publisher({ sendHighWaterMark: hwm });
  pub.connect(sub.lastEndpoint!);
  // Slow joiner: publish a warm-up message until one arrives (one pending receive).
  let arrived = false;
  const first = sub.receive().then(() => (arrived = true));
  while (!arrived) {
    await pub.send(["warmup", ""]);
    await Promise.race([first, new Promise((r) => setTimeout(r, 50))]);
  }
  let received = 0;
  let started = 0;
  const done = (async () => {
    for await (const frames of sub) {
      if (frames[0].length === 6 && new TextDecoder().decode(frames[0]) === "warmup") continue;
      if (received === 0) started = performance.now();
      handle(frames);
      if (++received === total) break;
    }
    return performance.now() - started;
  })();
  for (const frames of messages) await pub.send(frames);
  const elapsed = await done;
  pub.close();
  sub.close();
  return (total - 1) / (elapsed / 1000);
}

const raw = await run(() => {});
const monitor = new FleetMonitor({
  clock: systemClock,
  mode: "heartbeats",
  intervalMs: 1000,
  maxNodes: 10_000,
});
const ingest = await run((frames) => monitor.receive(decodeMessage(frames)));
await terminate();

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `lab01 dashboard ingest: ${fmt(ingest)} heartbeats/s (decode + schema + seq + liveness, ` +
    `${total} msgs, 1000 nodes) | raw SUB receive: ${fmt(raw)} msgs/s | ratio ${
      (ingest / raw).toFixed(2)
    }`,
);
