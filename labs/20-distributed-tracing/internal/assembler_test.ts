import assert from "node:assert/strict";
import { TraceAssembler } from "./assembler.ts";
import { type SpanRecord, StatusCode } from "./span.ts";

const T1 = "11111111111111111111111111111111";
const T2 = "22222222222222222222222222222222";

function span(
  traceId: string,
  spanId: string,
  parentSpanId: string,
  startMs: number,
  endMs: number,
  error = false,
): SpanRecord {
  return {
    traceId,
    spanId: spanId.padStart(16, "0"),
    parentSpanId: parentSpanId ? parentSpanId.padStart(16, "0") : "",
    service: `svc-${spanId}`,
    name: "n",
    kind: 2,
    startMs,
    endMs,
    attributes: {},
    events: [],
    status: { code: error ? StatusCode.ERROR : StatusCode.UNSET },
    traceState: "",
  };
}

const options = { timeoutMs: 100, maxTraces: 2, maxSpansPerTrace: 3, keepCompleted: 2 };

Deno.test("assembler: out-of-order spans make one trace on idle timeout, root and errors found", () => {
  const a = new TraceAssembler({ ...options, maxSpansPerTrace: 4 });
  // The leaf arrives first, the root last.
  assert.equal(a.add(span(T1, "3", "2", 20, 30, true), 0).result, "added");
  assert.equal(a.add(span(T1, "2", "1", 10, 40, true), 50).result, "added");
  assert.equal(a.add(span(T1, "3", "2", 20, 30), 60).result, "duplicate");
  assert.deepEqual(a.tick(140), [], "idle for 90 ms only");
  assert.equal(a.add(span(T1, "1", "", 0, 50, true), 140).result, "added");
  assert.deepEqual(a.tick(239), []);
  const [done] = a.tick(240);
  assert.equal(done.summary.rootSpanId, "0000000000000001");
  assert.equal(done.summary.spanCount, 3);
  assert.equal(done.summary.errorCount, 3);
  assert.equal(done.summary.error, true);
  assert.equal(done.summary.durationMs, 50);
  assert.equal(done.summary.orphans, 0);
  assert.deepEqual(done.spans.map((s) => s.spanId.at(-1)), ["1", "2", "3"]);
  assert.equal(done.criticalPath.length, 5);
  assert.equal(a.stats().openSpans, 0);
  // A late span joins the kept trace.
  assert.equal(a.add(span(T1, "4", "1", 41, 45), 300).result, "late");
  assert.equal(a.get(T1)!.summary.late, 1);
  assert.equal(a.get(T1)!.spans.length, 4);
  assert.equal(a.add(span(T1, "5", "1", 41, 45), 300).result, "dropped", "at maxSpansPerTrace");
});

Deno.test("assembler: bounded open traces (the longest idle is evicted), spans per trace, kept traces", () => {
  const a = new TraceAssembler(options);
  a.add(span(T1, "1", "", 0, 1), 0);
  a.add(span(T2, "1", "", 0, 1), 10);
  const T3 = "33333333333333333333333333333333";
  const { evicted } = a.add(span(T3, "1", "", 0, 1), 20);
  assert.equal(evicted.length, 1);
  assert.equal(evicted[0].summary.traceId, T1);
  assert.equal(evicted[0].summary.reason, "evicted");
  for (let i = 2; i <= 4; i++) a.add(span(T3, String(i), "1", 0, 1), 30);
  assert.equal(a.stats().droppedSpans, 1);
  const done = a.completeAll();
  assert.deepEqual(done.map((t) => t.summary.reason), ["stopped", "stopped"]);
  assert.equal(a.recent().length, 2, "keepCompleted");
  assert.equal(a.recent()[0].summary.traceId, T3, "newest first");
  assert.equal(a.get(T1), undefined);
  // An orphan: a span whose parent never arrived.
  const b = new TraceAssembler(options);
  b.add(span(T1, "1", "", 0, 10), 0);
  b.add(span(T1, "9", "8", 2, 3), 0);
  assert.equal(b.completeAll()[0].summary.orphans, 1);
});
