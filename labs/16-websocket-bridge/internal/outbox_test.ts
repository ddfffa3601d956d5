import assert from "node:assert/strict";
import { tableMarkdown, validateTable } from "@lib/patterns/fsm.ts";
import { Outbox, OUTBOX_TABLE } from "./outbox.ts";

const opts = { highWater: 1000, hardWater: 4000, lowWater: 100, maxTopics: 3, slowTimeoutMs: 5000 };
const entry = (seq: number, topic: string) => ({
  seq,
  topic,
  json: `{"type":"data","seq":${seq}}`,
});

Deno.test("the outbox table is complete and prints", () => {
  validateTable(OUTBOX_TABLE);
  assert.match(tableMarkdown(OUTBOX_TABLE), /conflating/);
});

Deno.test("under the high-water mark every update is sent at once", () => {
  const box = new Outbox(opts, 0);
  for (let i = 1; i <= 5; i++) assert.equal(box.offer(entry(i, "a"), 999, i), "send");
  assert.deepEqual(box.tick(999, 10), { send: [], close: false });
  assert.equal(box.stats().sent, 5);
});

Deno.test("a burst within one turn is not slowness; only hard water conflates at a send", () => {
  const box = new Outbox(opts, 0);
  assert.equal(box.offer(entry(1, "a"), 3999, 1), "send");
  assert.deepEqual(box.tick(50, 2), { send: [], close: false }, "drained by the next tick");
  assert.equal(box.state, "live");
  assert.equal(box.offer(entry(2, "a"), 4001, 3), "queued");
  assert.equal(box.state, "conflating");
});

Deno.test("past high water at a tick: latest value per topic, sent once drained, then live", () => {
  const box = new Outbox(opts, 0);
  assert.deepEqual(box.tick(1001, 1), { send: [], close: false, conflating: true });
  assert.equal(box.state, "conflating");
  assert.equal(box.offer(entry(1, "a"), 0, 1), "queued");
  assert.equal(box.offer(entry(2, "b"), 0, 2), "queued", "stays conflating until a tick");
  assert.equal(box.offer(entry(3, "a"), 5000, 3), "queued");
  assert.equal(box.offer(entry(4, "a"), 5000, 4), "queued");
  assert.deepEqual(box.tick(500, 5), { send: [], close: false }, "not drained under low water");
  const { send } = box.tick(100, 6);
  assert.deepEqual(send.map((t) => JSON.parse(t)), [
    { conflated: true, skipped: 0, type: "data", seq: 2 },
    { conflated: true, skipped: 2, type: "data", seq: 4 },
  ]);
  assert.equal(box.state, "live");
  assert.equal(box.offer(entry(5, "a"), 0, 7), "send");
  assert.deepEqual(box.stats(), {
    state: "live",
    sent: 1,
    conflated: 2,
    skipped: 2,
    pending: 0,
    episodes: 1,
  });
});

Deno.test("a flush sends at most up to high water; the rest waits for the next tick", () => {
  const box = new Outbox({ ...opts, highWater: 60, hardWater: 60, lowWater: 10, maxTopics: 10 }, 0);
  box.offer(entry(1, "a"), 100, 0);
  box.offer(entry(2, "b"), 100, 0);
  box.offer(entry(3, "c"), 100, 0);
  const first = box.tick(0, 1).send;
  assert.equal(first.length, 2); // ~47 bytes each: the second one crosses the budget
  assert.equal(box.state, "conflating");
  assert.equal(box.tick(0, 2).send.length, 1);
  assert.equal(box.state, "live");
});

Deno.test("a client that makes no progress for slowTimeoutMs is closed", () => {
  const box = new Outbox(opts, 0);
  box.tick(2000, 1000);
  box.offer(entry(1, "a"), 2000, 1000);
  assert.equal(box.tick(2000, 5000).close, false);
  assert.equal(box.tick(2000, 6001).close, true);
  assert.equal(box.state, "closed");
  assert.equal(box.offer(entry(2, "a"), 0, 6002), "dropped");
  assert.equal(box.stats().pending, 0, "nothing held once closed");
});

Deno.test("progress (a drain) restarts the slow timer", () => {
  const box = new Outbox({ ...opts, highWater: 40, hardWater: 40, lowWater: 10, maxTopics: 10 }, 0);
  box.offer(entry(1, "a"), 100, 0);
  box.offer(entry(2, "b"), 100, 0);
  box.tick(0, 4000); // sends one (budget), stays conflating, progress at 4000
  assert.equal(box.state, "conflating");
  assert.equal(box.tick(2000, 8000).close, false);
  assert.equal(box.tick(2000, 9001).close, true);
});

Deno.test("more distinct topics than maxTopics while conflating closes the client", () => {
  const box = new Outbox(opts, 0);
  box.offer(entry(1, "a"), 5000, 0);
  box.offer(entry(2, "b"), 2000, 0);
  box.offer(entry(3, "c"), 2000, 0);
  assert.equal(box.offer(entry(4, "a"), 2000, 0), "queued", "a held topic is fine");
  assert.equal(box.offer(entry(5, "d"), 2000, 0), "close");
  assert.equal(box.state, "closed");
});
