import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { decode, s } from "@lib/codec/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { HeadSampler, IdGenerator, randomBytesFrom } from "./ids.ts";
import { decodeReply, decodeRequest, encodeReply, encodeRequest, text } from "./protocol.ts";
import { type HopOptions, ServiceHop } from "./service.ts";
import { SpanKind, type SpanRecord, StatusCode } from "./span.ts";
import { parseTraceParent } from "./trace_context.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const P = "00f067aa0ba902b7";
const route = [new Uint8Array([0, 1, 2, 3, 4])];

function setup(options: Partial<HopOptions> = {}) {
  const clock = new ManualClock();
  const replies: Uint8Array[][] = [];
  const forwarded: Uint8Array[][] = [];
  const spans: SpanRecord[] = [];
  let wall = 1_000_000;
  let accept = true;
  const hop = new ServiceHop({
    clock,
    wallNow: () => wall++,
    reply: (r, frames) => replies.push([...r, ...frames]),
    forward: (frames) => accept && (forwarded.push(frames), true),
    exportSpan: (span) => spans.push(span),
    log: createMemoryLogger(),
  }, {
    name: "auth",
    next: "tcp://next",
    tracing: true,
    sampler: new HeadSampler(1),
    ids: new IdGenerator(randomBytesFrom(seededRandom(3))),
    workMs: 0,
    failRate: 0,
    random: seededRandom(4),
    timeoutMs: 1000,
    maxInFlight: 10,
    ...options,
  });
  return {
    hop,
    clock,
    replies,
    forwarded,
    spans,
    refuse: () => accept = false,
    reply: (i: number) => decodeReply(replies[i].slice(1)),
  };
}

Deno.test("a valid traceparent is continued: server and client spans, new parent-id downstream, tracestate updated", () => {
  const t = setup();
  t.hop.onRequest(route, encodeRequest("7", `00-${T}-${P}-01`, "congo=x", { item: "book" }));
  assert.equal(t.forwarded.length, 1);
  const down = decodeRequest(t.forwarded[0]);
  const tp = parseTraceParent(down.traceparent);
  assert.ok(tp.ok);
  assert.equal(tp.value.traceId, T);
  assert.notEqual(tp.value.parentId, P);
  assert.equal(down.tracestate, "lab20=auth,congo=x");
  assert.equal(t.hop.stats().inFlight, 1);
  // The next hop answers.
  t.hop.onReply(encodeReply(down.requestId, true, "", "payload"));
  const up = t.reply(0);
  assert.equal(text(up.requestId), "7");
  assert.ok(up.ok);
  assert.equal(text(up.body), "payload");
  const [client, server] = t.spans;
  assert.equal(server.kind, SpanKind.SERVER);
  assert.equal(server.parentSpanId, P);
  assert.equal(client.kind, SpanKind.CLIENT);
  assert.equal(client.parentSpanId, server.spanId);
  assert.equal(client.spanId, tp.value.parentId);
  assert.ok(client.startMs >= server.startMs && client.endMs <= server.endMs);
  assert.equal(
    parseTraceParent(up.traceresponse).ok && up.traceresponse,
    `00-${T}-${server.spanId}-01`,
  );
  assert.equal(t.hop.busy, 0);
});

Deno.test("invalid traceparent: a new trace, tracestate dropped; absent: a root; unsampled: no spans", () => {
  const t = setup({ next: undefined });
  t.hop.onRequest(
    route,
    encodeRequest("1", `00-${T.toUpperCase()}-${P}-01`, "congo=x", { item: "a" }),
  );
  t.hop.onRequest(route, encodeRequest("2", "", "", { item: "b" }));
  t.hop.onRequest(route, encodeRequest("3", `00-${T}-${P}-00`, "", { item: "c" }));
  assert.equal(t.replies.length, 3);
  assert.equal(t.spans.length, 2, "the unsampled request recorded nothing");
  assert.notEqual(t.spans[0].traceId, T);
  assert.equal(t.spans[0].parentSpanId, "");
  assert.equal(t.spans[0].traceState, "lab20=auth");
  assert.equal(t.spans[1].parentSpanId, "");
  assert.deepEqual(
    [t.hop.stats().restarted, t.hop.stats().roots, t.hop.stats().sampled],
    [1, 1, 2],
  );
  assert.match(t.reply(2).traceresponse, new RegExp(`^00-${T}-[0-9a-f]{16}-00$`));
  const body = decode(t.reply(1).body, s.object({ item: s.string(), servedBy: s.string() }));
  assert.deepEqual(body, { item: "b", servedBy: "auth" });
});

Deno.test("failures: injected (exception event), next hop timed out, queue full, error from below", async () => {
  const t = setup();
  t.hop.onRequest(route, encodeRequest("1", "", "", { item: "x", failAt: "auth" }));
  assert.equal(t.reply(0).ok, false);
  assert.equal(t.spans[0].status.code, StatusCode.ERROR);
  assert.equal(t.spans[0].events[0].name, "exception");
  assert.equal(t.forwarded.length, 0);

  t.hop.onRequest(route, encodeRequest("2", "", "", { item: "x" }));
  await t.clock.advance(999);
  t.hop.tick(t.clock.now());
  assert.equal(t.replies.length, 1);
  await t.clock.advance(1);
  t.hop.tick(t.clock.now());
  assert.match(text(t.reply(1).body), /timed out/);
  assert.equal(t.hop.stats().timeouts, 1);
  // The late reply is counted, not answered twice.
  t.hop.onReply(encodeReply(decodeRequest(t.forwarded[0]).requestId, true, "", "x"));
  assert.equal(t.hop.stats().lateReplies, 1);
  assert.equal(t.replies.length, 2);

  t.hop.onRequest(route, encodeRequest("3", "", "", { item: "x" }));
  t.hop.onReply(encodeReply(decodeRequest(t.forwarded[1]).requestId, false, "", "boom"));
  const failed = t.reply(2);
  assert.equal(failed.ok, false);
  const last = t.spans.slice(-2);
  assert.ok(last.every((sp) => sp.status.code === StatusCode.ERROR));
  assert.match(last[0].status.message!, /next hop failed: boom/);

  t.refuse();
  t.hop.onRequest(route, encodeRequest("4", "", "", { item: "x" }));
  assert.match(text(t.reply(3).body), /send queue full/);
  assert.equal(t.hop.busy, 0);
});

Deno.test("work delay on the clock; overload past maxInFlight; tracing off sends no context", async () => {
  const t = setup({ workMs: 50, maxInFlight: 1 });
  t.hop.onRequest(route, encodeRequest("1", "", "", { item: "x" }));
  assert.equal(t.forwarded.length, 0);
  await t.clock.advance(50);
  assert.equal(t.forwarded.length, 1);
  t.hop.onRequest(route, encodeRequest("2", "", "", { item: "x" }));
  await t.clock.advance(50);
  assert.match(text(t.reply(0).body), /overloaded/);

  const off = setup({ tracing: false });
  off.hop.onRequest(route, encodeRequest("1", `00-${T}-${P}-01`, "a=1", { item: "x" }));
  const down = decodeRequest(off.forwarded[0]);
  assert.equal(down.traceparent, "");
  assert.equal(down.tracestate, "");
  off.hop.onReply(encodeReply(down.requestId, true, "", "x"));
  assert.equal(off.reply(0).traceresponse, "");
  assert.equal(off.spans.length, 0);
});
