import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { Collector, utf8Length } from "./collector.ts";
import type { Batch } from "./protocol.ts";

function setup(window = 2, batchSize = 3, maxBatchBytes?: number) {
  const clock = new ManualClock();
  const sent: Batch[] = [];
  const c = new Collector({
    run: "0123456789abcdef",
    batchSize,
    maxBatchBytes,
    window,
    ackTimeout: 100,
    clock,
    send: (b) => {
      sent.push(b);
      return Promise.resolve();
    },
  });
  return { c, sent, tick: (ms: number) => clock.set(clock.now() + ms) };
}

Deno.test("lines are cut into numbered batches; reading blocks while the window is full", async () => {
  const { c, sent } = setup(2, 3);
  for (let i = 0; i < 6; i++) await c.push({ line: `l${i}` });
  assert.deepEqual(sent.map((b) => [b.seq, b.lines]), [[0, ["l0", "l1", "l2"]], [1, [
    "l3",
    "l4",
    "l5",
  ]]]);
  await c.push({ line: "l6" });
  await c.push({ line: "l7" });
  let pushed = false;
  const third = c.push({ line: "l8" }).then(() => (pushed = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(pushed, false, "push must wait while 2 batches are unacknowledged");
  assert.deepEqual(c.stats().in_flight_lines, 6);
  assert.equal(c.onAck({ run: "0123456789abcdef", seq: 0 }), true);
  await third;
  assert.equal(sent.at(-1)?.seq, 2);
  assert.equal(c.onAck({ run: "0123456789abcdef", seq: 0 }), false, "repeated ack");
  assert.equal(c.onAck({ run: "fedcba9876543210", seq: 1 }), false, "other run");
  assert.equal(c.stats().duplicate_acks, 2);
});

Deno.test("unacknowledged batches are re-sent after the timeout, acknowledged ones never", async () => {
  const { c, sent, tick } = setup(4, 1);
  await c.push({ line: "a" });
  await c.push({ line: "b" });
  c.onAck({ run: c.run, seq: 1 });
  tick(100);
  assert.equal(await c.resendDue(), 1);
  assert.deepEqual(sent.map((b) => b.seq), [0, 1, 0]);
  assert.equal(c.stats().resent, 1);
});

Deno.test("oversize lines are flagged with their index; drain sends the partial batch and waits", async () => {
  const { c, sent } = setup(2, 10);
  await c.push({ line: "ok" });
  await c.push({ line: "cut", oversize: 99999 });
  assert.equal(c.buffered, 2);
  const ac = new AbortController();
  const drained = c.drain(ac.signal);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(sent[0].oversize, [[1, 99999]]);
  c.onAck({ run: c.run, seq: 0 });
  assert.equal(await drained, true);
  assert.equal(c.idle, true);
});

Deno.test("a drain that cannot finish returns false when aborted, keeping the counts", async () => {
  const { c } = setup(1, 1);
  await c.push({ line: "a" });
  await c.push({ line: "b" }, AbortSignal.timeout(5)); // window of 1 is full: "b" stays buffered
  assert.equal(c.buffered, 1);
  assert.equal(await c.drain(AbortSignal.timeout(10)), false);
  assert.deepEqual([c.stats().in_flight, c.stats().buffered], [1, 1]);
});

Deno.test("a partial batch is sent once its oldest line is stale", async () => {
  const { c, sent, tick } = setup(4, 100);
  await c.push({ line: "a" });
  tick(500);
  await c.push({ line: "b" });
  await c.flushStale(1000);
  assert.equal(sent.length, 0, "oldest line waited 500 ms only");
  tick(500);
  await c.flushStale(1000);
  assert.deepEqual(sent.map((b) => b.lines), [["a", "b"]]);
  await c.flushStale(1000);
  assert.equal(sent.length, 1, "nothing buffered: nothing sent");
});

Deno.test("batches are cut by bytes as well as lines; a line alone over the cap is flagged", async () => {
  const { c, sent } = setup(16, 5000, 1000);
  for (let i = 0; i < 10; i++) await c.push({ line: "x".repeat(300) });
  // 3 lines of 300 bytes fit in 1000; the 4th starts a new batch.
  assert.deepEqual(sent.map((b) => b.lines.length), [3, 3, 3]);
  await c.push({ line: "é".repeat(600) }); // 1200 bytes alone: over the cap
  await c.flush();
  const last = sent.at(-1)!;
  assert.equal(last.lines.length, 2);
  assert.deepEqual(last.oversize, [[1, 1200]]);
  assert.ok(utf8Length(last.lines.join("")) <= 1000, "the flagged line was cut to fit");
  for (const b of sent) assert.ok(utf8Length(b.lines.join("")) <= 1000, `batch ${b.seq}`);
  assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
});

Deno.test("lines that were not UTF-8 are flagged by index in the batch", async () => {
  const { c, sent } = setup(4, 3);
  await c.push({ line: "ok" });
  await c.push({ line: "caf\uFFFD", invalidUtf8: true });
  await c.push({ line: "ok" });
  assert.deepEqual(sent[0].invalid_utf8, [1]);
});
