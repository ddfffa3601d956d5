import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import { parseSnapshot, ReplayRing } from "./replay_ring.ts";

const json = (seq: number) => `{"seq":${seq}}`;

Deno.test("the ring numbers entries and keeps the last `capacity`", () => {
  const ring = new ReplayRing({ capacity: 3, maxBytes: 1 << 20, epoch: "e" });
  for (const t of ["a", "b", "a", "c", "b"]) ring.push(t, json);
  assert.equal(ring.seq, 5);
  assert.equal(ring.oldest, 3);
  assert.equal(ring.size, 3);
  assert.deepEqual(ring.since(0).entries.map((e) => e.seq), [3, 4, 5]);
  assert.equal(ring.since(0).missed, 2);
  assert.equal(ring.since(2).missed, 0);
  assert.deepEqual(ring.since(3).entries.map((e) => e.seq), [4, 5]);
  assert.deepEqual(ring.since(5), { entries: [], missed: 0 });
  assert.deepEqual(ring.since(0, (e) => e.topic === "b").entries.map((e) => e.seq), [5]);
});

Deno.test("the ring is bounded by bytes too (but keeps the newest entry)", () => {
  const ring = new ReplayRing({ capacity: 100, maxBytes: 20, epoch: "e" });
  for (let i = 0; i < 10; i++) ring.push("t", json); // 9-10 bytes each
  assert.ok(ring.bytes <= 20);
  assert.equal(ring.size, 2);
  ring.push("t", () => "x".repeat(50));
  assert.equal(ring.size, 1);
  assert.equal(ring.oldest, 11);
});

Deno.test("a snapshot restores epoch, seq and entries; missed counts what fell out", () => {
  const ring = new ReplayRing({ capacity: 2, maxBytes: 1 << 20, epoch: "e1" });
  for (const t of ["a", "b", "c"]) ring.push(t, json);
  const text = JSON.stringify(ring.toJSON());
  const back = ReplayRing.fromSnapshot(parseSnapshot(text), { capacity: 10, maxBytes: 1 << 20 });
  assert.equal(back.epoch, "e1");
  assert.equal(back.seq, 3);
  assert.deepEqual(back.since(1).entries.map((e) => e.json), [json(2), json(3)]);
  back.push("d", json);
  assert.equal(back.seq, 4);
  const empty = ReplayRing.fromSnapshot(parseSnapshot('{"epoch":"e2","seq":7,"entries":[]}'), {
    capacity: 10,
    maxBytes: 100,
  });
  assert.equal(empty.seq, 7);
  assert.equal(empty.oldest, 8);
  assert.equal(empty.since(5).missed, 2);
});

Deno.test("a damaged state file is refused with a reason", () => {
  for (
    const text of [
      "not json",
      "{}",
      '{"epoch":"e","seq":3,"entries":[{"seq":1,"topic":"a","json":"{}"}]}',
      '{"epoch":"e","seq":1,"entries":[{"seq":1,"topic":"a","json":"{}","x":1}]}',
    ]
  ) {
    assert.throws(() => parseSnapshot(text), BadMessageError, text);
  }
});
