import assert from "node:assert/strict";
import { RatePacer } from "./rate_pacer.ts";

Deno.test("RatePacer releases sends in proportion to elapsed time", () => {
  const p = new RatePacer(1000, 100, 0);
  assert.equal(p.due(0), 0);
  assert.equal(p.waitMs(0), 1);
  assert.equal(p.due(10), 10);
  p.sent(10);
  assert.equal(p.due(10), 0);
  assert.equal(p.due(25.5), 15);
  p.sent(5); // sent fewer than due: the rest stays due
  assert.equal(p.due(25.5), 10);
});

Deno.test("RatePacer caps a backlog at maxBurst and drops the rest", () => {
  const p = new RatePacer(1000, 50, 0);
  assert.equal(p.due(10_000), 50);
  p.sent(50);
  assert.equal(p.due(10_000), 0);
  assert.equal(p.due(10_001), 1);
});

Deno.test("RatePacer with rate 0 is unlimited", () => {
  const p = new RatePacer(0, 500, 0);
  assert.equal(p.due(0), 500);
  p.sent(500);
  assert.equal(p.due(0), 500);
  assert.equal(p.waitMs(0), 0);
});

Deno.test("RatePacer slow rates wait the right time", () => {
  const p = new RatePacer(2, 10, 1000);
  assert.equal(p.waitMs(1000), 500);
  assert.equal(p.due(1499), 0);
  assert.equal(p.due(1500), 1);
  p.sent(1);
  assert.equal(p.waitMs(1500), 500);
  assert.throws(() => new RatePacer(-1, 1, 0), /expected rate >= 0/);
});
