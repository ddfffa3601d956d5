import assert from "node:assert/strict";
import { seededRandom } from "@lib/random/mod.ts";
import { HeadSampler, IdGenerator, randomBytesFrom } from "./ids.ts";

Deno.test("ids are lowercase hex of the right length and never all zero", () => {
  let zeros = 1; // the first pool is all zero: those ids must be redrawn
  const ids = new IdGenerator((bytes) => {
    if (zeros-- > 0) bytes.fill(0);
    else randomBytesFrom(seededRandom(7))(bytes);
  });
  const trace = ids.traceId();
  assert.match(trace, /^[0-9a-f]{32}$/);
  assert.notEqual(trace, "0".repeat(32));
  const span = ids.spanId();
  assert.match(span, /^[0-9a-f]{16}$/);
});

Deno.test("head sampler: a ratio of root traces by trace id, deterministic; parent-based below", () => {
  const ids = new IdGenerator(randomBytesFrom(seededRandom(42)));
  const sampler = new HeadSampler(0.25);
  const traces = Array.from({ length: 4000 }, () => ids.traceId());
  const sampled = traces.filter((t) => sampler.sampleRoot(t)).length;
  assert.ok(sampled > 850 && sampled < 1150, `sampled ${sampled} of 4000 at 0.25`);
  for (const t of traces.slice(0, 50)) assert.equal(sampler.sampleRoot(t), sampler.sampleRoot(t));
  // The decision reads the rightmost 56 bits.
  assert.equal(sampler.sampleRoot("ffffffffffffffffff00000000000000"), true);
  assert.equal(sampler.sampleRoot("00000000000000000040000000000001"), false);
  assert.equal(new HeadSampler(1).sampleRoot(traces[0]), true);
  assert.equal(new HeadSampler(0).sampleRoot(traces[0]), false);
  assert.equal(sampler.sampleChild(true), true);
  assert.equal(new HeadSampler(0).sampleChild(true), true, "the parent decides below the root");
  assert.equal(new HeadSampler(1).sampleChild(false), false);
  assert.throws(() => new HeadSampler(1.5), RangeError);
});
