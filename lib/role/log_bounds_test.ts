import assert from "node:assert/strict";
import { boundJson, boundValue, cutText, LOG_LIMITS } from "./log_bounds.ts";

Deno.test("boundValue: durations rounded by field name, other numbers kept", () => {
  assert.equal(boundValue("silent_ms", 3009.7584789999996), 3009.8);
  assert.equal(boundValue("took_s", 1.23456789), 1.235);
  assert.equal(boundValue("uptime_ms", 12), 12);
  assert.equal(boundValue("ratio", 0.123456789), 0.123456789);
  assert.equal(boundValue("mass", 1.23456), 1.23456, "`_s` is a suffix, not any s");
  assert.deepEqual(boundValue("rtts_ms", [1.25, 2.3456]), [1.3, 2.3]);
  assert.deepEqual(boundValue("stats", { p99_ms: 10.06, n: 3 }), { p99_ms: 10.1, n: 3 });
  assert.equal(boundValue("x_ms", Infinity), "Infinity");
});

Deno.test("boundValue: arrays cut to 16 items plus a marker", () => {
  const frames = Array.from({ length: 1001 }, (_, i) => i);
  const out = boundValue("frames", frames) as unknown[];
  assert.equal(out.length, 17);
  assert.deepEqual(out.slice(0, 16), frames.slice(0, 16));
  assert.equal(out[16], "… +985 more");
  assert.deepEqual(boundValue("a", Array.from({ length: 16 }, () => 1)), Array(16).fill(1));
  assert.deepEqual(boundValue("s", new Set([1, 2])), [1, 2]);
});

Deno.test("boundValue: strings over 512 chars and bytes over 64 are cut with a marker", () => {
  const text = boundValue("text", "x".repeat(2000)) as string;
  assert.equal(text, "x".repeat(512) + "… +1488 chars");
  assert.equal(boundValue("t", "short"), "short");
  const raw = boundValue("raw", new Uint8Array(1000).fill(0xab)) as string;
  assert.equal(raw, "ab".repeat(64) + "… +936 bytes");
  assert.equal(boundValue("raw", new Uint8Array([1, 255])), "01ff");
  assert.equal(cutText("a\u{1F600}b", 2), "a… +3 chars", "a surrogate pair is not split");
});

Deno.test("boundValue: objects capped in keys and depth; odd values made JSON-safe", () => {
  const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  const out = boundValue("wide", wide) as Record<string, unknown>;
  assert.equal(Object.keys(out).length, LOG_LIMITS.maxKeys + 1);
  assert.equal(out["…"], "+8 more keys");
  const deep = { a: { b: { c: { d: { e: 1 } } } } };
  assert.deepEqual(boundValue("deep", deep), { a: { b: { c: { d: "{…}" } } } });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.doesNotThrow(() => JSON.stringify(boundValue("c", cyclic)));
  assert.equal(boundValue("e", new Error("boom")), "boom");
  assert.equal(boundValue("b", 10n), "10");
  assert.equal(boundValue("f", () => 1), undefined);
  assert.deepEqual(boundValue("m", new Map([["a", 1]])), { a: 1 });
  assert.deepEqual(boundValue("u", [undefined]), [null]);
  assert.equal(boundJson("rtt_ms", 1.23456), "1.2");
});
