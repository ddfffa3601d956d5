import assert from "node:assert/strict";
import { BatchExporter } from "./exporter.ts";
import { decodeBatch, type SpanRecord } from "./span.ts";

function span(i: number): SpanRecord {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: (i + 1).toString(16).padStart(16, "0"),
    parentSpanId: "",
    service: "gateway",
    name: "handle request",
    kind: 2,
    startMs: 1000 + i,
    endMs: 1001 + i,
    attributes: { i },
    events: [],
    status: { code: 0 },
    traceState: "",
  };
}

Deno.test("exporter: batches of batchSize, in order, the dropped count in each batch", () => {
  const sent: Uint8Array[] = [];
  const exporter = new BatchExporter({ trySend: (f) => (sent.push(f), true) }, {
    service: "gateway",
    maxQueue: 100,
    batchSize: 4,
  });
  for (let i = 0; i < 10; i++) assert.ok(exporter.add(span(i)));
  assert.ok(exporter.batchReady);
  assert.equal(exporter.flush(), 10);
  assert.equal(sent.length, 3);
  const batches = sent.map((f) => decodeBatch([f]));
  assert.deepEqual(batches.map((b) => b.spans.length), [4, 4, 2]);
  assert.deepEqual(batches.flatMap((b) => b.spans.map((s) => s.attributes.i)), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  assert.deepEqual(exporter.stats(), {
    queued: 0,
    exported: 10,
    dropped: 0,
    batches: 3,
    refused: 0,
  });
});

Deno.test("exporter: a refusing socket never blocks add; past maxQueue spans are dropped and counted", () => {
  let open = false;
  const sent: Uint8Array[] = [];
  const exporter = new BatchExporter({ trySend: (f) => open && (sent.push(f), true) }, {
    service: "gateway",
    maxQueue: 5,
    batchSize: 2,
  });
  const results = Array.from({ length: 8 }, (_, i) => exporter.add(span(i)));
  assert.deepEqual(results, [true, true, true, true, true, false, false, false]);
  assert.equal(exporter.flush(), 0); // refused: the first batch stays encoded, held
  assert.equal(exporter.held, 5);
  assert.equal(exporter.add(span(8)), false);
  assert.deepEqual(exporter.stats(), {
    queued: 5,
    exported: 0,
    dropped: 4,
    batches: 0,
    refused: 1,
  });
  open = true;
  assert.equal(exporter.flush(), 5);
  const spans = sent.flatMap((f) => decodeBatch([f]).spans.map((s) => s.attributes.i));
  assert.deepEqual(spans, [0, 1, 2, 3, 4], "order kept across the refusal");
  assert.equal(decodeBatch([sent.at(-1)!]).dropped, 4);
  exporter.add(span(9));
  assert.equal(exporter.abandon(), 1);
  assert.equal(exporter.stats().dropped, 5);
});
