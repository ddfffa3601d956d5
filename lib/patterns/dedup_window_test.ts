import assert from "node:assert/strict";
import { DedupWindow } from "./dedup_window.ts";

Deno.test("DedupWindow: the watermark advances over contiguous seqs and keeps only the gaps", () => {
  const d = new DedupWindow();
  for (const seq of [0, 2, 3, 5]) assert.equal(d.add("r", seq), true);
  assert.equal(d.add("r", 3), false, "a repeat is not new");
  assert.deepEqual(d.snapshot(), [{ stream: "r", watermark: 0, above: [2, 3, 5] }]);
  d.add("r", 1);
  assert.deepEqual(d.snapshot(), [{ stream: "r", watermark: 3, above: [5] }]);
  assert.equal(d.has("r", 2), true);
  assert.equal(d.has("r", 4), false);
  assert.equal(d.has("other", 0), false);
  for (let i = 0; i < 10_000; i++) d.add("s", i);
  assert.equal(d.size, 1 + 1 + 1, "memory does not grow with in-order seqs");
});

Deno.test("DedupWindow: least recently used streams are forgotten past maxStreams", () => {
  const d = new DedupWindow({ maxStreams: 2 });
  d.add("a", 0);
  d.add("b", 0);
  d.add("a", 1);
  d.add("c", 0);
  assert.equal(d.has("b", 0), false);
  assert.equal(d.has("a", 1), true);
  assert.equal(d.stats().evicted_streams, 1);
});

Deno.test("DedupWindow: past maxAbove the lowest out-of-order seq is forgotten", () => {
  const d = new DedupWindow({ maxAbove: 3 });
  for (const seq of [10, 4, 8, 6]) d.add("r", seq);
  assert.deepEqual(d.snapshot(), [{ stream: "r", watermark: -1, above: [6, 8, 10] }]);
  assert.equal(d.has("r", 4), false);
  assert.equal(d.stats().evicted_seqs, 1);
  // The heap still agrees with the set after the watermark moves.
  for (let seq = 0; seq <= 6; seq++) d.add("r", seq);
  assert.deepEqual(d.snapshot(), [{ stream: "r", watermark: 6, above: [8, 10] }]);
  d.add("r", 12);
  d.add("r", 14); // evicts 8, the lowest
  assert.deepEqual(d.snapshot(), [{ stream: "r", watermark: 6, above: [10, 12, 14] }]);
});

Deno.test("DedupWindow: 200,000 out-of-order seqs past the cap cost O(log n) each", () => {
  // Every seq is odd, so none is contiguous with the watermark: all stay "above" and,
  // past maxAbove, each add evicts the lowest. A full scan per eviction (the old
  // Math.min(...set)) would cost ~65,536 steps per add, ~9e9 in all.
  const d = new DedupWindow();
  const n = 200_000;
  for (let i = 0; i < n; i++) d.add("r", 2 * i + 1);
  const stats = d.stats();
  assert.equal(stats.above, 65_536);
  assert.equal(stats.evicted_seqs, n - 65_536);
  // push + pop in a heap of 2^16: at most 2 × 16 comparisons each, plus slack.
  const perAdd = stats.comparisons / n;
  assert.ok(perAdd <= 2 * 17 + 2, `expected O(log n) comparisons per add, got ${perAdd}`);
  assert.equal(d.has("r", 2 * (n - 65_536) - 1), false, "the lowest were forgotten");
  assert.equal(d.has("r", 2 * (n - 65_536) + 1), true);
});

Deno.test("DedupWindow: snapshot and restore round-trip", () => {
  const d = new DedupWindow();
  for (const seq of [0, 1, 3, 7]) d.add("a", seq);
  d.add("b", 5);
  const copy = DedupWindow.restore(d.snapshot());
  assert.deepEqual(copy.snapshot(), d.snapshot());
  copy.add("a", 2);
  assert.deepEqual(copy.snapshot().at(-1), { stream: "a", watermark: 3, above: [7] });
  // A stale "above" entry below the watermark is dropped on restore.
  const fixed = DedupWindow.restore([{ stream: "x", watermark: 5, above: [2, 6, 9] }]);
  assert.deepEqual(fixed.snapshot(), [{ stream: "x", watermark: 6, above: [9] }]);
});
