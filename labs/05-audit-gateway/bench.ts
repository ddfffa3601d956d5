/**
 * Lab 05 benchmark: acknowledged records per second and p50/p99 ack latency through the
 * real gateway and workers (fsync before every ack, group-committed per batch), with 1
 * and 2 workers, beside the same workload with fsync disabled (`--no-fsync`, the peer):
 * the ratio is what durability costs.
 *
 * Run: `deno run -A labs/05-audit-gateway/bench.ts [--clients N] [--records N] [--window N]`
 * (defaults 100 clients × 200 records, 10 outstanding per client).
 *
 * @module
 */
import { type RoleEvent, spawnRole, tempDir } from "@lib/testing/mod.ts";

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench: ${name}: expected an integer >= 1, got ${Deno.args[at + 1]}`);
    Deno.exit(2);
  }
  return value;
}

const CLIENTS = flag("--clients", 100);
const RECORDS = flag("--records", 200);
const WINDOW = flag("--window", 10);

async function run(workers: number, fsync: boolean): Promise<RoleEvent> {
  await using dir = await tempDir();
  await using gateway = await spawnRole("05", "audit_gateway", [
    "--frontend",
    "tcp://127.0.0.1:*",
    "--backend",
    "tcp://127.0.0.1:*",
  ]);
  const endpoint = async (socket: string) =>
    String((await gateway.event("listening", (e) => e.socket === socket)).endpoint);
  const [frontend, backend] = [await endpoint("frontend"), await endpoint("backend")];
  const procs = [];
  try {
    for (let i = 0; i < workers; i++) {
      const w = await spawnRole("05", "archival_worker", [
        "--gateway",
        backend,
        "--chain",
        `${dir.path}/audit.log`,
        "--identity",
        `bench-${i}`,
        ...(fsync ? [] : ["--no-fsync"]),
      ]);
      procs.push(w);
    }
    await gateway.event("worker_ready", () => gateway.eventCount("worker_ready") >= workers);
    await using client = await spawnRole("05", "audit_client", [
      "--gateway",
      frontend,
      "--clients",
      String(CLIENTS),
      "--records",
      String(RECORDS),
      "--window",
      String(WINDOW),
      "--timeout",
      "60000",
    ]);
    const summary = await client.event("summary", undefined, { timeout: 600_000 });
    if (summary.acked !== CLIENTS * RECORDS) {
      throw new Error(`expected ${CLIENTS * RECORDS} acks, got ${summary.acked}`);
    }
    await client.wait();
    for (const w of procs) await w.stop();
    await gateway.stop();
    return summary;
  } finally {
    for (const w of procs) await w[Symbol.asyncDispose]();
  }
}

const durable1 = await run(1, true);
const durable2 = await run(2, true);
const peer = await run(2, false);
const fmt = (n: unknown) => Math.round(Number(n)).toLocaleString("en-US");
const line = (label: string, s: RoleEvent) =>
  `  ${label}: ${fmt(s.acks_per_s)} acked records/s, p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms`;
console.log(
  `lab 05 audit gateway, ${fmt(CLIENTS * RECORDS)} records from ${CLIENTS} DEALER clients ` +
    `(${WINDOW} outstanding each)`,
);
console.log(line("fsync, 1 worker      ", durable1));
console.log(line("fsync, 2 workers     ", durable2));
console.log(line("no fsync, 2 workers  ", peer));
console.log(
  `  durability cost (no-fsync / fsync, 2 workers): throughput ${
    (Number(peer.acks_per_s) / Number(durable2.acks_per_s)).toFixed(2)
  }x, p99 ${(Number(durable2.p99_ms) / Math.max(0.01, Number(peer.p99_ms))).toFixed(2)}x`,
);
