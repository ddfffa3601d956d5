import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { BroadcastQueue, retransmitLimit } from "./broadcast_queue.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  decodeFrames,
  encodeFrames,
  MAX_INCARNATION,
  MAX_KV_KEYS,
  type Message,
} from "./protocol.ts";
import { SimCluster } from "./sim.ts";
import {
  MAX_PENDING_CONTACTS,
  suspicionBounds,
  suspicionTimeout,
  Swim,
  type SwimConfig,
  type SwimEvent,
} from "./swim.ts";

/** A core wired to a manual clock, recording what it sends and reports. */
function harness(config: Partial<SwimConfig> = {}) {
  const clock = new ManualClock();
  const sent: { to: string; message: Message }[] = [];
  const events: SwimEvent[] = [];
  const swim = new Swim("me", "tcp://127.0.0.1:1", {
    gossipIntervalMs: 0,
    syncIntervalMs: 0,
    ...config,
  }, {
    clock,
    random: seededRandom(3),
    wallNow: () => 0,
    send: (to, message) => sent.push({ to, message }),
    connect: () => {},
    disconnect: () => {},
    event: (e) => events.push(e),
  });
  swim.start();
  swim.bootstrap();
  /** Runs `ms` of time in 50 ms ticks (no stall). */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      await clock.advance(Math.min(50, ms - t));
      swim.tick();
    }
  };
  const learn = (...ids: string[]) =>
    swim.onMessage({
      t: "gossip",
      from: ids[0],
      g: ids.map((id) => ({ k: "alive" as const, id, inc: 1, ep: `tcp://127.0.0.1:${id.length}` })),
    });
  return { clock, sent, events, swim, learn, run };
}

Deno.test("a suspicion about ourselves is refuted with a higher incarnation, gossiped on the next message", () => {
  const { swim, sent, events, learn } = harness();
  learn("a", "b");
  swim.onMessage({ t: "gossip", from: "a", g: [{ k: "suspect", id: "me", inc: 0, from: "a" }] });
  assert.equal(swim.incarnation, 1);
  assert.deepEqual(events.at(-1), {
    event: "refuted",
    incarnation: 1,
    accuser: "a",
    accused_as: "suspect",
  });
  assert.equal(swim.awareness, 1, "a refutation counts against our own health (Lifeguard)");
  // A stale accusation (older incarnation) is ignored; a dead one at our incarnation is refuted.
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "suspect", id: "me", inc: 0, from: "b" }] });
  assert.equal(swim.incarnation, 1);
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "dead", id: "me", inc: 1, from: "b" }] });
  assert.equal(swim.incarnation, 2);
  // The refutation rides on the next message (here the ack of a ping).
  swim.onMessage({ t: "ping", from: "a", seq: 9, g: [] });
  const ack = sent.at(-1)!.message;
  assert.equal(ack.t, "ack");
  assert.ok(
    ack.t === "ack" && ack.g.some((g) => g.k === "alive" && g.id === "me" && g.inc === 2),
  );
});

Deno.test("a refuted suspicion clears only with a newer incarnation", () => {
  const { swim, learn } = harness();
  learn("a", "b", "c");
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "suspect", id: "a", inc: 1, from: "b" }] });
  assert.equal(swim.member("a")?.state, "suspect");
  swim.onMessage({ t: "gossip", from: "c", g: [{ k: "alive", id: "a", inc: 1, ep: "tcp://x:1" }] });
  assert.equal(swim.member("a")?.state, "suspect", "same incarnation does not clear it");
  swim.onMessage({ t: "gossip", from: "a", g: [{ k: "alive", id: "a", inc: 2, ep: "tcp://x:1" }] });
  assert.equal(swim.member("a")?.state, "alive");
  assert.equal(swim.member("a")?.incarnation, 2);
  // Dead is final for that incarnation: a suspicion does not revive or change it.
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "dead", id: "a", inc: 2, from: "b" }] });
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "suspect", id: "a", inc: 2, from: "c" }] });
  assert.equal(swim.member("a")?.state, "dead");
  // A graceful leave is a dead item from the member itself.
  swim.onMessage({ t: "gossip", from: "c", g: [{ k: "dead", id: "c", inc: 1, from: "c" }] });
  assert.equal(swim.member("c")?.state, "left");
});

Deno.test("suspicion timeout: bounds grow with log10(N), confirmations shrink it to the minimum", () => {
  assert.deepEqual(suspicionBounds(4, 6, 1, 1000), { minMs: 4000, maxMs: 24000 });
  assert.deepEqual(suspicionBounds(4, 6, 10, 1000), { minMs: 4000, maxMs: 24000 });
  assert.deepEqual(suspicionBounds(4, 6, 100, 1000), { minMs: 8000, maxMs: 48000 });
  assert.equal(suspicionTimeout(0, 2, 4000, 24000), 24000);
  assert.equal(suspicionTimeout(1, 2, 4000, 24000), 11381); // 24000 - 20000·log 2/log 3
  assert.equal(suspicionTimeout(2, 2, 4000, 24000), 4000);
  assert.equal(suspicionTimeout(0, 0, 4000, 24000), 4000, "k < 1: straight to the minimum");
});

Deno.test("an unconfirmed suspicion dies at the max timeout; two confirmations cut it to the min", async () => {
  const ids = Array.from({ length: 9 }, (_, i) => `p${i}`);
  for (const confirm of [false, true]) {
    const { swim, events, learn, run } = harness({ probeIntervalMs: 1000 });
    learn(...ids);
    // N = 10: min = 4·log10(10)·1 s = 4 s, max = 24 s, k = 2.
    swim.onMessage({
      t: "gossip",
      from: "p1",
      g: [{ k: "suspect", id: "p0", inc: 1, from: "p1" }],
    });
    assert.equal(swim.member("p0")?.state, "suspect");
    if (confirm) {
      for (const from of ["p1", "p2", "p2", "p3"]) { // p1 again and p2 twice count once
        swim.onMessage({ t: "gossip", from, g: [{ k: "suspect", id: "p0", inc: 1, from }] });
      }
      assert.equal(swim.member("p0")?.confirmations, 2);
    }
    const deadline = confirm ? 4000 : 24000;
    await run(deadline - 1);
    assert.equal(swim.member("p0")?.state, "suspect");
    await run(1);
    assert.equal(swim.member("p0")?.state, "dead");
    assert.ok(
      events.some((e) => e.event === "member_dead" && e.member === "p0" && e.from === "me"),
    );
  }
});

Deno.test("after a stall of our own (SIGSTOP), running suspicions get the lost time back", async () => {
  const { swim, clock, events, learn } = harness({ probeIntervalMs: 1000 });
  learn("a", "b");
  // N = 3: k = 0, the suspicion lasts the minimum, 4 s.
  swim.onMessage({ t: "gossip", from: "b", g: [{ k: "suspect", id: "a", inc: 1, from: "b" }] });
  await clock.advance(500);
  swim.tick();
  await clock.advance(10_000); // we did not run for 10 s
  swim.tick();
  assert.equal(swim.member("a")?.state, "suspect", "a gets time to refute now that we listen");
  assert.deepEqual(events.at(-1), { event: "stalled", ms: 10_000 });
  assert.equal(swim.stats().stalls, 1);
  for (let t = 0; t < 3500; t += 100) {
    await clock.advance(100);
    swim.tick();
  }
  assert.equal(swim.member("a")?.state, "dead", "then it times out as usual");
});

Deno.test("a probe: ping, then indirect ping-reqs to k members at the timeout, then suspicion", async () => {
  const { swim, clock, sent, learn } = harness({ probeIntervalMs: 1000, probeTimeoutMs: 400 });
  learn("a", "b", "c", "d", "e");
  await clock.advance(1000);
  swim.tick();
  const ping = sent.find((s) => s.message.t === "ping")!;
  assert.ok(ping, "a direct ping went out");
  await clock.advance(400);
  swim.tick();
  const reqs = sent.filter((s) => s.message.t === "ping_req");
  assert.equal(reqs.length, 3, "indirectChecks = 3");
  assert.ok(
    reqs.every((r) =>
      r.to !== ping.to && r.message.t === "ping_req" && r.message.target === ping.to
    ),
  );
  // One helper answers with a nack: the other two missed theirs (our health gets worse by 2).
  swim.onMessage({ t: "nack", from: reqs[0].to, seq: (ping.message as { seq: number }).seq });
  await clock.advance(600);
  swim.tick();
  assert.equal(swim.member(ping.to)?.state, "suspect");
  assert.equal(swim.awareness, 2);
});

Deno.test("a relayed probe: the helper pings the target and forwards its ack, or nacks in time", async () => {
  const { swim, clock, sent, learn } = harness({ probeIntervalMs: 1000, probeTimeoutMs: 500 });
  learn("a", "t");
  swim.onMessage({ t: "ping_req", from: "a", seq: 77, target: "t", ep: "tcp://x:1", g: [] });
  const ping = sent.at(-1)!;
  assert.equal(ping.to, "t");
  swim.onMessage({ t: "ack", from: "t", seq: (ping.message as { seq: number }).seq, g: [] });
  assert.deepEqual({
    to: sent.at(-1)!.to,
    t: sent.at(-1)!.message.t,
    seq: (sent.at(-1)!.message as { seq: number }).seq,
  }, { to: "a", t: "ack", seq: 77 });
  swim.onMessage({ t: "ping_req", from: "a", seq: 78, target: "t", ep: "tcp://x:1", g: [] });
  await clock.advance(400); // 80 % of the probe timeout
  swim.tick();
  assert.deepEqual(sent.at(-1), { to: "a", message: { t: "nack", from: "me", seq: 78 } });
});

Deno.test("piggyback: each item is sent retransmitMult·ceil(log10(N+1)) times, least-sent first", () => {
  assert.equal(retransmitLimit(4, 1), 4);
  assert.equal(retransmitLimit(4, 9), 4);
  assert.equal(retransmitLimit(4, 10), 8);
  assert.equal(retransmitLimit(4, 99), 8);
  assert.equal(retransmitLimit(4, 100), 12);
  const queue = new BroadcastQueue(100);
  const alive = (id: string, inc: number) => ({ k: "alive" as const, id, inc, ep: "tcp://x:1" });
  queue.enqueue("m:a", alive("a", 1));
  queue.enqueue("m:b", alive("b", 1));
  let sends = 0;
  while (queue.transmits("m:a") !== undefined) {
    const items = queue.take(1, 3); // one per message: they alternate, least-sent first
    assert.equal(items.length, 1);
    sends++;
  }
  assert.equal(sends, 6, "each sent 3 times, alternating (newest first on a tie)");
  assert.equal(queue.transmits("m:b"), undefined);
  queue.enqueue("m:b", alive("b", 1));
  queue.take(1, 3);
  queue.take(1, 3);
  assert.equal(queue.transmits("m:b"), 2);
  // A newer item about the same member replaces the old one and starts from zero.
  queue.enqueue("m:b", alive("b", 2));
  assert.equal(queue.transmits("m:b"), 0);
  assert.deepEqual(queue.take(16, 3), [alive("b", 2)]);
  // The queue is bounded: past max, the most-sent item goes.
  const small = new BroadcastQueue(2);
  small.enqueue("1", alive("x", 1));
  small.take(1, 9);
  small.enqueue("2", alive("y", 1));
  small.enqueue("3", alive("z", 1));
  assert.equal(small.size, 2);
  assert.equal(small.transmits("1"), undefined);
});

Deno.test("piggyback budget: at most maxPiggyback items ride on one message", () => {
  const { swim, sent, learn } = harness({ maxPiggyback: 4 });
  learn(...Array.from({ length: 10 }, (_, i) => `m${i}`));
  swim.onMessage({ t: "ping", from: "m0", seq: 1, g: [] });
  const ack = sent.at(-1)!.message;
  assert.ok(ack.t === "ack" && ack.g.length === 4);
});

Deno.test("application state: the newest version of each entry wins everywhere", () => {
  const sim = new SimCluster({ seed: 11, config: { probeIntervalMs: 200, probeTimeoutMs: 100 } });
  sim.add("n0");
  for (let i = 1; i < 6; i++) sim.add(`n${i}`, "n0");
  assert.ok(sim.runUntil(() => sim.converged(), 20_000) !== undefined);
  sim.nodes.get("n3")!.swim.setKv("load", 0.5);
  sim.nodes.get("n3")!.swim.setKv("zone", "b");
  sim.run(100);
  sim.nodes.get("n3")!.swim.setKv("load", 0.75);
  const agreed = () =>
    [...sim.nodes.values()].every((n) => {
      const kv = n.swim.member("n3")?.kv;
      return kv?.load === 0.75 && kv?.zone === "b";
    });
  assert.ok(sim.runUntil(agreed, 20_000) !== undefined, "every node holds n3's newest entries");
});

Deno.test("sim, 20 nodes: join converges, a kill is detected everywhere, a pause is refuted", () => {
  const sim = new SimCluster({
    seed: 5,
    config: { probeIntervalMs: 500, probeTimeoutMs: 200, syncIntervalMs: 5000 },
  });
  sim.add("n0");
  for (let i = 1; i < 20; i++) sim.add(`n${i}`, i < 3 ? "n0" : `n${i % 3}`);
  assert.ok(sim.runUntil(() => sim.converged(), 30_000) !== undefined, "20 nodes converge");
  sim.kill("n7");
  assert.ok(
    sim.runUntil(() => sim.allSee("n7", "dead"), 60_000) !== undefined,
    "n7 dead everywhere",
  );
  sim.pause("n4", true);
  assert.ok(
    sim.runUntil(
      () => sim.events.some((e) => e.event.event === "member_suspect" && e.event.member === "n4"),
      30_000,
    ) !== undefined,
  );
  sim.pause("n4", false);
  assert.ok(sim.runUntil(() => sim.allSee("n4", "alive"), 30_000) !== undefined);
  sim.run(10_000);
  assert.ok(sim.allSee("n4", "alive"), "n4 stays alive");
  assert.ok(!sim.events.some((e) => e.event.event === "member_dead" && e.event.member === "n4"));
  assert.ok(sim.events.some((e) => e.node === "n4" && e.event.event === "refuted"));
});

Deno.test("sim, 20 nodes: a partition heals into one view; 10 % loss kills nobody", () => {
  const sim = new SimCluster({
    seed: 9,
    config: { probeIntervalMs: 500, probeTimeoutMs: 200, syncIntervalMs: 2000 },
  });
  const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
  sim.add(ids[0]);
  for (const id of ids.slice(1)) sim.add(id, "n0");
  assert.ok(sim.runUntil(() => sim.converged(), 30_000) !== undefined);
  sim.setLoss(0.1);
  sim.run(60_000);
  assert.ok(
    !sim.events.some((e) => e.event.event === "member_dead"),
    "no false death at 10 % loss",
  );
  sim.setLoss(0);
  const [a, b] = [ids.slice(0, 10), ids.slice(10)];
  sim.partition(a, b);
  assert.ok(
    sim.runUntil(
      () =>
        b.every((id) => sim.state("n0", id) === "dead") &&
        a.every((id) => sim.state("n10", id) === "dead"),
      60_000,
    ) !== undefined,
    "each side declares the other dead",
  );
  sim.heal();
  assert.ok(sim.runUntil(() => sim.converged(), 60_000) !== undefined, "one view again");
});

Deno.test("forged accusations with huge incarnations: the refutation stays a valid incarnation peers accept", () => {
  const { swim, learn, sent } = harness();
  learn("a", "b");
  swim.onMessage({
    t: "gossip",
    from: "a",
    g: [{ k: "suspect", id: "me", inc: MAX_INCARNATION - 1, from: "a" }],
  });
  assert.equal(swim.incarnation, MAX_INCARNATION, "outbids the largest accusation allowed");
  // An accusation at the ceiling cannot be outbid, so nobody may hold one: ignored.
  swim.onMessage({
    t: "gossip",
    from: "a",
    g: [{ k: "dead", id: "me", inc: MAX_INCARNATION, from: "a" }, {
      k: "suspect",
      id: "b",
      inc: MAX_INCARNATION,
      from: "a",
    }],
  });
  assert.equal(swim.incarnation, MAX_INCARNATION);
  assert.equal(swim.members().find((m) => m.id === "b")?.state, "alive");
  // What we send still decodes at the peers (an unsafe integer would be a bad_message there).
  swim.onMessage({ t: "ping", from: "a", seq: 1, g: [] }); // answered with our news
  const last = sent.at(-1)!;
  assert.doesNotThrow(() => decodeFrames(encodeFrames(last.to, last.message), last.to));
  // Beyond the ceiling the wire schema refuses the message outright.
  assert.throws(
    () =>
      decodeFrames(
        encodeFrames("me", {
          t: "gossip",
          from: "a",
          g: [{ k: "suspect", id: "me", inc: Number.MAX_SAFE_INTEGER, from: "a" }],
        }),
        "me",
      ),
    BadMessageError,
  );
});

Deno.test("a forged leave about a live node is refuted by that node", () => {
  const { swim, learn, events } = harness();
  learn("a", "b");
  // A "dead" item with from === id is a graceful leave; we did not leave.
  swim.onMessage({ t: "gossip", from: "a", g: [{ k: "dead", id: "me", inc: 0, from: "me" }] });
  assert.equal(swim.incarnation, 1);
  assert.equal(events.at(-1)?.event, "refuted");
});

Deno.test("100k forged members: the member table, kv maps and gossip queue stay bounded", () => {
  const { swim } = harness({ maxMembers: 64 });
  for (let batch = 0; batch < 400; batch++) {
    const g = [];
    for (let i = 0; i < 250; i++) {
      const id = `fake${batch * 250 + i}`;
      g.push({ k: "alive" as const, id, inc: 0, ep: `tcp://10.0.0.1:${1000 + i}` });
    }
    g.push(
      ...Array.from({ length: 6 }, (_, i) => ({
        k: "kv" as const,
        id: `fake${batch}`,
        key: `k${batch}_${i}`,
        ver: 1,
        val: "x".repeat(256),
      })),
    );
    swim.onMessage({ t: "gossip", from: "a", g });
  }
  assert.ok(swim.members().length <= 64 + 1, `${swim.members().length} members`);
  const status = swim.stats();
  assert.ok(status.pending_gossip <= 64 * 4, `${status.pending_gossip} pending`);
  for (const m of swim.members()) {
    assert.ok(Object.keys(m.kv ?? {}).length <= MAX_KV_KEYS, `${m.id} holds too many keys`);
  }
});

Deno.test("a flood of forged hellos: the mesh stays connected to a bounded set of joiners", () => {
  const connected = new Set<string>();
  const swim = new Swim("me", "tcp://127.0.0.1:1", { gossipIntervalMs: 0, syncIntervalMs: 0 }, {
    clock: new ManualClock(),
    random: seededRandom(3),
    wallNow: () => 0,
    send: () => {},
    connect: (_id, ep) => connected.add(ep),
    disconnect: (_id, ep) => connected.delete(ep),
    event: () => {},
  });
  swim.start();
  swim.bootstrap();
  for (let i = 0; i < 10_000; i++) swim.contact(`fake${i}`, `tcp://10.0.${i >> 8}.${i & 255}:9`);
  assert.ok(connected.size <= MAX_PENDING_CONTACTS, `${connected.size} connections`);
  // A real joiner still gets in: it answers our sync and becomes a member.
  swim.contact("real", "tcp://127.0.0.1:2");
  assert.ok(connected.has("tcp://127.0.0.1:2"));
  swim.onMessage({
    t: "sync",
    from: "real",
    reply: true,
    members: [{ id: "real", ep: "tcp://127.0.0.1:2", inc: 0, st: "alive" }],
    kv: [],
  });
  assert.equal(swim.member("real")?.state, "alive");
});
