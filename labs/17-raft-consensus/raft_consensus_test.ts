/**
 * Process tests of Lab 17: real consensus_node and client_proposer processes (run with the
 * manifest's permissions), a 5-node cluster in network namespaces for the fault tests,
 * observed through JSON log events and the client's JSON operation lines.
 */
import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { runOnce, spawnRole, tempDir, testNetworkSupport, waitFor } from "@lib/testing/mod.ts";
import { Dealer, Publisher } from "@lib/zmq/mod.ts";
import { checkRegister } from "./internal/linearizability.ts";
import { type ClientReply, decodeClientReply, MAX_KEY, MAX_VALUE } from "./internal/protocol.ts";
import { lastEvent, NetCluster, parseJsonLines, registerHistory } from "./testing.ts";

const support = await testNetworkSupport();
const netTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ignore: !support.ok || !support.iptables,
    fn,
  });
if (!support.ok) console.log(`skipping the namespace tests: ${support.reason}`);
else if (!support.iptables) console.log("skipping the namespace tests: no iptables");

async function ask(endpoint: string, request: Record<string, unknown>): Promise<ClientReply> {
  const dealer = new Dealer({ linger: 0, receiveTimeout: 10_000 });
  try {
    dealer.connect(endpoint);
    await dealer.send([encode(request)]);
    return decodeClientReply(await dealer.receive());
  } finally {
    dealer.close();
  }
}

Deno.test("a node: config checks, client writes/reads, a retried write applied once, bad input, restart", async () => {
  await using dir = await tempDir();
  for (
    const args of [["--election-min", "900", "--election-max", "100"], ["--peer", "nope"], [
      "--id",
      "a b",
    ]]
  ) {
    const r = await runOnce("17", "consensus_node", ["--data-dir", dir.path, ...args]);
    assert.equal(r.code, 2, args.join(" "));
  }
  const start = () =>
    spawnRole("17", "consensus_node", [
      "--id",
      "solo",
      "--bind",
      `ipc://${dir.path}/peers`,
      "--client-bind",
      `ipc://${dir.path}/clients`,
      "--data-dir",
      dir.path,
      "--election-min",
      "100",
      "--election-max",
      "200",
      "--heartbeat",
      "20",
      "--view",
      "none",
      "--snapshot-every",
      "3",
    ]);
  const ep = `ipc://${dir.path}/clients`;
  {
    await using node = await start();
    await node.event("became_leader", undefined, { timeout: 30_000 });
    const put = { kind: "put", client: "c1", seq: 1, key: "x", value: "1" };
    const first = await ask(ep, { ...put, rid: "a" });
    assert.deepEqual(first, { kind: "ok", rid: "a", value: null, index: 2, duplicate: false });
    // The same (client, seq) again, as after a lost reply: answered from the dedup table.
    const retry = await ask(ep, { ...put, rid: "b" });
    assert.equal(retry.kind === "ok" && retry.duplicate, true);
    assert.equal(retry.kind === "ok" && retry.value, null, "the first answer, not a second apply");
    const second = await ask(ep, { ...put, seq: 2, value: "2", rid: "c" });
    assert.equal(second.kind === "ok" && second.value, "1");
    const read = await ask(ep, { kind: "get", rid: "d", key: "x" });
    assert.equal(read.kind === "ok" && read.value, "2");
    // Garbage on the client socket: an error answer, a bad_message, and serving goes on.
    const bad = await ask(ep, { kind: "put", rid: "e" });
    assert.equal(bad.kind, "error");
    await node.event("bad_message");
    await node.event("snapshot_taken");
    const cli = await runOnce("17", "client_proposer", ["--node", ep, "get", "x", "y"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(cli.stdoutLines.filter((l) => l.length > 0), ["x 2", "y (none)"]);
    await node.stop();
    await node.event("stopped");
  }
  {
    // Restart from disk (snapshot + log): the state is back before any election.
    await using node = await start();
    const restored = await node.event("state_restored", undefined, { timeout: 30_000 });
    assert.ok(Number(restored.term) >= 1);
    assert.ok(Number(restored.snapshot_index) >= 3);
    assert.equal(restored.keys, 1);
    await node.event("became_leader", (e) => Number(e.term) > Number(restored.term), {
      timeout: 30_000,
    });
    const read = await ask(ep, { kind: "get", rid: "f", key: "x" });
    assert.equal(read.kind === "ok" && read.value, "2");
    await node.stop();
  }
});

Deno.test("client_proposer refuses a key or value the nodes would drop: one line, exit 2", async () => {
  // Regression: an over-long key was sent, dropped by every node as bad_message, and the
  // client retried it until "unknown" (exit 1) instead of refusing the command line.
  const long = "k".repeat(MAX_KEY + 1);
  for (
    const args of [
      ["put", long, "v"],
      ["get", "a", long],
      ["del", long],
      ["put", "k", "v".repeat(MAX_VALUE + 1)],
      ["--key-prefix", "p".repeat(MAX_KEY), "--keys", "10"],
    ]
  ) {
    const r = await runOnce("17", "client_proposer", ["--node", "tcp://127.0.0.1:1", ...args]);
    assert.equal(r.code, 2, args.join(" ").slice(0, 80));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^client_proposer: error: expected /);
    assert.doesNotMatch(r.stdout, /"started"/);
  }
});

Deno.test("a node drops malformed and misaddressed peer messages (bad_message) and goes on", async () => {
  await using dir = await tempDir();
  const fake = new Publisher({ linger: 0 });
  try {
    await fake.bind(`ipc://${dir.path}/fake`);
    await using node = await spawnRole("17", "consensus_node", [
      "--id",
      "n1",
      "--bind",
      `ipc://${dir.path}/n1`,
      "--client-bind",
      `ipc://${dir.path}/c1`,
      "--peer",
      `n2=ipc://${dir.path}/fake`,
      "--data-dir",
      dir.path,
      "--view",
      "none",
      "--json",
      "--status-interval",
      "200",
    ]);
    await node.event("state_restored", undefined, { timeout: 30_000 });
    // A PUB drops what it sends before the SUB's subscription arrives (slow joiner): resend.
    await waitFor("bad_message", async () => {
      await fake.send(["n1", new Uint8Array([0xc1])]);
      await fake.send(["n10", encode({ type: "vote_reply" })]);
      return node.eventCount("bad_message") > 0;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // --json: events as JSON lines on stdout (here the periodic status, with the peers).
    const line = await node.stdoutLine((l) => l.includes('"event":"status"'), { timeout: 20_000 });
    assert.equal(JSON.parse(line).state, "follower");
    const status = await ask(`ipc://${dir.path}/c1`, { kind: "status", rid: "s" });
    assert.equal(status.kind, "status");
    await node.stop();
  } finally {
    fake.close();
  }
});

netTest(
  "5 nodes: a partitioned leader is replaced by the majority and steps down; writes go on",
  async () => {
    await using cluster = await NetCluster.start(5);
    const first = await cluster.waitLeader();
    await using client = await cluster.spawnClient([
      "--sessions",
      "2",
      "--rate",
      "20",
      "--keys",
      "5",
      "--timeout",
      "500",
    ]);
    await waitFor(
      "writes before the partition",
      () => parseJsonLines(client.stdoutLines).filter((o) => o.status === "ok").length >= 10,
      {
        timeoutMs: 30_000,
      },
    );
    for (const other of cluster.ids) {
      if (other !== first.id) await cluster.net.partition(first.id, other);
    }
    const cut = Date.now();
    const second = await cluster.waitLeader(
      (l) => l.id !== first.id && l.term > first.term,
      30_000,
    );
    // CheckQuorum: the cut-off leader stops acting as one (it cannot reach a majority).
    const old = cluster.procs.get(first.id)!;
    await old.event("stepped_down", undefined, { timeout: 30_000 });
    await waitFor(
      "writes through the new leader",
      () =>
        parseJsonLines(client.stdoutLines).filter((o) =>
          o.status === "ok" && o.op === "put" && Number(o.call) > cut
        ).length >= 10,
      { timeoutMs: 30_000 },
    );
    await cluster.net.heal();
    // On heal the old leader learns the new term and follows the new leader.
    await old.event(
      "role_changed",
      (e) => e.state === "follower" && Number(e.term) >= second.term && e.leader !== null,
      { timeout: 30_000 },
    );
    await client.stop({ timeout: 20_000 });
    // All replicas converge on the same state.
    await waitFor("replicas agree", () => {
      const last = cluster.ids.map((id) => lastEvent(cluster.procs.get(id)!, "status"));
      const leaderCommit = Math.max(...last.map((e) => Number(e?.commit_index ?? 0)));
      return last.every((e) => e && Number(e.last_applied) === leaderCommit) &&
        new Set(last.map((e) => e!.fingerprint)).size === 1;
    }, { timeoutMs: 30_000 });
    const terms = cluster.assertOneLeaderPerTerm();
    assert.ok(terms >= 2);
  },
);

netTest(
  "5 nodes: committed entries survive kill -9 of a minority and a full-cluster restart",
  async () => {
    await using cluster = await NetCluster.start(5);
    const leader = await cluster.waitLeader();
    // Per key: the last acknowledged value, plus the values of later writes whose outcome is
    // unknown (given up at their deadline: they may have been applied after all).
    const acked = new Map<string, Set<string>>();
    const record = (ops: Record<string, unknown>[]) => {
      for (const o of ops) {
        if (o.kind !== "op" || o.op !== "put") continue;
        const key = String(o.key);
        if (o.status === "ok") acked.set(key, new Set([String(o.value)]));
        else if (o.status === "unknown") acked.get(key)?.add(String(o.value));
      }
    };
    record(
      await cluster.client([
        "--ops",
        "40",
        "--rate",
        "0",
        "--read-ratio",
        "0",
        "--keys",
        "20",
        "--key-prefix",
        "a",
      ]),
    );
    assert.equal(acked.size > 10, true);
    // kill -9 a minority: the leader and one follower.
    const current = cluster.leader() ?? leader;
    const victims = [current.id, cluster.ids.find((id) => id !== current.id)!];
    for (const id of victims) await cluster.kill(id);
    record(
      await cluster.client([
        "--ops",
        "40",
        "--rate",
        "0",
        "--read-ratio",
        "0",
        "--keys",
        "20",
        "--key-prefix",
        "b",
      ]),
    );
    const check = async () => {
      const keys = [...acked.keys()];
      const reads = await cluster.client(["get", ...keys]);
      const got = new Map(reads.map((r) => [String(r.key), r.value as string | null]));
      for (const [k, allowed] of acked) {
        assert.ok(
          allowed.has(String(got.get(k))),
          `acknowledged ${k}=${[...allowed]}, read ${got.get(k)}`,
        );
      }
    };
    await check();
    // Everyone down at once (kill -9), then back: the log and snapshots are on disk.
    for (const id of [...cluster.procs.keys()]) await cluster.kill(id);
    await Promise.all(cluster.ids.map((id) => cluster.startNode(id)));
    await cluster.waitLeader();
    await check();
    cluster.assertOneLeaderPerTerm();
  },
);

netTest(
  "5 nodes, 20 % packet loss + 10 % message loss, a leader killed: progress goes on, the register history is linearizable",
  async () => {
    // Two kinds of loss: packets (iptables; TCP retransmits them, so messages come late) and
    // whole messages (--drop-rate: each node drops 10 % of the peer messages it receives, as
    // a PUB past its HWM or before a slow joiner's subscription would).
    await using cluster = await NetCluster.start(5, ["--drop-rate", "0.1"]);
    await cluster.waitLeader();
    for (const id of cluster.ids) await cluster.net.loss(id, 0.2);
    await using client = await cluster.spawnClient([
      "--sessions",
      "3",
      "--rate",
      "0",
      "--keys",
      "1",
      "--key-prefix",
      "reg",
      "--read-ratio",
      "0.5",
      "--timeout",
      "1000",
      "--deadline",
      "6000",
    ]);
    const oks = () =>
      parseJsonLines(client.stdoutLines).filter((o) => o.kind === "op" && o.status === "ok").length;
    await waitFor("progress under 20 % loss", () => oks() >= 40, { timeoutMs: 40_000 });
    const leader = await cluster.waitLeader();
    await cluster.kill(leader.id);
    const before = oks();
    await waitFor("progress after the leader's kill -9", () => oks() >= before + 30, {
      timeoutMs: 40_000,
    });
    await cluster.startNode(leader.id);
    await client.stop({ timeout: 20_000 });
    const history = registerHistory(parseJsonLines(client.stdoutLines));
    const result = checkRegister(history);
    console.log(
      `linearizability: ${history.length} operations (${
        history.filter((h) => h.ret === Infinity).length
      } unknown), ${result.explored} states explored`,
    );
    assert.equal(result.ok, true, result.ok ? "" : result.reason);
    cluster.assertOneLeaderPerTerm();
  },
);
