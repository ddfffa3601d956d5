import assert from "node:assert/strict";
import { EngineStats, type FrameObservation } from "./engine_stats.ts";

const frame = (id: number, extra: Partial<FrameObservation> = {}): FrameObservation => ({
  stream: "s1",
  id,
  bytes: 1_000_000,
  latencyUs: 5000,
  intact: true,
  lumaMean: 100,
  motion: 1,
  ...extra,
});

Deno.test("gaps in frame ids are dropped frames; a new stream starts over", () => {
  const stats = new EngineStats(0);
  for (const id of [0, 1, 2, 5, 6]) stats.observe(frame(id));
  stats.observe(frame(0, { stream: "s2" })); // camera restarted: not a gap, not out of order
  stats.observe(frame(2, { stream: "s2" }));
  const r = stats.report(2000, 0.5, 100e6);
  assert.equal(r.frames, 7);
  assert.equal(r.dropped, 3);
  assert.equal(r.streams, 2);
  assert.equal(r.out_of_order, 0);
  assert.equal(r.fps, 3.5);
  assert.equal(r.gbps, 0.028);
  assert.equal(r.latency_p50_ms, 5);
  assert.equal(r.cpu_s_per_gb, 71.429); // 0.5 s for 7 MB
  assert.equal(r.rss_mb, 100);
});

Deno.test("mismatches are counted with the last bad id", () => {
  const stats = new EngineStats(0);
  stats.observe(frame(0));
  stats.observe(frame(1, { intact: false }));
  stats.observe(frame(1)); // a duplicate id
  const r = stats.report(1000, 0, 0);
  assert.equal(r.mismatches, 1);
  assert.equal(r.last_mismatch_id, 1);
  assert.equal(r.out_of_order, 1);
});
