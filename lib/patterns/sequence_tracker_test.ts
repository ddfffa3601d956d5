import assert from "node:assert/strict";
import { judgeSequence, SequenceTracker } from "./sequence_tracker.ts";

Deno.test("first, next, gap, stale and restart verdicts", () => {
  assert.deepEqual(judgeSequence(undefined, "b1", 5), { kind: "first" });
  assert.deepEqual(judgeSequence({ epoch: "b1", lastSeq: 5 }, "b1", 6), { kind: "next" });
  assert.deepEqual(judgeSequence({ epoch: "b1", lastSeq: 5 }, "b1", 9), {
    kind: "gap",
    expected: 6,
    got: 9,
    missing: 3,
  });
  assert.deepEqual(judgeSequence({ epoch: "b1", lastSeq: 5 }, "b1", 5), {
    kind: "stale",
    lastSeq: 5,
    got: 5,
  });
  assert.deepEqual(judgeSequence({ epoch: "b1", lastSeq: 5 }, "b2", 0), {
    kind: "restart",
    previousEpoch: "b1",
    previousSeq: 5,
  });
  assert.equal(judgeSequence({ epoch: "b1", lastSeq: 900 }, "b2", 3).kind, "restart");
});

Deno.test("the tracker counts per peer and in total; stale does not move the position", () => {
  const t = new SequenceTracker<string>();
  t.observe("a", "e1", 0);
  t.observe("a", "e1", 1);
  assert.equal(t.observe("a", "e1", 5).kind, "gap");
  assert.equal(t.observe("a", "e1", 3).kind, "stale");
  assert.deepEqual(t.observe("a", "e1", 6), { kind: "next" });
  assert.equal(t.observe("a", "e2", 0).kind, "restart");
  assert.equal(t.observe("b", "x", 7).kind, "first");
  assert.deepEqual(t.peer("a"), {
    epoch: "e2",
    lastSeq: 0,
    gaps: 1,
    missing: 3,
    restarts: 1,
    stale: 1,
  });
  assert.deepEqual(t.totals(), { peers: 2, gaps: 1, missing: 3, restarts: 1, stale: 1 });
});

Deno.test("countGaps false: jumps are reported but not counted", () => {
  const t = new SequenceTracker<string>({ countGaps: false });
  t.observe("a", "e", 0);
  assert.equal(t.observe("a", "e", 9).kind, "gap");
  assert.equal(t.peer("a")?.lastSeq, 9);
  assert.deepEqual(t.totals(), { peers: 1, gaps: 0, missing: 0, restarts: 0, stale: 0 });
});

Deno.test("forget: the next message is first again", () => {
  const t = new SequenceTracker<number>();
  t.observe(1, "e", 4);
  assert.equal(t.forget(1), true);
  assert.equal(t.size, 0);
  assert.deepEqual(t.observe(1, "e", 2), { kind: "first" });
});
