import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("RateLimiter: first passes, then one per window with the suppressed count", () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter({ windowMs: 1000, clock });
  assert.deepEqual(limiter.check("k"), { allowed: true, suppressed: 0 });
  for (let i = 0; i < 5; i++) assert.equal(limiter.check("k").allowed, false);
  clock.set(999);
  assert.equal(limiter.check("k").allowed, false);
  clock.set(1000);
  assert.deepEqual(limiter.check("k"), { allowed: true, suppressed: 6 });
  clock.set(2500);
  assert.deepEqual(limiter.check("k"), { allowed: true, suppressed: 0 }, "count restarts");
});

Deno.test("RateLimiter: keys are independent; the oldest key is forgotten past maxKeys", () => {
  let t = 0;
  const limiter = new RateLimiter({ windowMs: 1000, maxKeys: 2, now: () => t });
  assert.equal(limiter.check("a").allowed, true);
  assert.equal(limiter.check("b").allowed, true);
  assert.equal(limiter.check("a").allowed, false);
  assert.equal(limiter.check("c").allowed, true); // forgets "a"
  assert.equal(limiter.check("a").allowed, true, "a forgotten key starts over");
  t = 10;
  assert.equal(limiter.check("c").allowed, false);
});

Deno.test("RateLimiter: a group lets at most maxPerGroup lines through per window", () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter({ windowMs: 1000, maxPerGroup: 3, clock });
  const allowed = Array.from({ length: 10 }, (_, i) => limiter.check(`k${i}`, "g").allowed);
  assert.deepEqual(allowed, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(limiter.check("other", "h").allowed, true, "another group has its own budget");
  clock.set(1000);
  // k5 was held back once by the group: its next written line says so.
  assert.deepEqual(limiter.check("k5", "g"), { allowed: true, suppressed: 1 });
});
