/**
 * Lab 04 benchmark: updates per second from a telemetry_source through the lvc_broker to
 * a subscriber, beside the same source publishing straight to the same subscriber
 * (direct PUB→SUB), measured in the same run. Prints both rates and their ratio.
 *
 * Run: `deno run -A labs/04-telemetry-lvc/bench.ts [--sensors N] [--rounds N] [--blob N] [--runs N]`
 *
 * @module
 */
import { spawnRole } from "@lib/testing/mod.ts";
import { Subscriber } from "@lib/zmq/mod.ts";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    sensors: { type: "string", default: "1000" },
    rounds: { type: "string", default: "100" },
    blob: { type: "string", default: "16" },
    runs: { type: "string", default: "3" },
  },
});
const SENSORS = Number(values.sensors);
const ROUNDS = Number(values.rounds);
const BLOB = Number(values.blob);
const RUNS = Number(values.runs);
const TOTAL = SENSORS * ROUNDS;
const HWM = Math.max(TOTAL, 1000);
const IDLE_MS = 2000;

interface Result {
  received: number;
  seconds: number;
  rate: number;
}

/** Counts messages until TOTAL arrived or nothing came for IDLE_MS; rate from first to last. */
async function receiveAll(sub: Subscriber): Promise<Result> {
  let received = 0;
  let first = 0;
  let last = 0;
  sub.receiveTimeout = IDLE_MS;
  // The first message may take a while (process start-up): wait longer for it.
  const firstDeadline = Date.now() + 30_000;
  while (received < TOTAL) {
    try {
      await sub.receive();
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") {
        if (received === 0 && Date.now() < firstDeadline) continue;
        break;
      }
      throw error;
    }
    last = performance.now();
    if (received === 0) first = last;
    received++;
  }
  const seconds = (last - first) / 1000;
  return { received, seconds, rate: seconds > 0 ? (received - 1) / seconds : 0 };
}

function sourceArgs(connect: string): string[] {
  return [
    "--connect",
    connect,
    "--sensors",
    String(SENSORS),
    "--count",
    String(ROUNDS),
    "--rate",
    "0",
    "--blob-bytes",
    String(BLOB),
    "--send-hwm",
    String(HWM),
  ];
}

async function direct(): Promise<Result> {
  await using sub = new Subscriber({ receiveHighWaterMark: HWM });
  sub.subscribe("");
  await sub.bind("tcp://127.0.0.1:*");
  await using source = await spawnRole("04", "telemetry_source", sourceArgs(sub.lastEndpoint!));
  const result = await receiveAll(sub);
  await source.stop();
  return result;
}

async function viaBroker(): Promise<Result> {
  await using broker = await spawnRole("04", "lvc_broker", [
    "--frontend",
    "tcp://127.0.0.1:*",
    "--backend",
    "tcp://127.0.0.1:*",
    "--send-hwm",
    String(HWM),
    "--receive-hwm",
    String(HWM),
    "--stats-interval",
    "0",
  ]);
  const frontend = String(
    (await broker.event("listening", (e) => e.socket === "frontend")).endpoint,
  );
  const backend = String((await broker.event("listening", (e) => e.socket === "backend")).endpoint);
  await using sub = new Subscriber({ receiveHighWaterMark: HWM });
  sub.subscribe("");
  sub.connect(backend);
  await broker.event("subscribed", (e) => e.prefix === "");
  await using source = await spawnRole("04", "telemetry_source", sourceArgs(frontend));
  const result = await receiveAll(sub);
  await source.stop();
  await broker.stop();
  return result;
}

const fmt = (r: Result) =>
  `${Math.round(r.rate).toLocaleString("en-US")} updates/s (${r.received}/${TOTAL} received in ${
    r.seconds.toFixed(2)
  } s)`;

const median = (rs: Result[]) => [...rs].sort((a, b) => a.rate - b.rate)[Math.floor(rs.length / 2)];

console.log(
  `lab04 bench: ${SENSORS} sensors x ${ROUNDS} rounds = ${TOTAL} updates, ${BLOB + 12}-byte ` +
    `payloads, ${RUNS} alternating runs each (median)`,
);
const directs: Result[] = [];
const brokered: Result[] = [];
for (let i = 0; i < RUNS; i++) {
  directs.push(await direct());
  console.log(`  run ${i + 1} direct PUB→SUB:     ${fmt(directs[i])}`);
  brokered.push(await viaBroker());
  console.log(`  run ${i + 1} through lvc_broker: ${fmt(brokered[i])}`);
}
const d = median(directs);
const b = median(brokered);
console.log(`direct PUB→SUB (median):     ${fmt(d)}`);
console.log(`through lvc_broker (median): ${fmt(b)}`);
console.log(
  `headline: ${Math.round(b.rate).toLocaleString("en-US")} updates/s through the broker, ` +
    `ratio to direct ${(b.rate / d.rate).toFixed(2)}`,
);
