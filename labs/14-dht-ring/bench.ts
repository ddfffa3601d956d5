/**
 * Lab 14 benchmark: quorum puts and gets per second through real dht_node processes with 3
 * and 6 nodes (N=3, R=W=2, the client keeping 32 requests in flight), and the load balance
 * (max/mean keys per node) with and without virtual nodes, beside the ideal 1.0.
 *
 * Run: `deno run -A labs/14-dht-ring/bench.ts [keys]` (default 3000).
 *
 * @module
 */

import { runOnce } from "@lib/testing/mod.ts";
import { Ring } from "./internal/ring.ts";
import { disposeAll, startCluster } from "./testing.ts";

const keys = Number(Deno.args[0] ?? 3000);

async function rate(nodes: string[], op: "put" | "get"): Promise<number> {
  const args = [
    ...nodes.flatMap((n) => ["--node", n]),
    "--log-level",
    "info",
    op,
    "b",
    ...(op === "put" ? ["v"] : []),
    ...["--count", String(keys), "--window", "32", "--quiet"],
  ];
  const result = await runOnce("14", "client_put_get", args, { timeout: 300_000 });
  const summary = result.events.find((e) => e.event === "summary");
  if (result.code !== 0 || !summary) throw new Error(`client failed: ${result.stderr.slice(-500)}`);
  return Number(summary.ok) / Number(summary.seconds);
}

async function measure(count: number): Promise<{ put: number; get: number; maxMean: number }> {
  const nodes = await startCluster(count, ["--stats-interval", "0"], `b${count}-`);
  try {
    const endpoints = nodes.map((n) => n.endpoint);
    const put = await rate(endpoints, "put");
    const get = await rate(endpoints, "get");
    const ring = await runOnce("14", "client_put_get", ["--node", endpoints[0], "--json", "ring"]);
    const view = JSON.parse(ring.stdoutLines.find((l) => l.startsWith("{"))!);
    const counts = (view.nodes as { info?: { keys: number } }[]).map((n) => n.info?.keys ?? 0);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    return { put, get, maxMean: Math.max(...counts) / mean };
  } finally {
    await disposeAll(nodes);
  }
}

/** max/mean keys per node (primary owners, and replicas with N=3) on a 6-node ring. */
function balance(vnodes: number): { primary: number; replicas: number } {
  const nodes = Array.from({ length: 6 }, (_, i) => `node-${i}`);
  const ring = new Ring(nodes, vnodes);
  const primary = new Map<string, number>(), replicas = new Map<string, number>();
  const total = 60_000;
  for (let i = 0; i < total; i++) {
    const list = ring.preferenceList(`key-${i}`, 3);
    primary.set(list[0], (primary.get(list[0]) ?? 0) + 1);
    for (const n of list) replicas.set(n, (replicas.get(n) ?? 0) + 1);
  }
  return {
    primary: Math.max(...primary.values()) / (total / 6),
    replicas: Math.max(...replicas.values()) / (total * 3 / 6),
  };
}

const three = await measure(3);
const six = await measure(6);
console.log(`lab14: ${keys} keys, N=3 R=2 W=2, 32 in flight, real processes on loopback`);
console.log(
  `  3 nodes: ${Math.round(three.put)} puts/s, ${Math.round(three.get)} gets/s ` +
    `(keys max/mean ${three.maxMean.toFixed(2)})`,
);
console.log(
  `  6 nodes: ${Math.round(six.put)} puts/s, ${Math.round(six.get)} gets/s ` +
    `(keys max/mean ${six.maxMean.toFixed(2)})`,
);
console.log(
  `  ratio 6/3 nodes: puts ${(six.put / three.put).toFixed(2)}, gets ${
    (six.get / three.get).toFixed(2)
  }`,
);
console.log("load balance on 6 nodes, 60000 keys (max/mean keys per node; ideal 1.00):");
for (const v of [1, 8, 64, 256]) {
  const b = balance(v);
  console.log(
    `  vnodes ${String(v).padStart(3)}: primary ${b.primary.toFixed(2)}, replicas (N=3) ${
      b.replicas.toFixed(2)
    }`,
  );
}
const without = balance(1), with64 = balance(64);
console.log(
  `  ratio without/with 64 vnodes: ${(without.primary / with64.primary).toFixed(2)} (primary)`,
);
