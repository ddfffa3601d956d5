import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  encodeClientRequest,
  encodeWorker,
  type Frames,
  validateTable,
} from "@lib/patterns/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { type BrokerOptions, MajordomoBroker } from "./broker.ts";
import { BROKER_WORKER_TABLE } from "./state_tables.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const id = (name: string) => enc.encode(name);
const text = (frames: Frames) => frames.map((f) => dec.decode(f));

function setup(options: Partial<BrokerOptions> = {}) {
  const clock = new ManualClock();
  const sent: string[][] = [];
  const log = createMemoryLogger();
  const broker = new MajordomoBroker({ clock, log, send: (f) => void sent.push(text(f)) }, {
    heartbeatIntervalMs: 1000,
    liveness: 3,
    queueSize: 2,
    requestTimeoutMs: 5000,
    maxServices: 10,
    maxWorkers: 10,
    ...options,
  });
  const worker = (name: string, message: Parameters<typeof encodeWorker>[0]) =>
    broker.onMessage([id(name), ...encodeWorker(message)]);
  const client = (name: string, service: string, ...body: string[]) =>
    broker.onMessage([id(name), ...encodeClientRequest(service, body)]);
  const take = () => sent.splice(0);
  return { clock, broker, log, worker, client, take };
}

const W = (cmd: number) => String.fromCharCode(cmd);

Deno.test("broker: a request goes to the service's worker; the REPLY goes back to the client", () => {
  const t = setup();
  t.worker("w1", { command: "READY", service: "echo" });
  t.client("c1", "echo", "hi");
  assert.deepEqual(t.take(), [["w1", "", "MDPW01", W(2), "c1", "", "hi"]]);
  t.worker("w1", { command: "REPLY", client: id("c1"), body: [enc.encode("hi")] });
  assert.deepEqual(t.take(), [["c1", "", "MDPC01", "echo", "hi"]]);
  assert.equal(t.broker.stats().replies, 1);
});

Deno.test("broker: LRU dispatch across a service's workers; other services untouched", () => {
  const t = setup({ queueSize: 10 });
  t.worker("w1", { command: "READY", service: "echo" });
  t.worker("w2", { command: "READY", service: "echo" });
  t.worker("x1", { command: "READY", service: "other" });
  t.client("c1", "echo", "1");
  t.client("c2", "echo", "2");
  t.client("c3", "echo", "3"); // both busy: waits
  assert.deepEqual(t.take().map((m) => m[0]), ["w1", "w2"]);
  t.worker("w2", { command: "REPLY", client: id("c2"), body: [enc.encode("2")] });
  assert.deepEqual(t.take().map((m) => m[0]), ["c2", "w2"]); // the waiting one goes to w2
  assert.deepEqual(t.broker.table().map((r) => [r.service, r.workers, r.busy, r.queued]), [
    ["echo", 2, 2, 0],
    ["other", 1, 0, 0],
  ]);
});

Deno.test("broker: past --queue-size a 503 error reply; no worker before the deadline: 504", () => {
  const t = setup();
  t.client("c1", "none", "1");
  t.client("c2", "none", "2");
  t.client("c3", "none", "3");
  assert.deepEqual(t.take(), [[
    "c3",
    "",
    "MDPC01",
    "none",
    "mdp.error",
    "503",
    "service queue full (2 waiting)",
  ]]);
  t.clock.set(4999);
  t.broker.tick(4999);
  assert.deepEqual(t.take().filter((m) => m[0] !== "w"), []);
  t.clock.set(5000);
  t.broker.tick(5000);
  const expired = t.take();
  assert.deepEqual(expired.map((m) => [m[0], m[5]]), [["c1", "504"], ["c2", "504"]]);
  assert.equal(t.broker.stats().services, 0, "an idle service with no workers is forgotten");
});

Deno.test("broker: a request waits for a worker that comes later", () => {
  const t = setup();
  t.client("c1", "late", "1");
  assert.deepEqual(t.take(), []);
  t.worker("w1", { command: "READY", service: "late" });
  assert.deepEqual(t.take()[0].slice(0, 5), ["w1", "", "MDPW01", W(2), "c1"]);
});

Deno.test("broker: 8/MMI answers 200, 404 and 501", () => {
  const t = setup();
  t.worker("w1", { command: "READY", service: "echo" });
  t.client("c", "mmi.service", "echo");
  t.client("c", "mmi.service", "none");
  t.client("c", "mmi.other", "x");
  assert.deepEqual(t.take(), [
    ["c", "", "MDPC01", "mmi.service", "200"],
    ["c", "", "MDPC01", "mmi.service", "404"],
    ["c", "", "MDPC01", "mmi.other", "501"],
  ]);
});

Deno.test("broker: heartbeats both ways; a silent worker expires", () => {
  const t = setup();
  t.worker("w1", { command: "READY", service: "echo" });
  t.worker("w2", { command: "READY", service: "echo" });
  for (let now = 250; now <= 3000; now += 250) {
    t.clock.set(now);
    if (now % 1000 === 0) t.worker("w2", { command: "HEARTBEAT" });
    t.broker.tick(now);
  }
  const sent = t.take();
  assert.ok(sent.some((m) => m[0] === "w1" && m[3] === W(4)), "HEARTBEAT to w1");
  assert.deepEqual(t.broker.table()[0].workers, 1);
  assert.equal(t.log.events("worker_expired")[0]?.fields?.worker, "7731");
});

Deno.test("broker: protocol errors get DISCONNECT (7/MDP), malformed frames are BadMessageError", () => {
  const t = setup();
  t.worker("w1", { command: "HEARTBEAT" }); // unknown worker
  t.worker("w1", { command: "REPLY", client: id("c"), body: [enc.encode("x")] });
  t.worker("w1", { command: "READY", service: "mmi.x" });
  t.worker("w2", { command: "READY", service: "echo" });
  t.worker("w2", { command: "READY", service: "echo" }); // second READY
  t.worker("w3", { command: "READY", service: "echo" });
  t.worker("w3", { command: "REPLY", client: id("c"), body: [enc.encode("x")] }); // holds nothing
  const disconnects = t.take().filter((m) => m[3] === W(5)).map((m) => m[0]);
  assert.deepEqual(disconnects, ["w1", "w1", "w1", "w2", "w3"]);
  assert.equal(t.broker.stats().workers, 0);
  assert.throws(() => t.broker.onMessage([id("x"), enc.encode("y")]), BadMessageError);
  assert.throws(
    () => t.broker.onMessage([id("w4"), new Uint8Array(0), enc.encode("MDPW01"), Uint8Array.of(9)]),
    BadMessageError,
  );
  assert.deepEqual(t.take(), [["w4", "", "MDPW01", W(5)]]);
  assert.throws(() => t.client("c", "echo"), /1\+ body frames/);
  t.worker("w5", { command: "READY", service: "echo" });
  t.worker("w5", { command: "DISCONNECT" });
  assert.equal(t.broker.stats().workersLeft, 1);
  assert.deepEqual(t.take(), []); // no DISCONNECT back to one that left
});

Deno.test("broker: tables are bounded (services, workers)", () => {
  const t = setup({ maxServices: 1, maxWorkers: 1 });
  t.worker("w1", { command: "READY", service: "a" });
  t.worker("w2", { command: "READY", service: "a" });
  t.client("c", "b", "x");
  const sent = t.take();
  assert.deepEqual(sent[0], ["w2", "", "MDPW01", W(5)]);
  assert.deepEqual(sent[1].slice(4, 6), ["mdp.error", "503"]);
});

Deno.test("broker: stopping refuses new requests, settles when workers reply, abandon disconnects all", async () => {
  const t = setup();
  t.worker("w1", { command: "READY", service: "echo" });
  t.client("c1", "echo", "1");
  t.client("c2", "echo", "2");
  t.take();
  t.broker.stopAccepting();
  t.client("c3", "echo", "3");
  assert.deepEqual(t.take()[0].slice(4), ["mdp.error", "503", "broker stopping"]);
  assert.equal(t.broker.settled(), false);
  let settled = false;
  const waiting = t.broker.whenSettled().then(() => settled = true);
  t.worker("w1", { command: "REPLY", client: id("c1"), body: [enc.encode("1")] });
  t.take();
  assert.equal(t.broker.abandon(), 0); // c2 went to w1 after its reply
  assert.deepEqual(t.take().map((m) => [m[0], m[3]]), [["w1", W(5)]]);
  await waiting; // w1 held c2's request; abandoning it settles the broker
  assert.ok(settled && t.broker.settled());
});

Deno.test("BROKER_WORKER_TABLE: the broker does what every cell says", () => {
  validateTable(BROKER_WORKER_TABLE); // throws on a bad table
  const E = new Uint8Array(0);
  for (const state of BROKER_WORKER_TABLE.states) {
    for (const event of BROKER_WORKER_TABLE.events) {
      const cell = BROKER_WORKER_TABLE.cells[state]?.[event];
      if (!cell) continue;
      const outcomes = Array.isArray(cell) ? cell : [cell];
      for (const outcome of outcomes) {
        const t = setup({ queueSize: 10 });
        if (state !== "unknown") t.worker("w", { command: "READY", service: "s" });
        if (state === "busy") t.client("c", "s", "x");
        t.take();
        const reply = { command: "REPLY" as const, client: id("c"), body: [enc.encode("x")] };
        switch (event) {
          case "READY":
            t.worker("w", { command: "READY", service: outcome.when ? "s" : "mmi.s" });
            break;
          case "dispatch":
            t.client("c", "s", "x");
            break;
          case "REPLY":
            t.worker("w", reply);
            break;
          case "HEARTBEAT":
            t.worker("w", { command: "HEARTBEAT" });
            break;
          case "DISCONNECT":
            t.worker("w", { command: "DISCONNECT" });
            break;
          case "silence":
            for (let now = 250; now <= 3000; now += 250) {
              t.clock.set(now);
              t.broker.tick(now);
            }
            break;
          case "malformed":
            assert.throws(() =>
              t.broker.onMessage([id("w"), E, enc.encode("MDPW01"), Uint8Array.of(0x42)])
            );
            break;
        }
        const sent = t.take().filter((m) => m[3] !== W(4)); // heartbeats aside
        const row = t.broker.table().find((r) => r.service === "s");
        const now = !row || row.workers === 0 ? "unknown" : row.busy > 0 ? "busy" : "ready";
        const where = `${state} × ${event}${outcome.when ? ` (${outcome.when})` : ""}`;
        assert.equal(now, outcome.next, where);
        const did = sent.length === 0
          ? undefined
          : sent[0][3] === W(5)
          ? "send_disconnect"
          : sent[0][3] === W(2)
          ? "send_request"
          : sent[0][2] === "MDPC01"
          ? "forward_reply"
          : "other";
        const expected =
          outcome.action === "send_disconnect" || outcome.action === "send_request" ||
            outcome.action === "forward_reply"
            ? outcome.action
            : undefined;
        assert.equal(did, expected, where);
      }
    }
  }
});
