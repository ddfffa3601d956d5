/**
 * Lab 17 benchmark, real processes on one host (ipc endpoints in a temp dir, fsync on):
 * - committed writes per second and commit latency p50/p99 (client-observed: propose →
 *   majority fsynced → applied → answered) with 3 and with 5 nodes, 16 client sessions;
 * - election time after kill -9 of the leader (median of 10), 5 nodes, against the
 *   configured election timeout.
 *
 * Run: `deno run -A labs/17-raft-consensus/bench.ts [writes-per-session] [kills]`
 * (defaults 150 and 10).
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";
import { type RoleProcess, runOnce, spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { parseJsonLines } from "./testing.ts";

const perSession = Number(Deno.args[0] ?? 150);
const kills = Number(Deno.args[1] ?? 10);
const SESSIONS = 16;
const ELECTION = { min: 300, max: 600, heartbeat: 50 };

interface Cluster {
  procs: Map<string, RoleProcess>;
  start(id: string): Promise<RoleProcess>;
  clients: string[];
  close(): Promise<void>;
}

async function cluster(n: number, dir: string): Promise<Cluster> {
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const procs = new Map<string, RoleProcess>();
  const start = async (id: string) => {
    const proc = await spawnRole("17", "consensus_node", [
      "--id",
      id,
      "--bind",
      `ipc://${dir}/${id}.pub`,
      "--client-bind",
      `ipc://${dir}/${id}.router`,
      "--peer",
      ids.filter((p) => p !== id).map((p) => `${p}=ipc://${dir}/${p}.pub`).join(","),
      "--data-dir",
      dir,
      "--election-min",
      String(ELECTION.min),
      "--election-max",
      String(ELECTION.max),
      "--heartbeat",
      String(ELECTION.heartbeat),
      "--view",
      "none",
      "--status-interval",
      "0",
    ]);
    procs.set(id, proc);
    await proc.event("state_restored", undefined, { timeout: 60_000 });
    return proc;
  };
  await Promise.all(ids.map(start));
  return {
    procs,
    start,
    clients: ids.map((id) => `ipc://${dir}/${id}.router`),
    async close() {
      for (const p of procs.values()) await p.stop({ timeout: 20_000 }).catch(() => p.kill());
    },
  };
}

function leader(c: Cluster): { id: string; term: number } | undefined {
  let best: { id: string; term: number } | undefined;
  for (const [id, p] of c.procs) {
    const last = [...p.events].reverse().find((e) => e.event === "role_changed");
    if (last?.state === "leader" && (!best || Number(last.term) > best.term)) {
      best = { id, term: Number(last.term) };
    }
  }
  return best;
}

async function throughput(n: number) {
  await using dir = await tempDir();
  const c = await cluster(n, dir.path);
  try {
    await waitFor("a leader", () => leader(c), { timeoutMs: 30_000 });
    const r = await runOnce("17", "client_proposer", [
      "--node",
      c.clients.join(","),
      "--json",
      "--sessions",
      String(SESSIONS),
      "--ops",
      String(perSession),
      "--rate",
      "0",
      "--read-ratio",
      "0",
      "--keys",
      "1000",
    ], { timeout: 300_000 });
    const summary = parseJsonLines(r.stdoutLines).find((o) => o.kind === "summary")!;
    return {
      perSecond: Number(summary.ops_per_s),
      p50: Number(summary.p50_ms),
      p99: Number(summary.p99_ms),
      ok: Number(summary.ok),
    };
  } finally {
    await c.close();
  }
}

async function elections(n: number) {
  await using dir = await tempDir();
  const c = await cluster(n, dir.path);
  const times: number[] = [];
  try {
    for (let i = 0; i < kills; i++) {
      const old = await waitFor("a leader", () => leader(c), { timeoutMs: 30_000 });
      // Let every node hear the leader for a while (all followers, timers fresh).
      await new Promise((r) => setTimeout(r, 1000));
      const killedAt = Date.now();
      await c.procs.get(old.id)!.kill();
      c.procs.delete(old.id);
      const fresh = await waitFor("a new leader", () => {
        const l = leader(c);
        return l && l.term > old.term ? l : undefined;
      }, { timeoutMs: 30_000 });
      const e = c.procs.get(fresh.id)!.events.find((e) =>
        e.event === "became_leader" && Number(e.term) === fresh.term
      )!;
      times.push(Date.parse(String(e.ts)) - killedAt);
      await c.start(old.id);
    }
  } finally {
    await c.close();
  }
  return times;
}

const three = await throughput(3);
const five = await throughput(5);
console.log(
  `lab17: 3 nodes: ${three.perSecond} committed writes/s, commit latency p50 ${three.p50} ms, p99 ${three.p99} ms (${SESSIONS} sessions, ${three.ok} writes, fsync on)`,
);
console.log(
  `lab17: 5 nodes: ${five.perSecond} committed writes/s, commit latency p50 ${five.p50} ms, p99 ${five.p99} ms; throughput ratio 5/3 nodes ${
    (five.perSecond / three.perSecond).toFixed(2)
  }`,
);
const times = await elections(5);
const [median] = percentiles(times, [0.5]);
console.log(
  `lab17: election after kill -9 of the leader (5 nodes, timeout ${ELECTION.min}-${ELECTION.max} ms): median ${
    Math.round(median)
  } ms over ${times.length} (min ${Math.min(...times)}, max ${
    Math.max(...times)
  }); ratio to the minimum timeout ${(median / ELECTION.min).toFixed(2)}`,
);
