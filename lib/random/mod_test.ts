import assert from "node:assert/strict";
import { seededRandom } from "./mod.ts";

Deno.test("seededRandom: same seed, same sequence; values in [0, 1)", () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const c = seededRandom(8);
  const first = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(first, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(first.slice(0, 10), Array.from({ length: 10 }, () => c()));
  assert.ok(first.every((x) => x >= 0 && x < 1));
  const mean = first.reduce((s, x) => s + x, 0) / first.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});
