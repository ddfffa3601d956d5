import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { invalidRequests } from "../testing.ts";
import { GatewayCore } from "./gateway_core.ts";
import {
  decodeReply,
  decodeRequest,
  encodeRequest,
  type GatewayReply,
  WORKER_HEADER,
  type WorkerAck,
} from "./protocol.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
const EMPTY = new Uint8Array(0);
const text = (f: string | Uint8Array) => typeof f === "string" ? f : td.decode(f);

function harness(overrides: Partial<ConstructorParameters<typeof GatewayCore>[0]> = {}) {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const replies: { client: string; reply: GatewayReply }[] = [];
  const toWorkers: { worker: string; command: string; id?: string }[] = [];
  const core = new GatewayCore({
    maxInflight: 100,
    workerTimeoutMs: 3000,
    recordTimeoutMs: 10_000,
    quarantineMs: 5000,
    retryAfterMs: 20,
    recentIds: 1000,
    ...overrides,
  }, {
    clock,
    log,
    reply: (frames) =>
      replies.push({ client: text(frames[0]), reply: decodeReply(frames.at(-1) as Uint8Array) }),
    toWorker: (frames, worker, recordId) => {
      const [, , command, body] = frames;
      toWorkers.push({
        worker: td.decode(worker),
        command: text(command),
        ...(body ? { id: decodeRequest(body as Uint8Array).id } : {}),
      });
      if (recordId !== undefined) assert.equal(recordId, decodeRequest(body as Uint8Array).id);
    },
  });
  const events = {
    filter: (pred: (e: { event: string; fields: Record<string, unknown> }) => boolean) =>
      log.records.map((r) => ({ event: r.event, fields: r.fields })).filter(pred),
    some: (pred: (e: { event: string; fields: Record<string, unknown> }) => boolean) =>
      log.records.some((r) => pred({ event: r.event, fields: r.fields })),
  };
  return {
    core,
    clock,
    log,
    replies,
    toWorkers,
    events,
    advance: (ms: number) => clock.set(clock.now() + ms),
    send: (client: string, id: string) =>
      core.onClient([b(client), EMPTY, encodeRequest({ id, record: { actor: client } })]),
    ready: (worker: string, capacity: number) =>
      core.onWorker([b(worker), b(WORKER_HEADER), b("READY"), encode({ capacity })]),
    ack: (worker: string, acks: WorkerAck[]) =>
      core.onWorker([b(worker), b(WORKER_HEADER), b("ACK"), encode(acks)]),
    hb: (worker: string) => core.onWorker([b(worker), b(WORKER_HEADER), b("HB")]),
    dispatchedTo: (worker: string) =>
      toWorkers.filter((m) => m.worker === worker && m.command === "REC").map((m) => m.id!),
  };
}

const okAck = (id: string, seq: number): WorkerAck => ({
  id,
  seq,
  hash: `h${seq}`,
  duplicate: false,
});

Deno.test("a record is acked to its client only after a worker acks it", () => {
  const h = harness();
  h.ready("w1", 4);
  h.send("c1", "r1");
  assert.deepEqual(h.dispatchedTo("w1"), ["r1"]);
  assert.equal(h.replies.length, 0);
  h.ack("w1", [okAck("r1", 7)]);
  assert.deepEqual(h.replies, [{
    client: "c1",
    reply: { id: "r1", status: "ok", seq: 7, hash: "h7" },
  }]);
  assert.equal(h.core.inflight, 0);
});

Deno.test("dispatch goes to the worker with the most free credit; a full worker gets nothing", () => {
  const h = harness();
  h.ready("slow", 2);
  h.ready("fast", 2);
  for (let i = 0; i < 4; i++) h.send("c", `r${i}`);
  assert.equal(h.dispatchedTo("slow").length, 2);
  assert.equal(h.dispatchedTo("fast").length, 2);
  // fast keeps acking, slow never does: every further record goes to fast.
  const acked = new Set<string>();
  for (let i = 4; i < 20; i++) {
    h.send("c", `r${i}`);
    for (const id of h.dispatchedTo("fast")) {
      if (acked.has(id)) continue;
      acked.add(id);
      h.ack("fast", [okAck(id, acked.size)]);
    }
  }
  assert.equal(h.dispatchedTo("slow").length, 2, "a slow worker must not get more than its credit");
  assert.equal(h.dispatchedTo("fast").length, 18);
});

Deno.test("above max-inflight clients get busy with retry_after_ms, and a later retry is accepted", () => {
  const h = harness({ maxInflight: 2 });
  h.ready("w1", 10);
  h.send("c", "a");
  h.send("c", "b");
  h.send("c", "c");
  assert.deepEqual(h.replies.at(-1)?.reply, { id: "c", status: "busy", retry_after_ms: 20 });
  assert.equal(h.core.stats.busy, 1);
  h.ack("w1", [okAck("a", 1)]);
  h.send("c", "c");
  assert.deepEqual(h.dispatchedTo("w1"), ["a", "b", "c"]);
});

Deno.test("a retry of an acked id gets the original ack; a retry in flight is answered once", () => {
  const h = harness();
  h.ready("w1", 10);
  h.send("c", "a");
  h.send("c", "a"); // retry while in flight: not dispatched twice, not acked twice
  assert.deepEqual(h.dispatchedTo("w1"), ["a"]);
  h.ack("w1", [okAck("a", 3)]);
  assert.equal(h.replies.length, 1);
  h.send("c2", "a");
  assert.deepEqual(h.replies.at(-1), {
    client: "c2",
    reply: { id: "a", status: "ok", seq: 3, hash: "h3", duplicate: true },
  });
  assert.equal(h.dispatchedTo("w1").length, 1);
});

Deno.test("a silent worker's records are re-dispatched to another worker", () => {
  const h = harness();
  h.ready("w1", 5);
  h.send("c", "a");
  h.send("c", "b");
  assert.deepEqual(h.dispatchedTo("w1"), ["a", "b"]);
  h.ready("w2", 5);
  h.advance(2000);
  h.hb("w2");
  h.advance(1500);
  h.core.tick();
  assert.deepEqual(h.dispatchedTo("w2"), ["a", "b"]);
  assert.ok(h.events.some((e) => e.event === "worker_lost" && e.fields.redispatch === 2));
  h.ack("w2", [okAck("a", 1), okAck("b", 2)]);
  // A late ack from the dead worker changes nothing.
  h.ack("w1", [okAck("a", 1)]);
  assert.equal(h.replies.filter((r) => r.reply.status === "ok").length, 2);
});

Deno.test("an unreachable worker is dropped at once and its records move on", () => {
  const h = harness();
  h.ready("w1", 5);
  h.ready("w2", 1);
  h.send("c", "a");
  const first = h.dispatchedTo("w1").length ? "w1" : "w2";
  h.core.workerUnreachable(b(first));
  const second = first === "w1" ? "w2" : "w1";
  assert.deepEqual(h.dispatchedTo(second), ["a"]);
});

Deno.test("garbage from clients or workers is logged as bad_message and dropped", () => {
  const h = harness();
  h.core.onClient([b("c")]);
  h.core.onClient([b("c"), EMPTY, b("\xc1not msgpack")]);
  h.core.onClient([b("c"), b("x"), b("y")]);
  h.core.onWorker([b("w"), b("NOPE"), b("READY")]);
  h.core.onWorker([b("w"), b(WORKER_HEADER), b("READY"), b("zz")]);
  assert.equal(h.core.stats.badMessages, 5);
  assert.equal(h.events.filter((e) => e.event === "bad_message").length, 5);
  assert.equal(h.replies.length, 0);
  // A readable id with an invalid record gets a structured `invalid` reply.
  h.core.onClient([b("c"), EMPTY, encode({ id: "x1", record: new Uint8Array(3) })]);
  assert.equal(h.replies.at(-1)?.reply.status, "invalid");
  // And the gateway still works.
  h.ready("w1", 1);
  h.send("c", "ok1");
  assert.deepEqual(h.dispatchedTo("w1"), ["ok1"]);
});

Deno.test("a leaving worker gets no more records; stopAccepting answers busy", () => {
  const h = harness();
  h.ready("w1", 5);
  h.ready("w2", 5);
  h.core.onWorker([b("w1"), b(WORKER_HEADER), b("BYE")]);
  assert.ok(h.toWorkers.some((m) => m.worker === "w1" && m.command === "BYE_OK"));
  h.send("c", "a");
  assert.deepEqual(h.dispatchedTo("w2"), ["a"]);
  h.core.stopAccepting();
  h.send("c", "b");
  assert.equal(h.replies.at(-1)?.reply.status, "busy");
  assert.equal(h.core.inflight, 1);
});

Deno.test("a message from an unknown worker asks it to register again", () => {
  const h = harness();
  h.hb("ghost");
  assert.deepEqual(h.toWorkers.at(-1), { worker: "ghost", command: "RESET" });
});

Deno.test("NACKed records and a re-registering worker's records are dispatched again", () => {
  const h = harness();
  h.ready("w1", 2);
  h.send("c", "a");
  h.send("c", "b");
  h.core.onWorker([b("w1"), b(WORKER_HEADER), b("NACK"), encode(["a"])]);
  assert.deepEqual(h.dispatchedTo("w1"), ["a", "b", "a"]);
  h.ready("w1", 2); // READY again (it lost track of us): everything it held goes out again
  assert.deepEqual(h.dispatchedTo("w1").slice(3).sort(), ["a", "b"]);
  assert.equal(h.core.stats.redispatched, 2);
  h.ack("w1", [okAck("a", 1), okAck("b", 2), okAck("a", 1)]);
  assert.equal(h.replies.length, 2);
  assert.equal(h.core.inflight, 0);
});

Deno.test("busy replies carry about one recent ack latency as retry_after_ms", () => {
  const h = harness({ maxInflight: 1 });
  h.ready("w1", 1);
  h.send("c", "a");
  h.advance(300);
  h.ack("w1", [okAck("a", 1)]);
  h.send("c", "b");
  h.send("c", "c");
  assert.deepEqual(h.replies.at(-1)?.reply, { id: "c", status: "busy", retry_after_ms: 300 });
});

Deno.test("whenSettled() resolves on the last ack, or when the last worker holding records is lost", async () => {
  const h = harness();
  await h.core.whenSettled(); // nothing in flight: at once
  h.ready("w1", 2);
  h.ready("w2", 2);
  h.send("c", "a");
  h.send("c", "b");
  h.core.stopAccepting();
  let settled = false;
  const waiting = h.core.whenSettled().then(() => settled = true);
  h.ack("w1", [okAck("a", 1)]);
  await Promise.resolve();
  assert.equal(settled, false, "settled with a record still in flight");
  h.ack("w2", [okAck("b", 2)]);
  await waiting;
  assert.equal(h.core.inflight, 0);

  // No worker left: what is in flight can never finish, so the drain is over too.
  const g = harness();
  g.ready("w1", 1);
  g.send("c", "x");
  g.send("c", "y"); // queued: w1 is full
  let done = false;
  const drained = g.core.whenSettled().then(() => done = true);
  g.advance(3001);
  g.hb("other"); // unknown worker: RESET, nothing changes
  await Promise.resolve();
  assert.equal(done, false);
  g.core.tick(); // w1 timed out
  await drained;
  assert.deepEqual([g.core.inflight, g.core.workers], [2, 0]);
});

Deno.test("issue 9 #8: only a worker the record was dispatched to can ack it", () => {
  const h = harness();
  h.ready("w1", 4);
  h.ready("w2", 4);
  h.send("c", "victim-1");
  const holder = h.dispatchedTo("w1").length ? "w1" : "w2";
  const other = holder === "w1" ? "w2" : "w1";
  // An unregistered DEALER forges an ACK: ignored, bad_message, told to register.
  h.ack("mallory", [{ id: "victim-1", seq: 999, hash: "f".repeat(64), duplicate: false }]);
  // A registered worker that never got the record: ignored too.
  h.ack(other, [{ id: "victim-1", seq: 998, hash: "e".repeat(64), duplicate: false }]);
  assert.equal(h.replies.length, 0, "a forged ack reached the client");
  assert.equal(h.core.stats.forgedAcks, 2);
  assert.equal(h.events.filter((e) => e.event === "bad_message").length, 2);
  assert.deepEqual(h.toWorkers.at(-1), { worker: "mallory", command: "RESET" });
  h.ack(holder, [okAck("victim-1", 1)]);
  assert.deepEqual(h.replies.map((r) => r.reply), [{
    id: "victim-1",
    status: "ok",
    seq: 1,
    hash: "h1",
  }]);
});

Deno.test("issue 9 #9: a record held past the record timeout by a live worker is re-dispatched and the worker quarantined", () => {
  const h = harness({ recordTimeoutMs: 1000, quarantineMs: 5000 });
  h.ready("stuck", 10);
  h.send("c", "a");
  h.send("c", "b");
  assert.deepEqual(h.dispatchedTo("stuck"), ["a", "b"]);
  h.ready("good", 10);
  for (let t = 0; t < 4; t++) {
    h.advance(400);
    h.hb("stuck"); // alive: heartbeats, never acks
    h.hb("good");
    h.core.tick();
  }
  assert.deepEqual(h.dispatchedTo("good"), ["a", "b"]);
  assert.equal(h.core.stats.recordTimeouts, 2);
  const q = h.events.filter((e) => e.event === "worker_quarantined");
  assert.equal(q.length, 1);
  assert.deepEqual([q[0].fields.worker, q[0].fields.records, q[0].fields.for_ms], [
    "737475636b",
    2,
    5000,
  ]);
  // Quarantined: new records go to the good worker even when it has less free credit.
  h.send("c", "x");
  assert.deepEqual(h.dispatchedTo("stuck"), ["a", "b"]);
  assert.ok(h.core.workerLoads().find((w) => w.worker === "737475636b")?.quarantined);
  h.ack("good", [okAck("a", 1), okAck("b", 2), okAck("x", 3)]);
  assert.equal(h.replies.length, 3);
  // After the quarantine it is tried again.
  h.advance(5000);
  h.hb("stuck");
  h.hb("good");
  h.core.tick();
  h.ack("good", []);
  h.send("c", "y");
  h.send("c", "z");
  assert.ok(h.dispatchedTo("stuck").some((id) => id === "y" || id === "z"));
});

Deno.test("issue 9 #9: a late ack from the first holder of a re-dispatched record still counts once", () => {
  const h = harness({ recordTimeoutMs: 1000 });
  h.ready("slow", 1);
  h.send("c", "a");
  h.ready("fast", 1);
  h.advance(1500);
  h.hb("slow");
  h.hb("fast");
  h.core.tick();
  assert.deepEqual(h.dispatchedTo("fast"), ["a"]);
  h.ack("slow", [okAck("a", 1)]); // it was durable after all
  h.ack("fast", [{ ...okAck("a", 1), duplicate: true }]);
  assert.equal(h.replies.length, 1);
  assert.equal(h.core.stats.forgedAcks, 0);
  assert.equal(h.core.inflight, 0);
});

Deno.test("issue 9 #4: a peer that sends mostly garbage is ignored for a while; honest peers are not", () => {
  const h = harness({ peerBudget: { maxBad: 20, penaltyMs: 5000 } });
  h.ready("w1", 100);
  for (let i = 0; i < 1000; i++) h.core.onClient([b("flooder"), EMPTY, new Uint8Array([0xc1])]);
  h.send("honest", "r1");
  assert.deepEqual(h.dispatchedTo("w1"), ["r1"]);
  assert.equal(h.core.stats.badMessages, 20, "garbage past the budget is not even parsed");
  assert.equal(h.core.stats.ignored, 980);
  assert.equal(h.core.stats.throttledPeers, 1);
  // issue 9 #18: one bad_message line, not 20.
  assert.equal(h.events.filter((e) => e.event === "bad_message").length, 1);
  assert.equal(h.events.filter((e) => e.event === "peer_throttled").length, 1);
  // The throttle ends.
  h.advance(5001);
  h.core.onClient([b("flooder"), EMPTY, encodeRequest({ id: "now-ok", record: 1 })]);
  assert.deepEqual(h.dispatchedTo("w1"), ["r1", "now-ok"]);
});

Deno.test("issue 9 #7, #16, #20: bad ids, __proto__, repeated keys and oversize requests are answered invalid by id", () => {
  const h = harness();
  h.ready("w1", 100);
  const cases = invalidRequests();
  for (const { name, body, reason } of cases) {
    h.core.onClient([b("c"), EMPTY, body]);
    const reply = h.replies.at(-1)?.reply;
    assert.equal(reply?.status, "invalid", name);
    assert.match((reply as { reason: string }).reason, reason, name);
  }
  assert.equal(h.replies.length, cases.length);
  assert.deepEqual(h.dispatchedTo("w1"), [], "nothing invalid reached a worker");
  // The two ids that differ only in invalid bytes were both refused: no collision.
  assert.equal(h.core.stats.invalid, cases.length);
});

Deno.test("a REC that cannot be queued (full send queue) goes back to the queue", () => {
  const clock = new ManualClock();
  let full = true;
  const sent: string[] = [];
  const core = new GatewayCore({
    maxInflight: 10,
    workerTimeoutMs: 3000,
    recordTimeoutMs: 10_000,
    quarantineMs: 1000,
    retryAfterMs: 20,
    recentIds: 10,
  }, {
    clock,
    log: createMemoryLogger(),
    reply: () => {},
    toWorker: (_frames, _worker, id) => {
      if (id !== undefined && full) throw new Error("EAGAIN");
      if (id !== undefined) sent.push(id);
    },
  });
  core.onWorker([b("w"), b(WORKER_HEADER), b("READY"), encode({ capacity: 1 })]);
  core.onClient([b("c"), EMPTY, encodeRequest({ id: "a", record: 1 })]);
  assert.equal(core.stats.sendFailures, 1);
  assert.equal(core.queued, 1);
  full = false;
  core.tick();
  assert.deepEqual(sent, ["a"]);
});
