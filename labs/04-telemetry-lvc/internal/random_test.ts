import assert from "node:assert/strict";
import { seededRandom } from "./random.ts";

Deno.test("seededRandom is reproducible, in [0, 1) and roughly uniform", () => {
  const a = seededRandom(123);
  const b = seededRandom(123);
  const c = seededRandom(124);
  const buckets = new Array(10).fill(0);
  let differs = false;
  for (let i = 0; i < 10_000; i++) {
    const x = a();
    assert.equal(x, b());
    if (x !== c()) differs = true;
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  assert.ok(differs);
  for (const n of buckets) assert.ok(n > 800 && n < 1200, `bucket ${n} of 10000`);
});
