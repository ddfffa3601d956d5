import assert from "node:assert/strict";
import { judgeBatch } from "./ingest.ts";
import type { Batch } from "./protocol.ts";

const r = (seq: number) => ({ seq, t: seq, v: seq });
const batch = (floor: number, seqs: number[], epoch = "e1"): Batch => ({
  device: "d",
  epoch,
  floor,
  readings: seqs.map(r),
});

Deno.test("judgeBatch: first contact starts at the device's floor; missing counts what it dropped", () => {
  assert.deepEqual(judgeBatch(undefined, batch(0, [0, 1, 2])), {
    store: [r(0), r(1), r(2)],
    duplicates: 0,
    missing: 0,
    restart: true,
    upto: 2,
    status: "ok",
  });
  const v = judgeBatch(undefined, batch(70, [70, 71]));
  assert.equal(v.missing, 70);
  assert.equal(v.upto, 71);
});

Deno.test("judgeBatch: duplicates are skipped and still acked (a replay after a lost ack)", () => {
  const v = judgeBatch({ epoch: "e1", lastSeq: 5 }, batch(3, [3, 4, 5, 6]));
  assert.deepEqual(v.store, [r(6)]);
  assert.equal(v.duplicates, 3);
  assert.equal(v.upto, 6);
  const all = judgeBatch({ epoch: "e1", lastSeq: 9 }, batch(3, [3, 4]));
  assert.deepEqual(all.store, []);
  assert.equal(all.upto, 9);
  assert.equal(all.status, "ok");
});

Deno.test("judgeBatch: a jump to the device's floor is a known gap; any other jump is a rewind", () => {
  const gap = judgeBatch({ epoch: "e1", lastSeq: 4 }, batch(10, [10, 11]));
  assert.deepEqual(gap.store, [r(10), r(11)]);
  assert.equal(gap.missing, 5);
  assert.equal(gap.status, "ok");
  // seq 5..9 are still held by the device (floor 5): storing 10 now would break the order.
  const early = judgeBatch({ epoch: "e1", lastSeq: 4 }, batch(5, [10, 11]));
  assert.deepEqual(early.store, []);
  assert.equal(early.status, "rewind");
  assert.equal(early.upto, 4);
  // A batch that runs into a hole keeps what came before it.
  const partial = judgeBatch({ epoch: "e1", lastSeq: 4 }, batch(5, [5, 6, 9]));
  assert.deepEqual(partial.store, [r(5), r(6)]);
  assert.equal(partial.status, "rewind");
  assert.equal(partial.upto, 6);
});

Deno.test("judgeBatch: a new epoch is a restart (the device's store was replaced)", () => {
  const v = judgeBatch({ epoch: "old", lastSeq: 500 }, batch(0, [0, 1], "new"));
  assert.equal(v.restart, true);
  assert.deepEqual(v.store, [r(0), r(1)]);
  assert.equal(v.missing, 0);
});
