/**
 * Lab 07 benchmark: 1000 policies × 20 firewall_nodes. The 1000 KVSETs are written to the
 * master's collector at once; the figure is the time from the first write until the last
 * node's table holds all 1000 (its `table_version` event, reported every 20 ms, so up to
 * 20 ms late). Then a late node joins: the time its 1000-policy snapshot took.
 *
 * Peer measured in the same run: the same 1000 kvmsgs (same bytes) through a raw PUB to
 * 20 SUB sockets in one process, no master, no validation: the floor the Clone path is
 * compared with.
 *
 * Run: `deno run -A labs/07-policy-sync/bench.ts [--keys 1000] [--nodes 20]`
 *
 * @module
 */
import { type RoleProcess, spawnRole, waitFor } from "@lib/testing/mod.ts";
import { Publisher, Subscriber } from "@lib/zmq/mod.ts";
import { encodeKv, newUuid } from "./internal/protocol.ts";
import { rawWriter, startNode } from "./testing.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const KEYS = flag("keys", 1000);
const NODES = flag("nodes", 20);
const body = (i: number) => `allow tcp from 10.0.0.0/8 to 10.1.${i % 250}.${i % 200} port ${1 + i}`;
const te = new TextEncoder();

async function clonePath(): Promise<{ convergeMs: number; lateSyncMs: number }> {
  await using master = await spawnRole("07", "policy_master", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--stats-interval",
    "0",
  ]);
  const ev = await master.event("listening", (e) => e.socket === "snapshot", { timeout: 30_000 });
  const server = String(ev.endpoint);
  const port = Number(/:(\d+)$/.exec(server)![1]);
  const nodes: RoleProcess[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      nodes.push(await startNode(server, ["--report-interval", "20", "--view", "none"]));
    }
    for (const n of nodes) await n.event("synced", undefined, { timeout: 60_000 });
    await using writer = await rawWriter(port);
    const t0 = Date.now();
    for (let i = 0; i < KEYS; i++) await writer.set(`/acl/bench/k${i}`, body(i));
    let last = 0;
    for (const n of nodes) {
      const done = await n.event("table_version", (e) => e.policies === KEYS, { timeout: 120_000 });
      last = Math.max(last, Date.parse(String(done.ts)));
    }
    await using late = await startNode(server, ["--view", "none"]);
    const synced = await late.event("synced", undefined, { timeout: 60_000 });
    if (synced.policies !== KEYS) throw new Error(`late node got ${synced.policies} policies`);
    return { convergeMs: last - t0, lateSyncMs: Number(synced.took_ms) };
  } finally {
    for (const n of nodes) await n[Symbol.asyncDispose]();
  }
}

async function rawPubSub(): Promise<number> {
  const pub = new Publisher({ sendHighWaterMark: 100_000 });
  const subs: Subscriber[] = [];
  try {
    await pub.bind("tcp://127.0.0.1:*");
    for (let i = 0; i < NODES; i++) {
      const sub = new Subscriber({ receiveHighWaterMark: 100_000 });
      sub.subscribe();
      sub.connect(pub.lastEndpoint!);
      subs.push(sub);
    }
    // Wait until every subscription is in place (a probe reaches all).
    let ready = 0;
    const probes = subs.map(async (s) => {
      await s.receive();
      ready++;
    });
    await waitFor("subscriptions", async () => {
      await pub.send("probe");
      return ready === NODES;
    }, { timeoutMs: 10_000, intervalMs: 20 });
    await Promise.all(probes);
    const msgs = Array.from({ length: KEYS }, (_, i) =>
      encodeKv({
        key: `/acl/bench/k${i}`,
        sequence: i + 1,
        uuid: newUuid(),
        properties: new Map(),
        body: te.encode(body(i)),
      }));
    const t0 = performance.now();
    const received = subs.map(async (s) => {
      let n = 0;
      while (n < KEYS) {
        const [first] = await s.receive();
        if (first.length !== 5 || new TextDecoder().decode(first) !== "probe") n++;
      }
    });
    for (const m of msgs) await pub.send(m);
    await Promise.all(received);
    return performance.now() - t0;
  } finally {
    pub.close();
    for (const s of subs) s.close();
  }
}

console.log(`Lab 07 convergence: ${KEYS} policies written at once, ${NODES} firewall_nodes`);
const clone = await clonePath();
const raw = await rawPubSub();
console.log(
  `clone path (collector -> master -> PUB -> ${NODES} node processes, validated): ${clone.convergeMs} ms`,
);
console.log(
  `raw PUB -> ${NODES} SUB sockets in one process, same bytes:                 ${
    raw.toFixed(0)
  } ms`,
);
console.log(`ratio clone / raw: ${(clone.convergeMs / raw).toFixed(1)}x`);
console.log(`late node: snapshot of ${KEYS} policies in ${clone.lateSyncMs} ms`);
