import assert from "node:assert/strict";
import { latencySummary, percentiles } from "./percentiles.ts";

Deno.test("percentiles use nearest rank and leave the input alone", () => {
  const samples = [5, 1, 4, 2, 3];
  assert.deepEqual(percentiles(samples, [0, 0.2, 0.5, 0.99, 1]), [1, 1, 3, 5, 5]);
  assert.deepEqual(samples, [5, 1, 4, 2, 3]);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(percentiles(hundred, [0.5, 0.99]), [50, 99]);
  assert.ok(Number.isNaN(percentiles([], [0.5])[0]));
  assert.throws(() => percentiles([1], [50]), /expected a percentile in \[0, 1\], got 50/);
});

Deno.test("latencySummary rounds to 0.01 ms", () => {
  assert.deepEqual(latencySummary([1, 2, 3, 4]), { count: 4, p50: 2, p99: 4, max: 4 });
  assert.deepEqual(latencySummary([1.23456]), { count: 1, p50: 1.23, p99: 1.23, max: 1.23 });
  assert.deepEqual(latencySummary([]), { count: 0, p50: 0, p99: 0, max: 0 });
});
