/**
 * Lab 08 fault tests on a real (private) network: the device and two receivers each in
 * their own network namespace on a test bridge (`createTestNetwork` from `@lib/testing`),
 * with packet loss (iptables `statistic`), links pulled and put back, and a receiver
 * killed. The receivers share one database file (the central storage behind them; the
 * namespaces share the file system). Skipped with a printed reason where namespaces are
 * not available (not Linux, not root, no `ip netns`, or no iptables for the loss test).
 */
import assert from "node:assert/strict";
import {
  createTestNetwork,
  tempDir,
  type TestNetwork,
  testNetworkSupport,
} from "@lib/testing/mod.ts";
import {
  assertExactlyOnceInOrder,
  deviceCounters,
  FAILOVER_ARGS,
  range,
  type Receiver,
  startDevice,
  startReceiver,
  storedReadings,
} from "./testing.ts";

const support = await testNetworkSupport();
if (!support.ok) console.log(`skipping the Lab 08 namespace tests: ${support.reason}`);
else if (!support.iptables) {
  console.log("skipping the Lab 08 packet-loss test: iptables is missing");
}

const LONG = { timeout: 90_000 };
const PORT = 5581;

/** A network with hosts device, primary, backup and a receiver on each of the last two. */
async function topology(
  db: string,
  receiverArgs: string[] = [],
): Promise<{ net: TestNetwork; primary: Receiver; backup: Receiver; endpoints: string[] }> {
  const net = await createTestNetwork({ hosts: ["device", "primary", "backup"] });
  try {
    const endpoints = ["primary", "backup"].map((h) => `tcp://${net.host(h).address}:${PORT}`);
    const primary = await startReceiver(db, receiverArgs, {
      bind: endpoints[0],
      netns: net.host("primary").netns,
      name: "primary",
    });
    const backup = await startReceiver(db, receiverArgs, {
      bind: endpoints[1],
      netns: net.host("backup").netns,
      name: "backup",
    });
    return { net, primary, backup, endpoints };
  } catch (error) {
    await net.close();
    throw error;
  }
}

Deno.test({
  name:
    "netns: 30 % packet loss on the device's link -> every reading stored exactly once, in order",
  ignore: !support.ok || !support.iptables,
  async fn() {
    await using dir = await tempDir("lab08-ns-");
    const db = `${dir.path}/central.db`;
    const { net, primary, backup, endpoints } = await topology(db);
    try {
      // Loss both ways on the device's link: what it sends, and what the receivers send it.
      await net.loss("device", 0.3);
      await net.loss("primary", 0.3, "device");
      await net.loss("backup", 0.3, "device");
      await using device = await startDevice("d1", endpoints, `${dir.path}/dev`, [
        "--count",
        "300",
        "--interval",
        "10",
        "--batch",
        "10",
        "--heartbeat-interval",
        "500",
      ], { netns: net.host("device").netns });
      await device.event("all_acked", undefined, { timeout: 180_000 });
      assertExactlyOnceInOrder(db, "d1", range(300));
      // The loss was real: the device's DROP rule threw packets away.
      const rules = await net.command("device", "iptables", ["-L", "OUTPUT", "-v", "-n", "-x"])
        .output();
      const dropLine = new TextDecoder().decode(rules.stdout).split("\n").find((l) =>
        l.includes("DROP")
      );
      assert.ok(
        Number(dropLine?.trim().split(/\s+/)[0]) > 0,
        `expected dropped packets: ${dropLine}`,
      );
      await device.stop({ timeout: 20_000 });
    } finally {
      await primary[Symbol.asyncDispose]();
      await backup[Symbol.asyncDispose]();
      await net.close();
    }
  },
});

Deno.test({
  name:
    "netns: the primary receiver's link goes down -> the device fails over within liveness + 2 heartbeats, and fails back when it is up again",
  ignore: !support.ok,
  async fn() {
    await using dir = await tempDir("lab08-ns-");
    const db = `${dir.path}/central.db`;
    const { net, primary, backup, endpoints } = await topology(db);
    try {
      await using device = await startDevice("d1", endpoints, `${dir.path}/dev`, FAILOVER_ARGS, {
        netns: net.host("device").netns,
      });
      await device.event("receiver_up", (e) => e.receiver === endpoints[0], LONG);
      await net.linkDown("primary");
      const failover = await device.event("failover", (e) => e.to === endpoints[1], LONG);
      assert.ok(
        Number(failover.heartbeats) <= 3 + 2,
        `expected failover within 5 heartbeats, got ${failover.heartbeats} (${failover.ms} ms)`,
      );
      await net.linkUp("primary");
      await device.event(
        "receiver_up",
        (e) => e.receiver === endpoints[0] && device.eventCount("failback") > 0,
        LONG,
      );
      await device.event("all_acked", undefined, { timeout: 120_000 });
      assertExactlyOnceInOrder(db, "d1", range(300));
      await device.stop({ timeout: 20_000 });
    } finally {
      await primary[Symbol.asyncDispose]();
      await backup[Symbol.asyncDispose]();
      await net.close();
    }
  },
});

Deno.test({
  name:
    "netns: both receivers' links down -> the device buffers to its bound, then reports drops; links up -> the buffer drains in order",
  ignore: !support.ok,
  async fn() {
    await using dir = await tempDir("lab08-ns-");
    const db = `${dir.path}/central.db`;
    const { net, primary, backup, endpoints } = await topology(db);
    try {
      await using device = await startDevice("d1", endpoints, `${dir.path}/dev`, [
        "--count",
        "200",
        "--interval",
        "20",
        "--buffer",
        "50",
        "--reconnect-max",
        "2000",
      ], { netns: net.host("device").netns });
      await device.event("receiver_up", undefined, LONG);
      await net.linkDown("primary");
      await net.linkDown("backup");
      const dropped = await device.event("readings_dropped", undefined, LONG);
      assert.equal(dropped.buffer, 50);
      await device.event("sampling_done", undefined, LONG);
      await net.linkUp("primary");
      await net.linkUp("backup");
      const done = await device.event("all_acked", undefined, { timeout: 120_000 });
      const seqs = storedReadings(db, "d1").map((r) => r.seq);
      // In order, once each; the newest 50 (what the bounded buffer kept) are all there.
      assertExactlyOnceInOrder(db, "d1", seqs);
      for (const seq of range(50, 150)) assert.ok(seqs.includes(seq), `expected seq ${seq} stored`);
      // Every reading is stored or counted dropped (one stored just before the outage may
      // have lost its ack and been dropped later: counted on both sides, never lost).
      assert.ok(seqs.length + Number(done.dropped) >= 200, `${seqs.length} + ${done.dropped}`);
      assert.equal(deviceCounters(db, "d1")?.missing, 200 - seqs.length);
      await device.stop({ timeout: 20_000 });
    } finally {
      await primary[Symbol.asyncDispose]();
      await backup[Symbol.asyncDispose]();
      await net.close();
    }
  },
});

Deno.test({
  name:
    "netns: receiver kill -9 mid-stream -> nothing acked is lost; the device moves on and every reading is stored once",
  ignore: !support.ok,
  async fn() {
    await using dir = await tempDir("lab08-ns-");
    const db = `${dir.path}/central.db`;
    const { net, primary, backup, endpoints } = await topology(db);
    try {
      await using device = await startDevice("d1", endpoints, `${dir.path}/dev`, [
        "--count",
        "400",
        "--interval",
        "5",
        "--batch",
        "10",
        "--log-level",
        "debug",
      ], { netns: net.host("device").netns });
      await device.event("acked", (e) => Number(e.upto) >= 100, LONG);
      await primary.proc.kill();
      const ackedUpto = Math.max(
        ...device.events.filter((e) => e.event === "acked").map((e) => Number(e.upto)),
      );
      const afterKill = storedReadings(db, "d1").map((r) => r.seq);
      assert.deepEqual(afterKill.slice(0, ackedUpto + 1), range(ackedUpto + 1));
      await device.event("failover", (e) => e.to === endpoints[1], LONG);
      await device.event("all_acked", undefined, { timeout: 120_000 });
      assertExactlyOnceInOrder(db, "d1", range(400));
      await device.stop({ timeout: 20_000 });
    } finally {
      await primary[Symbol.asyncDispose]();
      await backup[Symbol.asyncDispose]();
      await net.close();
    }
  },
});
