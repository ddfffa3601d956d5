import assert from "node:assert/strict";
import { toOtlp, unixNano, validateOtlp } from "./otlp.ts";
import { SpanKind, type SpanRecord, StatusCode } from "./span.ts";

const root: SpanRecord = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  parentSpanId: "",
  service: "gateway",
  name: "handle request",
  kind: SpanKind.SERVER,
  startMs: 1_764_680_000_000.125,
  endMs: 1_764_680_000_012.5,
  attributes: { "request.item": "book", n: 3, ratio: 0.5, ok: true },
  events: [{ name: "exception", timeMs: 1_764_680_000_001, attributes: { "exception.type": "X" } }],
  status: { code: StatusCode.ERROR, message: "boom" },
  traceState: "lab20=gateway",
};
const child: SpanRecord = {
  ...root,
  spanId: "00f067aa0ba902b8",
  parentSpanId: root.spanId,
  service: "auth",
  kind: SpanKind.CLIENT,
  events: [],
  status: { code: StatusCode.UNSET },
  traceState: "",
};

Deno.test("toOtlp: resourceSpans per service, hex ids, nanosecond strings, enums, typed attributes", () => {
  const doc = toOtlp([root, child]);
  assert.deepEqual(validateOtlp(doc), []);
  assert.equal(doc.resourceSpans.length, 2);
  assert.deepEqual(doc.resourceSpans[0].resource.attributes, [
    { key: "service.name", value: { stringValue: "gateway" } },
  ]);
  const [span] = doc.resourceSpans[0].scopeSpans[0].spans;
  assert.equal(span.startTimeUnixNano, "1764680000000125000");
  assert.equal(span.endTimeUnixNano, "1764680000012500000");
  assert.equal(span.kind, 2);
  assert.deepEqual(span.status, { code: 2, message: "boom" });
  assert.equal(span.parentSpanId, undefined, "a root has no parentSpanId");
  assert.equal(span.traceState, "lab20=gateway");
  assert.deepEqual(span.attributes, [
    { key: "request.item", value: { stringValue: "book" } },
    { key: "n", value: { intValue: "3" } },
    { key: "ratio", value: { doubleValue: 0.5 } },
    { key: "ok", value: { boolValue: true } },
  ]);
  assert.equal(span.events[0].timeUnixNano, "1764680000001000000");
  const [auth] = doc.resourceSpans[1].scopeSpans[0].spans;
  assert.equal(auth.parentSpanId, root.spanId);
  assert.equal(unixNano(0.001), "1000");
});

Deno.test("validateOtlp catches what a collector would reject", () => {
  const good = toOtlp([root]);
  const bad = (mutate: (s: Record<string, unknown>) => void) => {
    const doc = structuredClone(good) as unknown as {
      resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
    };
    mutate(doc.resourceSpans[0].scopeSpans[0].spans[0]);
    return validateOtlp(doc);
  };
  assert.notDeepEqual(bad((s) => s.traceId = "4BF92F3577B34DA6A3CE929D0E0E4736"), []);
  assert.notDeepEqual(bad((s) => s.traceId = "0".repeat(32)), []);
  assert.notDeepEqual(bad((s) => s.spanId = "AAECAwQFBgc="), [], "base64 ids are not OTLP/JSON");
  assert.notDeepEqual(bad((s) => s.startTimeUnixNano = 1.5), []);
  assert.notDeepEqual(bad((s) => s.kind = "SPAN_KIND_SERVER"), []);
  assert.notDeepEqual(bad((s) => s.kind = 9), []);
  assert.notDeepEqual(bad((s) => s.trace_id = "x"), [], "unknown (snake_case) field");
  assert.notDeepEqual(bad((s) => s.attributes = [{ key: "k", value: { intValue: "1.5" } }]), []);
  assert.notDeepEqual(bad((s) => s.attributes = [{ key: "k", value: {} }]), []);
  assert.notDeepEqual(bad((s) => s.status = { code: 3 }), []);
  assert.notDeepEqual(bad((s) => s.endTimeUnixNano = "1"), [], "ends before it starts");
  assert.deepEqual(validateOtlp({ resource_spans: [] }), ["$.resource_spans: unknown field"]);
  assert.deepEqual(validateOtlp({ resourceSpans: [] }), []);
});
