import assert from "node:assert/strict";
import { AckWindow } from "./ack_window.ts";

Deno.test("window is bounded and frees a slot on ack", async () => {
  const t = 0;
  const w = new AckWindow<string>({ capacity: 2, ackTimeout: 100, now: () => t });
  w.add(0, "a", 10);
  w.add(1, "b", 5);
  assert.equal(w.full, true);
  assert.equal(w.lines, 15);
  assert.throws(() => w.add(2, "c", 1), /expected fewer than 2 batches in flight/);
  let freed = false;
  const waiting = w.waitForSpace().then(() => freed = true);
  await Promise.resolve();
  assert.equal(freed, false);
  assert.equal(w.ack(0)?.payload, "a");
  await waiting;
  assert.equal(freed, true);
  assert.equal(w.ack(0), undefined, "a repeated ack is unknown");
  assert.equal(w.oldest, 1);
});

Deno.test("overdue batches are due again with doubling, capped timeouts", () => {
  let t = 0;
  const w = new AckWindow<string>({ capacity: 4, ackTimeout: 100, maxTimeout: 300, now: () => t });
  w.add(0, "a", 1);
  t = 50;
  w.add(1, "b", 1);
  t = 99;
  assert.deepEqual(w.due(), []);
  t = 100;
  assert.deepEqual(w.due().map((e) => e.seq), [0]);
  t = 150;
  assert.deepEqual(w.due().map((e) => [e.seq, e.attempts]), [[1, 2]]);
  t = 299; // seq 0 next deadline = 100 + 200
  assert.deepEqual(w.due(), []);
  t = 300;
  assert.deepEqual(w.due().map((e) => [e.seq, e.attempts]), [[0, 3]]);
  t = 600; // capped at 300
  assert.deepEqual(w.due().map((e) => e.seq), [0, 1]);
});

Deno.test("waitForEmpty resolves on the last ack or on abort", async () => {
  const w = new AckWindow<string>({ capacity: 2, ackTimeout: 100 });
  await w.waitForEmpty();
  w.add(0, "a", 1);
  const done = w.waitForEmpty();
  w.ack(0);
  await done;
  w.add(1, "b", 1);
  const ac = new AbortController();
  const aborted = w.waitForEmpty(ac.signal);
  ac.abort();
  await aborted;
  assert.equal(w.size, 1);
});
