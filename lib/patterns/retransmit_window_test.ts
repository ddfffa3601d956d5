import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { RetransmitWindow } from "./retransmit_window.ts";

Deno.test("RetransmitWindow is bounded and frees a slot on ack", async () => {
  const clock = new ManualClock();
  const w = new RetransmitWindow<string>({ capacity: 2, ackTimeoutMs: 100, clock });
  w.add(0, "a", 10);
  w.add(1, "b", 5);
  assert.equal(w.full, true);
  assert.equal(w.weight, 15);
  assert.throws(() => w.add(2, "c", 1), /expected fewer than 2 messages in flight/);
  assert.throws(() => new RetransmitWindow({ capacity: 0, ackTimeoutMs: 1, clock }), /> 0, got 0/);
  let freed = false;
  const waiting = w.waitForSpace().then(() => freed = true);
  await Promise.resolve();
  assert.equal(freed, false);
  assert.equal(w.ack(0)?.payload, "a");
  await waiting;
  assert.equal(freed, true);
  assert.equal(w.ack(0), undefined, "a repeated ack is unknown");
  assert.equal(w.oldest, 1);
  assert.equal(w.settled(), false);
});

Deno.test("RetransmitWindow: overdue messages are due again with doubling, capped timeouts", () => {
  const clock = new ManualClock();
  const w = new RetransmitWindow<string>({
    capacity: 4,
    ackTimeoutMs: 100,
    maxTimeoutMs: 300,
    clock,
  });
  w.add(0, "a");
  clock.set(50);
  w.add(1, "b");
  clock.set(99);
  assert.deepEqual(w.due(), []);
  clock.set(100);
  assert.deepEqual(w.due().map((e) => e.seq), [0]);
  clock.set(150);
  assert.deepEqual(w.due().map((e) => [e.seq, e.attempts]), [[1, 2]]);
  clock.set(299); // seq 0's next deadline = 100 + 200
  assert.deepEqual(w.due(), []);
  clock.set(300);
  assert.deepEqual(w.due().map((e) => [e.seq, e.attempts]), [[0, 3]]);
  clock.set(600); // capped at 300
  assert.deepEqual(w.due().map((e) => e.seq), [0, 1]);
  assert.equal(w.stats().retransmits, 5);
});

Deno.test("RetransmitWindow: waitForEmpty resolves on the last ack or on abort", async () => {
  const w = new RetransmitWindow<string>({
    capacity: 2,
    ackTimeoutMs: 100,
    clock: new ManualClock(),
  });
  await w.waitForEmpty();
  w.add(0, "a");
  const done = w.waitForEmpty();
  w.ack(0);
  await done;
  w.add(1, "b");
  const ac = new AbortController();
  const aborted = w.waitForEmpty(ac.signal);
  ac.abort();
  await aborted;
  assert.equal(w.size, 1);
});
