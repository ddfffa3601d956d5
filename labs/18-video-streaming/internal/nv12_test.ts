import assert from "node:assert/strict";
import { frameChecksum } from "./checksum.ts";
import { FrameAnalyzer, nv12Size, SyntheticPattern } from "./nv12.ts";

Deno.test("a 4K NV12 frame is 12,441,600 bytes", () => {
  assert.equal(nv12Size(3840, 2160), 12_441_600);
});

Deno.test("every frame of the pattern differs, and the checksum sees any changed byte", () => {
  const pattern = new SyntheticPattern(320, 180);
  const a = new Uint8Array(nv12Size(320, 180));
  const b = new Uint8Array(a.length);
  pattern.render(a, 1);
  pattern.render(b, 1);
  assert.equal(frameChecksum(a), frameChecksum(b), "deterministic");
  const seen = new Set<number>();
  for (let id = 0; id < 300; id++) {
    pattern.render(b, id);
    seen.add(frameChecksum(b));
  }
  assert.equal(seen.size, 300);
  pattern.render(b, 1);
  for (const at of [0, 5, a.length >> 1, a.length - 1]) {
    b[at] ^= 1;
    assert.notEqual(frameChecksum(b), frameChecksum(a), `byte ${at}`);
    b[at] ^= 1;
  }
});

Deno.test("the checksum does not depend on the view's alignment", () => {
  const data = new Uint8Array(1027).map((_, i) => (i * 31) & 0xff);
  const shifted = new Uint8Array(1028);
  shifted.set(data, 1);
  assert.equal(frameChecksum(shifted.subarray(1)), frameChecksum(data));
});

Deno.test("histogram and motion: a still picture has no motion, a moving one has", () => {
  const w = 64, h = 32;
  const frame = new Uint8Array(nv12Size(w, h));
  frame.fill(100, 0, w * h);
  const analyzer = new FrameAnalyzer(2);
  assert.deepEqual(analyzer.analyze(frame, w, h), { lumaMean: 100, motion: 0 });
  assert.equal(analyzer.histogram[100], (w / 2) * (h / 2));
  assert.equal(analyzer.analyze(frame, w, h).motion, 0);
  frame.fill(110, 0, w * h);
  const moved = analyzer.analyze(frame, w, h);
  assert.equal(moved.motion, 10);
  assert.equal(moved.lumaMean, 110);
});
