import assert from "node:assert/strict";
import { Hints, Store } from "./store.ts";

const v = (wall: number, node = "a", value: string | null = "x") => ({
  value: value === null ? null : new TextEncoder().encode(value),
  wall,
  counter: 0,
  node,
});

Deno.test("store: newest wins in any order; bounded; tombstones count", () => {
  const one = new Store(10), two = new Store(10);
  const writes = [v(1), v(3, "b"), v(2), v(3, "a", null)];
  for (const w of writes) one.apply("k", w);
  for (const w of [...writes].reverse()) two.apply("k", w);
  assert.deepEqual(one.get("k"), two.get("k"));
  assert.equal(one.get("k")?.node, "b");
  assert.equal(one.apply("k", v(3, "b")), "stale");
  const small = new Store(1);
  assert.equal(small.apply("a", v(1)), "stored");
  assert.equal(small.apply("b", v(1)), "full");
  assert.equal(small.apply("a", v(2, "a", null)), "stored");
  assert.equal(small.live(), 0);
  assert.equal(small.size, 1);
});

Deno.test("store: a byte bound refuses growth past it; updates and deletes give bytes back", () => {
  // Regression: only the key count was bounded, so 1,000,000 keys of 64 KiB could be stored.
  const store = new Store(1000, 10);
  assert.equal(store.apply("a", v(1, "a", "xxxx")), "stored"); // 1 + 4 bytes
  assert.equal(store.bytes, 5);
  assert.equal(store.apply("b", v(1, "a", "yyyyyy")), "full"); // 5 + 7 > 10
  assert.equal(store.get("b"), undefined);
  assert.equal(store.apply("b", v(1, "a", "yyyy")), "stored"); // 10: at the bound
  assert.equal(store.bytes, 10);
  assert.equal(store.apply("a", v(2, "a", "xxxxx")), "full"); // an update that grows
  assert.equal(store.apply("a", v(3, "a", null)), "stored"); // a tombstone shrinks: allowed
  assert.equal(store.bytes, 6);
  assert.ok(store.delete("b"));
  assert.equal(store.bytes, 1);
  assert.equal(store.apply("c", v(1, "a", "zzzzzzzz")), "stored");
  assert.equal(store.bytes, 10);
});

Deno.test("hints: a byte bound refuses a hint past it; delivery and forget give bytes back", () => {
  const hints = new Hints(100, 10);
  assert.ok(hints.add("c", "a", v(1, "a", "xxxx"))); // 5 bytes
  assert.equal(hints.add("d", "b", v(1, "a", "yyyyyy")), false); // 5 + 7 > 10
  assert.ok(hints.add("d", "b", v(1, "a", "yyyy"))); // 10
  assert.equal(hints.bytes, 10);
  assert.equal(hints.delivered("c", hints.batch("c", 10)), 1);
  assert.equal(hints.bytes, 5);
  assert.equal(hints.forget("d"), 1);
  assert.equal(hints.bytes, 0);
});

Deno.test("hints: newest per key, bounded, delivered only if unchanged", () => {
  const hints = new Hints(2);
  assert.ok(hints.add("c", "k1", v(1)));
  assert.ok(hints.add("c", "k1", v(2)));
  assert.ok(hints.add("c", "k2", v(1)));
  assert.equal(hints.add("c", "k3", v(1)), false);
  assert.equal(hints.size, 2);
  const batch = hints.batch("c", 10);
  assert.equal(batch.length, 2);
  hints.add("c", "k1", v(3)); // a newer write while the batch was in flight
  assert.equal(hints.delivered("c", batch), 1);
  assert.equal(hints.count("c"), 1);
  assert.equal(hints.forget("c"), 1);
  assert.equal(hints.size, 0);
  assert.deepEqual(hints.targets(), []);
});
