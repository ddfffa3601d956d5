import assert from "node:assert/strict";
import { criticalPath, criticalTimes } from "./critical_path.ts";
import type { SpanRecord } from "./span.ts";

const span = (spanId: string, parentSpanId: string, startMs: number, endMs: number) =>
  ({ spanId, parentSpanId, startMs, endMs }) as SpanRecord;

Deno.test("critical path of a chain: every span, covering the root exactly", () => {
  const spans = [
    span("a", "", 0, 100),
    span("b", "a", 10, 90),
    span("c", "b", 20, 80),
  ];
  assert.deepEqual(criticalPath(spans, "a"), [
    { spanId: "a", startMs: 0, endMs: 10 },
    { spanId: "b", startMs: 10, endMs: 20 },
    { spanId: "c", startMs: 20, endMs: 80 },
    { spanId: "b", startMs: 80, endMs: 90 },
    { spanId: "a", startMs: 90, endMs: 100 },
  ]);
});

Deno.test("critical path with parallel children: the one that finished last; shadowed ones are off", () => {
  // a fans out to b (10-50) and c (10-70) in parallel, then calls d (70-95).
  const spans = [
    span("a", "", 0, 100),
    span("b", "a", 10, 50),
    span("c", "a", 10, 70),
    span("d", "a", 70, 95),
  ];
  const path = criticalPath(spans, "a");
  const times = criticalTimes(path);
  assert.equal(times.get("b"), undefined);
  assert.equal(times.get("c"), 60);
  assert.equal(times.get("d"), 25);
  assert.equal(times.get("a"), 15);
  assert.equal(path.reduce((n, s) => n + s.endMs - s.startMs, 0), 100);
});

Deno.test("critical path: a child outliving its parent is clipped; cycles and unknown roots are safe", () => {
  const path = criticalPath([span("a", "", 0, 10), span("b", "a", 5, 20)], "a");
  assert.deepEqual(path, [
    { spanId: "a", startMs: 0, endMs: 5 },
    { spanId: "b", startMs: 5, endMs: 10 },
  ]);
  assert.deepEqual(criticalPath([span("a", "b", 0, 10), span("b", "a", 1, 9)], "a").length, 3);
  assert.deepEqual(criticalPath([span("a", "", 0, 10)], "zz"), []);
});
