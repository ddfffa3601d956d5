/**
 * Lab 03 benchmark: request-reply round trips per second and p50/p99 latency of the
 * admin CLI's client library (Lazy Pirate + protocol) against a real node_agent process,
 * beside a raw lib/zmq REQ against a raw REP echo process measured in the same run.
 *
 * Run: `deno run -A labs/03-node-inspector/bench.ts [--rounds N]`.
 * (With `--echo`, this file is the echo peer: it binds, prints its endpoint and echoes.)
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";
import { spawnRole } from "@lib/testing/mod.ts";
import { Reply, Request } from "@lib/zmq/mod.ts";
import { AdminClient } from "./internal/admin_client.ts";

/** Latency summary of one series, in ms. */
interface Series {
  name: string;
  rounds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

function summarize(name: string, samples: number[], wallMs: number): Series {
  const [p50, p99] = percentiles(samples, [0.5, 0.99]);
  return { name, rounds: samples.length, perSecond: samples.length / (wallMs / 1000), p50, p99 };
}

async function measure(
  name: string,
  rounds: number,
  warmup: number,
  once: () => Promise<void>,
): Promise<Series> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  return summarize(name, samples, performance.now() - started);
}

async function echoServer(): Promise<void> {
  const rep = new Reply({ linger: 0 });
  await rep.bind("tcp://127.0.0.1:*");
  console.log(rep.lastEndpoint);
  Deno.addSignalListener("SIGTERM", () => {
    rep.close();
    Deno.exit(0);
  });
  for await (const frames of rep) await rep.send(frames);
}

async function startEcho(): Promise<{ endpoint: string; proc: Deno.ChildProcess }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-env", "--allow-read", import.meta.filename!, "--echo"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = Date.now() + 10_000;
  while (!buffered.includes("\n")) {
    if (Date.now() > deadline) throw new Error("echo peer did not print its endpoint in 10 s");
    const { value, done } = await reader.read();
    if (done) throw new Error("echo peer exited before printing its endpoint");
    buffered += value;
  }
  reader.releaseLock();
  proc.stdout.cancel().catch(() => {});
  return { endpoint: buffered.trim(), proc };
}

function row(s: Series): string {
  return `${s.name.padEnd(34)} ${s.perSecond.toFixed(0).padStart(7)} rt/s   p50 ${
    s.p50.toFixed(3).padStart(7)
  } ms   p99 ${s.p99.toFixed(3).padStart(7)} ms`;
}

async function main(): Promise<void> {
  const roundsFlag = Deno.args.indexOf("--rounds");
  const rounds = roundsFlag >= 0 ? Number(Deno.args[roundsFlag + 1]) : 3000;
  if (!Number.isInteger(rounds) || rounds < 100) {
    console.error(
      `bench: error: expected --rounds <integer >= 100>, got ${Deno.args[roundsFlag + 1]}`,
    );
    Deno.exit(2);
  }
  const warmup = Math.max(50, Math.floor(rounds / 10));

  await using agent = await spawnRole("03", "node_agent", ["--bind", "tcp://127.0.0.1:*"]);
  const { endpoint: agentEndpoint } = await agent.event("listening");
  const echo = await startEcho();
  try {
    // Peer: the raw binding, one REQ socket, 1-frame payload of the same size as a ping.
    const req = new Request({ linger: 0 });
    req.connect(echo.endpoint);
    const payload = new Uint8Array(24);
    const raw = await measure("raw lib/zmq REQ -> REP echo", rounds, warmup, async () => {
      await req.send(payload);
      await req.receive();
    });
    req.close();

    const client = new AdminClient({
      endpoint: String(agentEndpoint),
      timeout: 5000,
      retries: 1,
    });
    const ping = await measure("admin client ping -> node_agent", rounds, warmup, async () => {
      const { reply } = await client.call("ping");
      if (!reply.ok) throw new Error(`ping failed: ${reply.error.message}`);
    });
    const psRounds = Math.max(20, Math.floor(rounds / 20));
    const ps = await measure("admin client ps --top 10", psRounds, 5, async () => {
      const { reply } = await client.call("ps", { top: 10 });
      if (!reply.ok) throw new Error(`ps failed: ${reply.error.message}`);
    });
    client.close();

    console.log(`lab 03 node inspector: REQ-REP round trips (${rounds} sequential)`);
    console.log(row(raw));
    console.log(row(ping));
    console.log(row(ps));
    console.log(
      `headline: ${ping.perSecond.toFixed(0)} round trips/s (p50 ${ping.p50.toFixed(3)} ms, ` +
        `p99 ${ping.p99.toFixed(3)} ms); ratio to raw REQ-REP echo ${
          (ping.perSecond / raw.perSecond).toFixed(2)
        }x`,
    );
  } finally {
    echo.proc.kill("SIGTERM");
    await echo.proc.status;
    await agent.stop();
  }
}

if (Deno.args.includes("--echo")) await echoServer();
else await main();
