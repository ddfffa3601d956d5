import assert from "node:assert/strict";
import { DedupIndex, DedupStore } from "./dedup.ts";

Deno.test("watermark advances over contiguous seqs and keeps only the gaps", () => {
  const d = new DedupIndex();
  for (const seq of [0, 2, 3, 5]) d.add("r", seq);
  assert.deepEqual(d.snapshot(), [{ run: "r", watermark: 0, above: [2, 3, 5] }]);
  d.add("r", 1);
  assert.deepEqual(d.snapshot(), [{ run: "r", watermark: 3, above: [5] }]);
  assert.equal(d.has("r", 2), true);
  assert.equal(d.has("r", 4), false);
  assert.equal(d.has("other", 0), false);
  for (let i = 0; i < 10_000; i++) d.add("s", i);
  assert.equal(d.size, 1 + 1 + 1, "memory does not grow with in-order batches");
});

Deno.test("least recently used runs are forgotten past maxRuns", () => {
  const d = new DedupIndex({ maxRuns: 2 });
  d.add("a", 0);
  d.add("b", 0);
  d.add("a", 1);
  d.add("c", 0);
  assert.equal(d.has("b", 0), false);
  assert.equal(d.has("a", 1), true);
});

Deno.test("the store survives a restart: snapshot + journal replay", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const a = DedupStore.open(dir);
    a.record("r", 0);
    a.compact();
    a.record("r", 1);
    a.record("r", 3);
    a.sync(); // crash here: no close()
    const b = DedupStore.open(dir);
    assert.deepEqual(b.index.snapshot(), [{ run: "r", watermark: 1, above: [3] }]);
    b.close();
    const c = DedupStore.open(dir);
    assert.equal(c.index.has("r", 3), true);
    assert.equal(Deno.readTextFileSync(`${dir}/dedup.journal`), "");
    c.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
