import assert from "node:assert/strict";
import { RecentIds, RecentMap } from "./recent_ids.ts";

Deno.test("RecentIds: has/add, oldest forgotten first, re-adding does not refresh", () => {
  const ids = new RecentIds<string>({ maxSize: 3 });
  assert.equal(ids.add("a"), true);
  assert.equal(ids.add("b"), true);
  assert.equal(ids.add("a"), false, "a repeat is not new");
  assert.equal(ids.add("c"), true);
  assert.equal(ids.size, 3);
  assert.equal(ids.add("d"), true); // forgets "a" although it was repeated
  assert.deepEqual(["a", "b", "c", "d"].map((k) => ids.has(k)), [false, true, true, true]);
  assert.deepEqual(ids.stats(), { size: 3, max_size: 3, evicted: 1 });
  assert.equal(ids.delete("b"), true);
  assert.equal(ids.has("b"), false);
  ids.clear();
  assert.equal(ids.size, 0);
});

Deno.test("RecentIds: the size never exceeds maxSize over many ids", () => {
  const ids = new RecentIds<number>({ maxSize: 1000 });
  for (let i = 0; i < 200_000; i++) ids.add(i);
  assert.equal(ids.size, 1000);
  assert.equal(ids.has(198_999), false);
  assert.equal(ids.has(199_000), true);
  assert.equal(ids.stats().evicted, 199_000);
});

Deno.test("RecentIds: rejects a size below 1", () => {
  assert.throws(() => new RecentIds({ maxSize: 0 }), /expected an integer >= 1, got 0/);
});

Deno.test("RecentMap keeps values, evicts the oldest insertion, and 0 keeps nothing", () => {
  const acks = new RecentMap<string, { seq: number }>({ maxSize: 2 });
  assert.equal(acks.set("a", { seq: 1 }), true);
  acks.set("b", { seq: 2 });
  assert.equal(acks.set("a", { seq: 9 }), false); // updated, not refreshed
  assert.deepEqual(acks.get("a"), { seq: 9 });
  acks.set("c", { seq: 3 });
  assert.equal(acks.get("a"), undefined);
  assert.deepEqual(acks.get("c"), { seq: 3 });
  assert.deepEqual(acks.stats(), { size: 2, max_size: 2, evicted: 1 });
  const none = new RecentMap<string, number>({ maxSize: 0 });
  none.set("x", 1);
  assert.equal(none.size, 0);
  assert.throws(() => new RecentMap({ maxSize: -1 }), /expected an integer >= 0, got -1/);
});
