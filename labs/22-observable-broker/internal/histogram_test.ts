import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";

Deno.test("histogram: cumulative buckets, +Inf count and sum in seconds", () => {
  const h = new Histogram({ bounds: [0.001, 0.01], recent: 8 });
  for (const ms of [0.5, 1, 5, 20, -3]) h.observeMs(ms);
  const s = h.snapshot();
  assert.deepEqual(s.cumulative, [3, 4]); // 0.5, 1 (le is inclusive), -3 as 0; then 5
  assert.equal(s.count, 5);
  assert.ok(Math.abs(s.sum - 0.0265) < 1e-12);
});

Deno.test("histogram: summary percentiles come from the bounded recent ring", () => {
  const h = new Histogram({ recent: 2 });
  h.observeMs(100);
  h.observeMs(1);
  h.observeMs(2); // pushes 100 out of the ring
  assert.deepEqual(h.summary(), { count: 3, p50: 1, p99: 2, max: 2 });
});

Deno.test("histogram: rejects bounds that are not ascending", () => {
  assert.throws(() => new Histogram({ bounds: [1, 1] }), /ascending/);
});
