import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodeBatch, encodeBatch, type SpanRecord } from "./span.ts";

const span: SpanRecord = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  parentSpanId: "",
  service: "gateway",
  name: "handle request",
  kind: 2,
  startMs: 1000.5,
  endMs: 1002.25,
  attributes: { a: "x", b: 1, c: true },
  events: [{ name: "e", timeMs: 1001, attributes: {} }],
  status: { code: 2, message: "boom" },
  traceState: "lab20=gateway",
};

Deno.test("span batches round trip; the service comes from the batch", () => {
  const batch = decodeBatch([encodeBatch("gateway", 7, [span])]);
  assert.deepEqual(batch, { service: "gateway", dropped: 7, spans: [span] });
});

Deno.test("malformed batches are BadMessageError", () => {
  const bad = [
    [],
    [encodeBatch("g", 0, []), encodeBatch("g", 0, [])],
    [new TextEncoder().encode("garbage")],
    [encode([2, "g", 0, []])],
    [encode({ v: 1, service: "g", dropped: 0, spans: [] })],
    [encodeBatch("g", 0, [{ ...span, traceId: "0".repeat(32) }])],
    [encodeBatch("g", 0, [{ ...span, spanId: "00F067AA0BA902B7" }])],
    [encodeBatch("g", 0, [{ ...span, parentSpanId: "xyz" }])],
    [encodeBatch("g", 0, [{ ...span, endMs: 1 }])],
    [encodeBatch("g", 0, [{ ...span, kind: 7 }])],
  ];
  for (const frames of bad) assert.throws(() => decodeBatch(frames), BadMessageError);
});
