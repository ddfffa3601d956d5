import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { Outbox } from "./outbox.ts";
import { type Batch, parseMessage } from "./protocol.ts";
import { Uplink, type UplinkOptions } from "./uplink.ts";

function setup(overrides: Partial<UplinkOptions> = {}) {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const queue = new Outbox(":memory:", { capacity: 1000, overflow: "drop-oldest" });
  const sent: Batch[] = [];
  const uplink = new Uplink({
    clock,
    log,
    device: "d1",
    epoch: queue.epoch,
    receivers: ["A", "B", "C"],
    queue,
    send: (frames) => {
      const m = parseMessage(frames);
      if (m.kind === "batch") sent.push(m.batch);
    },
    window: 2,
    batchSize: 10,
    ackTimeoutMs: 1000,
    heartbeatIntervalMs: 100,
    breakerFailures: 2,
    breakerCooldownMs: 5000,
    failbackAfterMs: 0,
    ...overrides,
  });
  const ack = (upto: number, status: "ok" | "rewind" = "ok") =>
    uplink.onAck({ device: "d1", epoch: queue.epoch, upto, status });
  return { clock, log, queue, sent, uplink, ack };
}

const values = (n: number) => Array.from({ length: n }, (_, i) => ({ t: i, v: i }));

Deno.test("Uplink: nothing is sent before the receiver answers; then a window of batches; acks free it", () => {
  const { queue, sent, uplink, ack } = setup();
  queue.append(values(45));
  uplink.sessionStarted(uplink.choose()!);
  uplink.pump();
  assert.equal(sent.length, 0);
  uplink.heard();
  assert.deepEqual(sent.map((b) => b.readings.map((r) => r.seq).join(",")), [
    "0,1,2,3,4,5,6,7,8,9",
    "10,11,12,13,14,15,16,17,18,19",
  ]);
  ack(9);
  assert.equal(sent.length, 3);
  assert.equal(sent[2].floor, 10);
  ack(29);
  ack(44);
  assert.equal(queue.size, 0);
  assert.equal(uplink.stats().acked, 45);
  assert.ok(uplink.settled());
});

Deno.test("Uplink: an ack timeout goes back to the oldest unacked; a rewind ack too", () => {
  const { clock, queue, sent, uplink, ack } = setup();
  queue.append(values(30));
  uplink.sessionStarted(uplink.choose()!);
  uplink.heard();
  assert.equal(sent.length, 2);
  clock.set(1000);
  uplink.tick();
  assert.deepEqual(sent.slice(2).map((b) => b.readings[0].seq), [0, 10]);
  assert.equal(uplink.stats().timeouts, 1);
  ack(4, "rewind");
  assert.deepEqual(sent.slice(4).map((b) => b.readings[0].seq), [5, 15]);
  assert.equal(uplink.stats().rewinds, 1);
});

Deno.test("Uplink: failover goes down the list; a breaker opened by lost sessions skips its receiver", () => {
  const { uplink, log } = setup();
  assert.equal(uplink.choose(), "A");
  uplink.sessionStarted("A");
  uplink.heard();
  uplink.sessionLost(); // A: 1 failure
  assert.equal(uplink.choose(), "B");
  uplink.sessionStarted("B");
  uplink.sessionLost(); // B: 1 failure
  assert.equal(uplink.choose(), "C");
  uplink.sessionStarted("C");
  uplink.heard();
  const failover = log.events("failover")[0];
  assert.equal(failover?.fields.from, "B");
  assert.equal(failover?.fields.to, "C");
  uplink.sessionLost(); // C: 1 failure
  assert.equal(uplink.choose(), "A");
  uplink.sessionStarted("A");
  uplink.sessionLost(); // A: 2 failures -> open
  assert.deepEqual(uplink.breakers().map((b) => b.state), ["open", "closed", "closed"]);
  assert.equal(uplink.choose(), "B");
  uplink.sessionStarted("B");
  uplink.sessionLost(); // B open
  uplink.choose(); // C
  uplink.sessionStarted("C");
  uplink.sessionLost(); // C open
  assert.equal(uplink.choose(), undefined); // every breaker open: wait
  assert.ok(log.events("breaker").some((e) => e.fields.to === "open"));
});

Deno.test("Uplink: fail-back to the preferred receiver after --failback-after, unless its breaker is open", () => {
  const { clock, uplink, log } = setup({ failbackAfterMs: 1000 });
  uplink.sessionStarted("A");
  uplink.sessionLost();
  uplink.sessionStarted(uplink.choose()!); // B
  uplink.heard();
  clock.set(999);
  assert.equal(uplink.failbackTarget(), undefined);
  clock.set(1000);
  assert.equal(uplink.failbackTarget(), "A");
  uplink.sessionStarted("A");
  uplink.sessionLost(); // A: 2 failures -> open for 5 s
  uplink.sessionStarted(uplink.choose()!); // B
  uplink.heard();
  clock.set(2500);
  assert.equal(uplink.failbackTarget(), undefined); // open: not hammered
  clock.set(6500);
  assert.equal(uplink.failbackTarget(), "A"); // half-open trial
  assert.equal(log.events("failback").length, 2);
});
