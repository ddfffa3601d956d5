import assert from "node:assert/strict";
import { compareStamps, HybridClock, newer, stampText } from "./versioned.ts";

Deno.test("stamps order by wall, then counter, then node id", () => {
  const s = (wall: number, counter: number, node: string) => ({ wall, counter, node });
  assert.ok(compareStamps(s(2, 0, "a"), s(1, 9, "z")) > 0);
  assert.ok(compareStamps(s(1, 1, "a"), s(1, 0, "z")) > 0);
  assert.ok(compareStamps(s(1, 1, "b"), s(1, 1, "a")) > 0);
  assert.equal(compareStamps(s(1, 1, "a"), s(1, 1, "a")), 0);
  assert.equal(newer(s(1, 0, "a"), s(1, 0, "b"))?.node, "b");
  assert.equal(newer(undefined, s(1, 0, "b"))?.node, "b");
  assert.equal(stampText(s(5, 2, "n1")), "5.2@n1");
});

Deno.test("HLC: monotonic under a stalled or backward wall clock", () => {
  let t = 1000;
  const hlc = new HybridClock("a", () => t);
  const a = hlc.next();
  const b = hlc.next();
  t = 900; // the wall clock steps back
  const c = hlc.next();
  assert.ok(compareStamps(b, a) > 0 && compareStamps(c, b) > 0);
  t = 2000;
  assert.deepEqual(hlc.next(), { wall: 2000, counter: 0, node: "a" });
});

Deno.test("HLC: a stamp observed from a node ahead orders later local writes after it", () => {
  const t = 1000;
  const hlc = new HybridClock("a", () => t);
  assert.ok(hlc.observe({ wall: 5000, counter: 3, node: "b" }));
  const next = hlc.next();
  assert.ok(compareStamps(next, { wall: 5000, counter: 3, node: "b" }) > 0);
  // A runaway clock is not believed.
  assert.equal(hlc.observe({ wall: 10 ** 12, counter: 0, node: "x" }), false);
  assert.ok(hlc.next().wall < 10 ** 12);
});
