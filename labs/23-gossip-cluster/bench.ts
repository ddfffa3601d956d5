/**
 * Lab 23 benchmark: how long a join and a failure take to reach every member, against
 * cluster size, beside the log(N) expectation, and what the protocol costs in bytes per node
 * per second.
 *
 * - Simulated (the sans-IO SWIM core in one process, virtual time, 0.5-1.5 ms links,
 *   memberlist's LAN timing: probe 1 s, ack timeout 500 ms, gossip 200 ms to 3 members,
 *   suspicion ×4): N = 5, 10, 20, 40, median of 5 trials each.
 * - Real processes (gossip_node on loopback, the tests' fast timing: probe 500 ms, gossip
 *   100 ms, suspicion ×4): N = 5, 10, 20, one trial each (skip with `--sim-only`).
 *
 * Expectations printed beside each figure: a join spreads epidemically, in about
 * `log2(N)` gossip intervals; a failure is detected within about one probe interval and
 * then needs the suspicion timeout, whose floor is `4·log10(N)·probe interval` (Lifeguard
 * confirmations bring it down to that floor), so the expectation is that floor.
 *
 * Run: `deno run -A labs/23-gossip-cluster/bench.ts [--sim-only]`.
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";
import { SimCluster } from "./internal/sim.ts";
import type { SwimConfig } from "./internal/swim.ts";
import { FAST, startCluster, waitAllSee, waitOneView } from "./testing.ts";

const simOnly = Deno.args.includes("--sim-only");
const LAN: Partial<SwimConfig> = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  suspicionMult: 4,
  syncIntervalMs: 30_000,
};

const expectedJoin = (n: number, gossipMs: number) => gossipMs * Math.log2(n);
const expectedFail = (n: number, probeMs: number) => 4 * Math.max(1, Math.log10(n)) * probeMs;
const median = (xs: number[]) => percentiles(xs, [0.5])[0];

function simTrial(n: number, seed: number): { join: number; fail: number; bytes: number } {
  const sim = new SimCluster({ seed, config: LAN, latencyMs: 0.5, jitterMs: 1 });
  sim.add("n0");
  for (let i = 1; i < n - 1; i++) sim.add(`n${i}`, `n${i % Math.min(i, 3)}`);
  if (sim.runUntil(() => sim.converged(), 120_000) === undefined) throw new Error("no convergence");
  sim.run(5000);
  // Steady-state cost, before the join and failure.
  const before = [...sim.nodes.values()].map((x) => x.bytesSent + x.bytesReceived);
  sim.run(20_000);
  const after = [...sim.nodes.values()].map((x) => x.bytesSent + x.bytesReceived);
  const bytes = after.reduce((s, b, i) => s + b - before[i], 0) / 2 / (n - 1) / 20;
  const joiner = `n${n - 1}`;
  sim.add(joiner, "n0");
  const join = sim.runUntil(() => sim.allSee(joiner, "alive"), 120_000, 1);
  const victim = `n${1 + (seed % (n - 2))}`;
  sim.kill(victim);
  const fail = sim.runUntil(() => sim.allSee(victim, "dead"), 300_000, 5);
  if (join === undefined || fail === undefined) throw new Error(`n=${n}: did not converge`);
  return { join, fail, bytes };
}

console.log("lab23 simulated (sans-IO core, memberlist LAN timing), median of 5 trials:");
console.log(
  "   N   join ms  expected  ratio   fail ms  expected  ratio   bytes/node/s",
);
const simJoin = new Map<number, number>();
for (const n of [5, 10, 20, 40]) {
  const trials = [1, 2, 3, 4, 5].map((seed) => simTrial(n, seed * 101 + n));
  const join = median(trials.map((t) => t.join));
  const fail = median(trials.map((t) => t.fail));
  const bytes = median(trials.map((t) => t.bytes));
  const ej = expectedJoin(n, LAN.gossipIntervalMs!);
  const ef = expectedFail(n, LAN.probeIntervalMs!);
  simJoin.set(n, join);
  console.log(
    `${String(n).padStart(4)}  ${join.toFixed(0).padStart(8)}  ${ej.toFixed(0).padStart(8)}  ${
      (join / ej).toFixed(2).padStart(5)
    }  ${fail.toFixed(0).padStart(8)}  ${ef.toFixed(0).padStart(8)}  ${
      (fail / ef).toFixed(2).padStart(5)
    }  ${bytes.toFixed(0).padStart(13)}`,
  );
}

if (!simOnly) {
  console.log("\nlab23 real processes on loopback (probe 500 ms, gossip 100 ms), one trial each:");
  console.log(
    "   N   join ms  expected  ratio   fail ms  expected  ratio   bytes/node/s",
  );
  for (const n of [5, 10, 20]) {
    await using cluster = await startCluster({
      n: n - 1,
      args: [...FAST, "--suspicion-mult", "4"],
    });
    await waitOneView(cluster.nodes, 120_000);
    const joiner = await cluster.add(`n${String(n - 1).padStart(2, "0")}`);
    const join = await waitAllSee(cluster.nodes, joiner.id, "alive", 60_000);
    const victim = cluster.nodes[1];
    await victim.proc.kill();
    const rest = cluster.nodes.filter((x) => x !== victim);
    const fail = await waitAllSee(rest, victim.id, "dead", 120_000);
    await Promise.all(rest.map((x) => x.proc.stop({ timeout: 30_000 })));
    const rates = rest.map((x) =>
      Number(x.proc.events.find((e) => e.event === "summary")?.bytes_per_second ?? 0)
    );
    const bytes = median(rates);
    const ej = expectedJoin(n, 100);
    const ef = expectedFail(n, 500);
    console.log(
      `${String(n).padStart(4)}  ${join.toFixed(0).padStart(8)}  ${ej.toFixed(0).padStart(8)}  ${
        (join / ej).toFixed(2).padStart(5)
      }  ${fail.toFixed(0).padStart(8)}  ${ef.toFixed(0).padStart(8)}  ${
        (fail / ef).toFixed(2).padStart(5)
      }  ${bytes.toFixed(0).padStart(13)}`,
    );
  }
}
