import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  decodeReply,
  decodeRequest,
  decodeRequestBody,
  encodeReply,
  encodeRequest,
  MAX_TRACEPARENT_BYTES,
  text,
} from "./protocol.ts";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Deno.test("request and reply envelopes round trip; context frames verbatim, empty = absent", () => {
  const frames = encodeRequest("42", TP, "congo=x", { item: "book", failAt: "orders" });
  assert.equal(frames.length, 5);
  assert.equal(frames[0].length, 0);
  assert.equal(text(frames[2]), TP);
  const req = decodeRequest(frames);
  assert.equal(text(req.requestId), "42");
  assert.equal(req.traceparent, TP);
  assert.equal(req.tracestate, "congo=x");
  assert.deepEqual(decodeRequestBody(req.body), { item: "book", failAt: "orders" });
  const bare = decodeRequest(encodeRequest("1", "", "", { item: "x" }));
  assert.equal(bare.traceparent, "");
  assert.equal(bare.tracestate, "");
  const reply = decodeReply(encodeReply(req.requestId, false, TP, "boom"));
  assert.deepEqual([text(reply.requestId), reply.ok, reply.traceresponse, text(reply.body)], [
    "42",
    false,
    TP,
    "boom",
  ]);
});

Deno.test("malformed envelopes are BadMessageError; an oversized traceparent is an invalid header", () => {
  const enc = new TextEncoder();
  const bad: Uint8Array[][] = [
    [],
    [enc.encode("x"), enc.encode("1"), enc.encode(""), enc.encode(""), enc.encode("")],
    [new Uint8Array(0), new Uint8Array(0), enc.encode(""), enc.encode(""), enc.encode("")],
    [new Uint8Array(0), new Uint8Array(65), enc.encode(""), enc.encode(""), enc.encode("")],
  ];
  for (const frames of bad) assert.throws(() => decodeRequest(frames), BadMessageError);
  for (const frames of bad) assert.throws(() => decodeReply(frames), BadMessageError);
  const wrongStatus = encodeReply(enc.encode("1"), true, "", "x");
  wrongStatus[2] = enc.encode("maybe");
  assert.throws(() => decodeReply(wrongStatus), BadMessageError);
  assert.throws(() => decodeRequestBody(enc.encode("not msgpack")), BadMessageError);
  const long = encodeRequest("1", "0".repeat(MAX_TRACEPARENT_BYTES + 1), "", { item: "x" });
  assert.equal(decodeRequest(long).traceparent, "oversized");
});
