/**
 * Lab 20 benchmark: requests/s and latency through the real 4-service chain (gateway → auth
 * → orders → inventory, one process each, a real trace_collector) with tracing off, on
 * (sampled 100 %), and on with the collector stalled (SIGSTOP for the whole run), each as a
 * ratio to the tracing-off figure measured in the same run. The goal: within 10 %.
 *
 * The three chains run side by side and the load runs are interleaved (off, on, stalled,
 * off, ...) for `rounds` rounds; each figure is the median of its rounds, so a shared,
 * noisy machine drifts all three alike. Beside req/s (which a loaded machine blurs), the CPU
 * time the four service processes spent per request (utime + stime from /proc/<pid>/stat)
 * measures what tracing costs the request path itself, independent of the machine's load.
 *
 * Run: `deno run -A labs/20-distributed-tracing/bench.ts [requests] [concurrency] [rounds]`
 * (defaults 2000 requests per run, 8 in flight, 3 rounds; one warm-up run per chain first).
 *
 * @module
 */

import { runOnce } from "@lib/testing/mod.ts";
import { type Chain, type Collector, startChain, startCollector } from "./testing.ts";

const requests = Number(Deno.args[0] ?? 2000);
const concurrency = Number(Deno.args[1] ?? 8);
const rounds = Number(Deno.args[2] ?? 3);

type Mode = "off" | "on" | "stalled";
const MODES: Mode[] = ["off", "on", "stalled"];
const LABEL: Record<Mode, string> = {
  off: "tracing off",
  on: "tracing on (100 % sampled)",
  stalled: "on, collector stalled",
};

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** CPU the chain's 4 service processes spent per request, µs (/proc/<pid>/stat). */
  cpuUs: number;
  /** CPU the collector spent per request, µs. */
  collectorUs: number;
}

/** utime + stime of a process in ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return 0;
  }
}

async function load(chain: Chain, collector: Collector, n: number): Promise<Run> {
  const cpu = () => chain.services.reduce((sum, p) => sum + cpuMs(p.pid), 0);
  const chainBefore = cpu();
  const collectorBefore = cpuMs(collector.proc.pid);
  const run = await runOnce("20", "monitored_service", [
    "load",
    "--target",
    chain.endpoint,
    "--requests",
    String(n),
    "--concurrency",
    String(concurrency),
  ], { timeout: 300_000 });
  const summary = run.events.find((e) => e.event === "summary");
  if (run.code !== 0 || !summary) throw new Error(`load failed: ${run.stderr}`);
  const latency = summary.latency_ms as { p50: number; p99: number };
  return {
    rps: Number(summary.rps),
    p50: latency.p50,
    p99: latency.p99,
    cpuUs: ((cpu() - chainBefore) * 1000) / n,
    collectorUs: ((cpuMs(collector.proc.pid) - collectorBefore) * 1000) / n,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const collectors = new Map<Mode, Collector>();
const chains = new Map<Mode, Chain>();
try {
  for (const mode of MODES) {
    // Small socket buffers on the telemetry plane, so a stalled collector fills them within
    // the run and the exporter really drops (rather than the kernel absorbing every span).
    const collector = await startCollector(
      ["--trace-timeout", "500", "--keep", "50", "--receive-buffer", "64KiB"],
      "info",
    );
    collectors.set(mode, collector);
    const args = mode === "off"
      ? ["--tracing", "off"]
      : ["--sample-ratio", "1", "--export-hwm", "16", "--export-sndbuf", "65536"];
    const chain = await startChain(collector.endpoint, [...args, "--stats-interval", "0"]);
    chains.set(mode, chain);
    await load(chain, collector, Math.ceil(requests / 4)); // warm-up (JIT, connections)
    if (mode === "stalled") collector.proc.signal("SIGSTOP");
  }
  const runs = new Map<Mode, Run[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    for (const mode of MODES) {
      runs.get(mode)!.push(await load(chains.get(mode)!, collectors.get(mode)!, requests));
    }
  }
  const dropped = new Map<Mode, number>();
  for (const mode of MODES) {
    let n = 0;
    for (const service of chains.get(mode)!.services) {
      await service.stop({ timeout: 30_000 });
      const stats = service.events.find((e) => e.event === "exporter_stats");
      n += (stats?.export as { dropped: number } | undefined)?.dropped ?? 0;
    }
    dropped.set(mode, n);
  }
  const figure = (mode: Mode) => {
    const list = runs.get(mode)!;
    return {
      rps: median(list.map((x) => x.rps)),
      p50: median(list.map((x) => x.p50)),
      p99: median(list.map((x) => x.p99)),
      cpuUs: median(list.map((x) => x.cpuUs)),
      collectorUs: median(list.map((x) => x.collectorUs)),
    };
  };
  const off = figure("off");
  console.log(
    `lab20: 4 hops (gateway → auth → orders → inventory), ${requests} requests × ${rounds} ` +
      `rounds per mode, ${concurrency} in flight; medians`,
  );
  for (const mode of MODES) {
    const f = figure(mode);
    console.log(
      `${LABEL[mode].padEnd(28)} ${String(f.rps).padStart(6)} req/s  ratio ${
        (f.rps / off.rps).toFixed(2)
      }  p50 ${f.p50.toFixed(2)} ms (${(f.p50 / off.p50).toFixed(2)}×)  p99 ${
        f.p99.toFixed(2)
      } ms  services' CPU ${f.cpuUs.toFixed(0)} µs/req (${
        (f.cpuUs / off.cpuUs).toFixed(2)
      }×)  collector ${f.collectorUs.toFixed(0)} µs/req  spans dropped ${dropped.get(mode)}`,
    );
  }
} finally {
  for (const collector of collectors.values()) collector.proc.signal("SIGCONT");
  for (const chain of chains.values()) await chain[Symbol.asyncDispose]();
  for (const collector of collectors.values()) await collector[Symbol.asyncDispose]();
}
