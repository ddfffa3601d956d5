import assert from "node:assert/strict";
import { Outbox } from "./outbox.ts";

const values = (n: number) => Array.from({ length: n }, (_, i) => ({ t: i, v: i }));

Deno.test("Outbox: drop-oldest keeps the newest, counts drops, persists across a reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lab08-outbox-" });
  try {
    const path = `${dir}/d.db`;
    const box = new Outbox(path, { capacity: 5, overflow: "drop-oldest" });
    assert.equal(box.floor, 0);
    assert.equal(box.append(values(3)).dropped, 0);
    const r = box.append(values(4));
    assert.equal(r.dropped, 2);
    assert.deepEqual(box.read(0, 10).map((x) => x.seq), [2, 3, 4, 5, 6]);
    assert.equal(box.floor, 2);
    assert.equal(box.ackUpTo(3), 2);
    assert.equal(box.floor, 4);
    assert.equal(box.ackUpTo(3), 0); // a repeated ack
    // More at once than fits at all: the oldest of them go straight away.
    const big = box.append(values(8));
    assert.equal(big.dropped, 3 + 3);
    assert.deepEqual(box.read(0, 10).map((x) => x.seq), [10, 11, 12, 13, 14]);
    const epoch = box.epoch;
    box.close();
    const again = new Outbox(path, { capacity: 5, overflow: "drop-oldest" });
    assert.equal(again.epoch, epoch);
    assert.equal(again.nextSeq, 15);
    assert.equal(again.size, 5);
    assert.equal(again.dropped, 8);
    again.ackUpTo(14);
    assert.equal(again.size, 0);
    assert.equal(again.oldest, null);
    assert.equal(again.floor, 15);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Outbox: block refuses what does not fit and drops nothing", () => {
  const box = new Outbox(":memory:", { capacity: 3, overflow: "block" });
  const r = box.append(values(5));
  assert.equal(r.appended.length, 3);
  assert.equal(r.refused, 2);
  assert.equal(r.dropped, 0);
  assert.equal(box.free, 0);
  assert.equal(box.append(values(1)).refused, 1);
  assert.throws(
    () => new Outbox(":memory:", { capacity: 0, overflow: "block" }),
    /expected an integer >= 1, got 0/,
  );
  box.close();
});
