/**
 * Lab 14 fault tests on a private network: three dht_nodes, each in its own network
 * namespace (`createTestNetwork` from `@lib/testing`); one replica is partitioned away
 * (iptables DROP) while writes go on, then the partition heals and the replica must catch
 * up, by hinted handoff (the coordinator's hints) or, with hints off, by read repair.
 * Skipped with a printed reason where namespaces or iptables are not available.
 */
import assert from "node:assert/strict";
import { createTestNetwork, type TestNetwork, testNetworkSupport } from "@lib/testing/mod.ts";
import {
  client,
  disposeAll,
  localValues,
  type Node,
  ringOf,
  startNode,
  waitLocal,
} from "./testing.ts";

const support = await testNetworkSupport();
if (!support.ok) console.log(`skipping the Lab 14 namespace tests: ${support.reason}`);
else if (!support.iptables) console.log("skipping the Lab 14 namespace tests: iptables is missing");

const PORT = 5514;
const K = 60;
const LONG = { sanitizeOps: false, sanitizeResources: false };

async function cluster(net: TestNetwork, args: string[]): Promise<Node[]> {
  const nodes: Node[] = [];
  try {
    const seed = `tcp://${net.host("a").address}:${PORT}`;
    for (const h of ["a", "b", "c"]) {
      const host = net.host(h);
      nodes.push(
        await startNode(h, h === "a" ? args : ["--seed", seed, ...args], {
          bind: `tcp://${host.address}:${PORT}`,
          netns: host.netns,
        }),
      );
    }
    await Promise.all(nodes.map((n) => ringOf(n, 3)));
    return nodes;
  } catch (error) {
    await disposeAll(nodes);
    throw error;
  }
}

/** Writes "old", cuts c off, writes "new" through a, heals; returns the nodes. */
async function partitionedWrites(net: TestNetwork, nodes: Node[]): Promise<void> {
  const [a, , c] = nodes;
  const inA = { netns: net.host("a").netns, timeout: 120_000 };
  const first = await client([a.endpoint], [
    "put",
    "p",
    "old",
    "--count",
    String(K),
    "--consistency",
    "all",
  ], inA);
  assert.equal(first.code, 0, first.stderr.slice(-2000));
  await net.partition("c", "a");
  await net.partition("c", "b");
  await a.proc.event("peer_down", (e) => e.node === "c", { timeout: 60_000 });
  const second = await client([a.endpoint], ["put", "p", "new", "--count", String(K)], inA);
  assert.equal(second.code, 0, "quorum writes go on without c: " + second.stderr.slice(-2000));
  const stale = await localValues(c.endpoint, "p", K, { netns: net.host("c").netns });
  assert.ok([...stale.values()].every((v) => v?.startsWith("old")), "c missed the new writes");
  await net.heal();
}

Deno.test({
  name: "netns: a partitioned replica catches up by hinted handoff after the heal",
  ignore: !support.ok || !support.iptables,
  ...LONG,
  async fn() {
    await using net = await createTestNetwork({ hosts: ["a", "b", "c"] });
    const nodes = await cluster(net, []);
    try {
      await partitionedWrites(net, nodes);
      const [a, , c] = nodes;
      await a.proc.event("handoff_delivered", (e) => e.to === "c", { timeout: 60_000 });
      await waitLocal(
        "c holds every new value",
        c.endpoint,
        "p",
        K,
        (values) => [...values.values()].filter((v) => v?.startsWith("new")).length === K,
        {
          netns: net.host("c").netns,
          timeoutMs: 60_000,
        },
      );
      assert.ok(a.proc.eventCount("hint_stored") > 0);
    } finally {
      await disposeAll(nodes);
    }
  },
});

Deno.test({
  name: "netns: with hints off, read repair brings the healed replica up to date",
  ignore: !support.ok || !support.iptables,
  ...LONG,
  async fn() {
    await using net = await createTestNetwork({ hosts: ["a", "b", "c"] });
    const nodes = await cluster(net, ["--max-hints", "0"]);
    try {
      await partitionedWrites(net, nodes);
      const [a, , c] = nodes;
      const inA = { netns: net.host("a").netns, timeout: 120_000 };
      await a.proc.event("peer_up", (e) => e.node === "c", { timeout: 60_000 });
      const still = await localValues(c.endpoint, "p", K, { netns: net.host("c").netns });
      assert.ok([...still.values()].every((v) => v?.startsWith("old")), "no hints: c still stale");
      const read = await client([a.endpoint], [
        "get",
        "p",
        "--count",
        String(K),
        "--consistency",
        "all",
      ], inA);
      assert.equal(read.code, 0, read.stderr.slice(-2000));
      assert.ok(read.results.every((r) => r.value?.startsWith("new")), "reads see the newest");
      await waitLocal(
        "c repaired",
        c.endpoint,
        "p",
        K,
        (values) => [...values.values()].every((v) => v?.startsWith("new")),
        {
          netns: net.host("c").netns,
          timeoutMs: 60_000,
        },
      );
      assert.ok(a.proc.eventCount("read_repair") > 0);
    } finally {
      await disposeAll(nodes);
    }
  },
});

Deno.test({
  name: "netns: --discover finds the peers by UDP beacon, without seeds",
  ignore: !support.ok,
  ...LONG,
  async fn() {
    await using net = await createTestNetwork({ hosts: ["a", "b", "c"] });
    const broadcast = net.subnet.replace(/0\/24$/, "255");
    const nodes: Node[] = [];
    try {
      for (const h of ["a", "b", "c"]) {
        const host = net.host(h);
        nodes.push(
          await startNode(h, [
            "--discover",
            "--discover-broadcast",
            broadcast,
            "--beacon-interval",
            "200",
          ], { bind: `tcp://${host.address}:${PORT}`, netns: host.netns }),
        );
      }
      await Promise.all(nodes.map((n) => ringOf(n, 3)));
      // No seeds: whatever a node knows came from a beacon, directly or through gossip.
      assert.ok(nodes.some((n) => n.proc.eventCount("beacon_peer") > 0));
      const put = await client([nodes[0].endpoint], ["put", "d", "x"], {
        netns: net.host("a").netns,
      });
      assert.equal(put.code, 0, put.stderr.slice(-2000));
    } finally {
      await disposeAll(nodes);
    }
  },
});
