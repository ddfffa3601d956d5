/**
 * Process tests of Lab 14: real dht_node processes on ephemeral ports and the real
 * client, observed through JSON events and the client's JSON lines.
 */
import assert from "node:assert/strict";
import { runOnce, spawnRole } from "@lib/testing/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import type { OpResult } from "./internal/client.ts";
import { encodeMessage } from "./internal/protocol.ts";
import { Ring } from "./internal/ring.ts";
import {
  client,
  disposeAll,
  localValues,
  ringOf,
  startCluster,
  startNode,
  waitLocal,
} from "./testing.ts";

const LONG = { sanitizeOps: false, sanitizeResources: false };

Deno.test("dht_node: R + W <= N is refused with one line and exit 2", async () => {
  const result = await runOnce("14", "dht_node", ["--n", "3", "--r", "1", "--w", "2"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /R \+ W > N/);
  // Regression: with --count the index is appended to the key; a prefix of MAX_KEY characters
  // made every key one the nodes drop as bad_message (the client then timed out, exit 1).
  const longKeys = await runOnce("14", "client_put_get", [
    "--node",
    "tcp://127.0.0.1:1",
    "put",
    "k".repeat(256),
    "v",
    "--count",
    "10",
  ]);
  assert.equal(longKeys.code, 2, longKeys.stderr);
  assert.match(longKeys.stderr, /^client_put_get: error: expected keys of at most 256/);
  const help = await runOnce("14", "client_put_get", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /put/);
});

Deno.test("dht_node: malformed frames -> bad_message, the node keeps serving", async () => {
  await using node = await startNode("solo", ["--n", "1", "--r", "1", "--w", "1"]);
  const dealer = new Dealer({ linger: 0 });
  try {
    dealer.connect(node.endpoint);
    await dealer.send([new TextEncoder().encode("garbage")]);
    await dealer.send([encodeMessage({ kind: "ring", id: 1 }), new Uint8Array([1])]);
    await dealer.send(new Uint8Array([0x81, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xa3, 0x62, 0x61, 0x64]));
    await node.proc.event("bad_message", undefined, { timeout: 20_000 });
  } finally {
    dealer.close();
  }
  const put = await client([node.endpoint], ["put", "k", "v"]);
  assert.equal(put.code, 0, put.stderr);
  const get = await client([node.endpoint], ["get", "k"]);
  assert.equal(get.results[0].value, "v");
  await node.proc.stop({ timeout: 20_000 });
});

Deno.test("client_put_get --interval paces each window slot (it was ignored)", async () => {
  await using node = await startNode("paced", ["--n", "1", "--r", "1", "--w", "1"]);
  const started = performance.now();
  const put = await client([node.endpoint], [
    "put",
    "p",
    "v",
    "--count",
    "3",
    "--window",
    "1",
    "--interval",
    "1000",
  ]);
  const ms = performance.now() - started;
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.results.filter((r) => r.ok).length, 3);
  // A pause of 1 s after each of 3 operations in one slot: at least 3 s. Unpaced, the three
  // puts take a few milliseconds (load only makes this slower, never faster).
  assert.ok(ms >= 3000, `3 puts with --interval 1000 took only ${Math.round(ms)} ms`);
  await node.proc.stop({ timeout: 20_000 });
});

Deno.test("dht_node --max-bytes bounds the store by bytes: a put past it is refused, not stored", async () => {
  await using node = await startNode("small", [
    "--n",
    "1",
    "--r",
    "1",
    "--w",
    "1",
    "--max-bytes",
    "70000",
  ]);
  const first = await client([node.endpoint], ["--retries", "1", "put", "a", "x".repeat(40_000)]);
  assert.equal(first.code, 0, first.stderr);
  const second = await client([node.endpoint], ["--retries", "1", "put", "b", "y".repeat(40_000)]);
  assert.notEqual(second.code, 0);
  assert.equal(second.results[0]?.ok, false);
  await node.proc.event("store_full", undefined, { timeout: 20_000 });
  const local = await localValues(node.endpoint, "b", 1);
  assert.equal(local.get("b"), null);
  await node.proc.stop({ timeout: 20_000 });
});

Deno.test({
  name: "N=3: every acknowledged key survives kill -9 of one node (killed mid-write)",
  ...LONG,
  async fn() {
    const nodes = await startCluster(3);
    try {
      const [n1, n2, n3] = nodes;
      // Writes through n2 then n3 (failover); n1 is killed after the first 50 acks.
      await using writer = await spawnRole("14", "client_put_get", [
        ...["--node", n2.endpoint, "--node", n3.endpoint, "--json"],
        ...["put", "key", "value", "--count", "400", "--window", "8", "--timeout", "3000"],
      ]);
      await writer.stdoutLine((l) => l.includes(`"key":"key49"`), { timeout: 60_000 });
      await n1.proc.kill();
      await writer.wait(); // exit 1 if some writes failed: only acknowledged ones count
      const results = writer.stdoutLines.filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as OpResult
      );
      const acked = results.filter((r) => r.ok);
      assert.ok(acked.length > 0, "some writes were acknowledged");
      // Read every acknowledged key through n3 with a quorum read.
      const read = await client([n3.endpoint, n2.endpoint], [
        "get",
        "key",
        "--count",
        "400",
        "--window",
        "8",
      ], { timeout: 120_000 });
      const got = new Map(read.results.map((r) => [r.key, r]));
      const lost = acked.filter((r) => got.get(r.key)?.value !== r.value);
      assert.deepEqual(lost.map((r) => r.key), [], "acknowledged keys lost");
      console.log(
        `kill -9: ${acked.length}/400 writes acknowledged, all read back after the kill`,
      );
    } finally {
      await disposeAll(nodes);
    }
  },
});

Deno.test({
  name: "a join moves close to K/n keys, only to the newcomer",
  ...LONG,
  async fn() {
    const K = 600;
    const nodes = await startCluster(4);
    try {
      const put = await client([nodes[0].endpoint], [
        "put",
        "j",
        "v",
        "--count",
        String(K),
        "--window",
        "16",
        "--consistency",
        "all",
      ], { timeout: 120_000 });
      assert.equal(put.code, 0, put.stderr.slice(-2000));
      const joiner = await startNode("n5", ["--seed", nodes[1].endpoint]);
      nodes.push(joiner);
      await Promise.all(nodes.map((n) => ringOf(n, 5)));
      // Wait until the transfers are done: the newcomer's key count stops growing.
      let last = -1, received = 0;
      for (let i = 0; i < 60; i++) {
        await new Promise((r) => setTimeout(r, 500));
        received = joiner.proc.events.filter((e) => e.event === "transfer_received")
          .reduce((n, e) => n + Number(e.new), 0);
        if (received > 0 && received === last) break;
        last = received;
      }
      const others = nodes.slice(0, 4).reduce(
        (n, node) => n + node.proc.eventCount("transfer_received"),
        0,
      );
      // Primary owners: on the same rings every changed primary must be the newcomer.
      const before = new Ring(["n1", "n2", "n3", "n4"], 64);
      const after = new Ring(["n1", "n2", "n3", "n4", "n5"], 64);
      const keys = Array.from({ length: K }, (_, i) => `j${i}`);
      const movedPrimary = keys.filter((k) => before.owner(k) !== after.owner(k));
      assert.ok(movedPrimary.every((k) => after.owner(k) === "n5"));
      const N = 3, n = 5;
      const ideal = N * K / n; // the newcomer's share of the N*K replicas
      console.log(
        `join: newcomer received ${received} replica copies (ideal N*K/n = ${ideal}; ` +
          `${
            (received / ideal).toFixed(2)
          }x); primary owner changed for ${movedPrimary.length} keys ` +
          `(ideal K/n = ${K / n}; ${(movedPrimary.length / (K / n)).toFixed(2)}x)`,
      );
      assert.equal(others, 0, "only the newcomer receives keys");
      assert.ok(
        received >= ideal * 0.5 && received <= ideal * 1.5,
        `moved ${received} vs ideal ${ideal}`,
      );
      const ring = await client([nodes[0].endpoint], ["ring"]);
      assert.equal(ring.code, 0);
      // Every key still reads back.
      const read = await client([joiner.endpoint], [
        "get",
        "j",
        "--count",
        String(K),
        "--window",
        "16",
      ], {
        timeout: 120_000,
      });
      assert.equal(read.results.filter((r) => r.ok && r.value === `v${r.key.slice(1)}`).length, K);
    } finally {
      await disposeAll(nodes);
    }
  },
});

Deno.test({
  name: "concurrent writers converge on every replica to the newest HLC stamp (LWW)",
  ...LONG,
  async fn() {
    const nodes = await startCluster(3);
    try {
      const K = 50;
      const writers = ["a", "b", "c"].map((w, i) =>
        client([nodes[i].endpoint], ["put", "c", w, "--count", String(K), "--window", "4"], {
          timeout: 120_000,
        })
      );
      const runs = await Promise.all(writers);
      const acked = runs.flatMap((r) => r.results.filter((x) => x.ok));
      const expected = new Map<string, string>();
      const best = new Map<string, OpStamp>();
      for (const r of acked) {
        const s = r.stamp!;
        const b = best.get(r.key);
        if (
          !b || s.wall > b.wall ||
          (s.wall === b.wall &&
            (s.counter > b.counter || (s.counter === b.counter && s.node > b.node)))
        ) {
          best.set(r.key, s);
          expected.set(r.key, r.value!);
        }
      }
      for (const node of nodes) {
        await waitLocal(
          `${node.id} converged`,
          node.endpoint,
          "c",
          K,
          (values) => [...expected].every(([k, v]) => values.get(k) === v),
          { timeoutMs: 60_000 },
        );
      }
      console.log(
        `converged: ${acked.length} writes to ${K} keys from 3 writers; every replica holds the max stamp`,
      );
    } finally {
      await disposeAll(nodes);
    }
  },
});

Deno.test({
  name: "--leave-on-stop: a node that leaves hands its keys over; every key still reads back",
  ...LONG,
  async fn() {
    const nodes = await startCluster(4, ["--leave-on-stop"]);
    try {
      const K = 200;
      const put = await client([nodes[0].endpoint], [
        "put",
        "l",
        "v",
        "--count",
        String(K),
        "--consistency",
        "all",
      ], { timeout: 120_000 });
      assert.equal(put.code, 0, put.stderr.slice(-2000));
      const leaver = nodes[3];
      await leaver.proc.stop({ timeout: 30_000 });
      const left = leaver.proc.events.find((e) => e.event === "left_ring");
      assert.ok(left && Number(left.keys_handed_over) > 0, "keys handed over");
      await Promise.all(
        nodes.slice(0, 3).map((n) =>
          n.proc.event("member_left", (e) => e.node === "n4", { timeout: 30_000 })
        ),
      );
      // With N=3 on the 3 remaining nodes every node must hold every key: read each locally.
      for (const node of nodes.slice(0, 3)) {
        const values = await localValues(node.endpoint, "l", K);
        assert.equal([...values.values()].filter((v) => v !== null).length, K, node.id);
      }
    } finally {
      await disposeAll(nodes);
    }
  },
});

interface OpStamp {
  wall: number;
  counter: number;
  node: string;
}
