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
