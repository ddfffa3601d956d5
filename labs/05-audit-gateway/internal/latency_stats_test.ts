import assert from "node:assert/strict";
import { latencySummary } from "./latency_stats.ts";

Deno.test("latencySummary uses nearest-rank percentiles", () => {
  assert.deepEqual(latencySummary([4, 1, 3, 2]), { count: 4, p50: 2, p99: 4, max: 4 });
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(latencySummary(hundred), { count: 100, p50: 50, p99: 99, max: 100 });
  assert.deepEqual(latencySummary([]), { count: 0, p50: 0, p99: 0, max: 0 });
});
