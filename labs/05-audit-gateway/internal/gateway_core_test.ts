import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { GatewayCore, type GatewayIo } from "./gateway_core.ts";
import {
  decodeRequest,
  encodeRequest,
  type GatewayReply,
  WORKER_HEADER,
  type WorkerAck,
} from "./protocol.ts";

const te = new TextEncoder();
const b = (s: string) => te.encode(s);
const EMPTY = new Uint8Array(0);

function harness(overrides: Partial<ConstructorParameters<typeof GatewayCore>[0]> = {}) {
  let now = 0;
  const replies: { client: string; reply: GatewayReply }[] = [];
  const toWorkers: { worker: string; command: string; id?: string }[] = [];
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const io: GatewayIo = {
    reply: (envelope, reply) =>
      replies.push({ client: new TextDecoder().decode(envelope[0]), reply }),
    toWorker: (worker, command, body) =>
      toWorkers.push({
        worker: new TextDecoder().decode(worker),
        command,
        ...(body ? { id: decodeRequest(body).id } : {}),
      }),
    log: (_level, event, fields) => events.push({ event, fields }),
  };
  const core = new GatewayCore({
    maxInflight: 100,
    workerTimeoutMs: 3000,
    retryAfterMs: 20,
    recentIds: 1000,
    now: () => now,
    ...overrides,
  }, io);
  return {
    core,
    replies,
    toWorkers,
    events,
    advance: (ms: number) => (now += ms),
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

Deno.test("settled() resolves on the last ack, or when the last worker holding records is lost", async () => {
  const h = harness();
  await h.core.settled(); // nothing in flight: at once
  h.ready("w1", 2);
  h.ready("w2", 2);
  h.send("c", "a");
  h.send("c", "b");
  h.core.stopAccepting();
  let settled = false;
  const waiting = h.core.settled().then(() => settled = true);
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
  const drained = g.core.settled().then(() => done = true);
  g.advance(3001);
  g.hb("other"); // unknown worker: RESET, nothing changes
  await Promise.resolve();
  assert.equal(done, false);
  g.core.tick(); // w1 timed out
  await drained;
  assert.deepEqual([g.core.inflight, g.core.workers], [2, 0]);
});
