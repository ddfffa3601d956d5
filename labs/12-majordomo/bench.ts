/**
 * Lab 12 benchmark: requests per second through majordomo_broker with 1 and 4 echo_workers,
 * synchronous (client_requester --mode sync: one REQ request at a time) and asynchronous
 * (--mode async, a DEALER with --window in flight), beside the ceiling measured in the
 * same run: a raw DEALER-to-ROUTER echo with no broker (one process, no MDP framing).
 *
 * Run: `deno run -A labs/12-majordomo/bench.ts [--sync 2000] [--async 20000] [--window 50]`
 *
 * @module
 */
import { Dealer, Router } from "@lib/zmq/mod.ts";
import { runClient, startBroker, startWorker } from "./testing.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const SYNC = flag("sync", 2000);
const ASYNC = flag("async", 20_000);
const WINDOW = flag("window", 50);

/** Raw echo: a ROUTER that sends every message back, a DEALER keeping `window` in flight. */
async function rawEcho(requests: number, window: number): Promise<number> {
  const router = new Router({ linger: 0 });
  const dealer = new Dealer({ linger: 0 });
  try {
    await router.bind("tcp://127.0.0.1:*");
    dealer.connect(router.lastEndpoint!);
    const echo = (async () => {
      for await (const frames of router) await router.send(frames);
    })().catch(() => {});
    const body = new TextEncoder().encode("hello");
    const started = performance.now();
    let sent = 0;
    for (; sent < Math.min(window, requests); sent++) await dealer.send([new Uint8Array(0), body]);
    for (let received = 0; received < requests; received++) {
      await dealer.receive();
      if (sent < requests) {
        await dealer.send([new Uint8Array(0), body]);
        sent++;
      }
    }
    const rate = requests / ((performance.now() - started) / 1000);
    router.close();
    await echo;
    return rate;
  } finally {
    dealer.close();
    if (!router.closed) router.close();
  }
}

async function throughBroker(workers: number): Promise<{ sync: number; async: number }> {
  await using broker = await startBroker(["--queue-size", "100000"]);
  const procs = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(await startWorker(broker, "echo"));
    const rps = async (args: string[]) => {
      const run = await runClient(broker.endpoint, ["--quiet", ...args]);
      const summary = run.events.find((e) => e.event === "summary");
      if (run.code !== 0 || !summary) throw new Error(`client failed: ${run.stderr}`);
      return Number(summary.rps);
    };
    return {
      sync: await rps(["--requests", String(SYNC)]),
      async: await rps([
        "--mode",
        "async",
        "--window",
        String(WINDOW),
        "--requests",
        String(ASYNC),
      ]),
    };
  } finally {
    for (const p of procs) await p[Symbol.asyncDispose]();
  }
}

const raw = { sync: await rawEcho(SYNC, 1), async: await rawEcho(ASYNC, WINDOW) };
const one = await throughBroker(1);
const four = await throughBroker(4);

console.log(
  `Lab 12 Majordomo throughput (sync: ${SYNC} requests one at a time; async: ${ASYNC}, window ${WINDOW})`,
);
console.log("path                          sync req/s   async req/s   async vs ceiling");
const row = (name: string, r: { sync: number; async: number }) =>
  console.log(
    `${name.padEnd(28)} ${r.sync.toFixed(0).padStart(11)} ${r.async.toFixed(0).padStart(13)} ${
      (r.async / raw.async * 100).toFixed(0).padStart(17)
    }%`,
  );
row("raw DEALER-ROUTER (ceiling)", raw);
row("broker + 1 echo_worker", one);
row("broker + 4 echo_workers", four);
