import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeGatewayMessage,
  decodeReply,
  decodeRequest,
  decodeWorkerMessage,
  encodeReply,
  encodeRequest,
  gatewayFrames,
  InvalidRequestError,
  MAX_REQUEST_BYTES,
  parseRequest,
  splitClientFrames,
  WORKER_HEADER,
  workerFrames,
} from "./protocol.ts";

const te = new TextEncoder();
const b = (x: string | Uint8Array) => (typeof x === "string" ? te.encode(x) : x);
const EMPTY = new Uint8Array(0);

Deno.test("client frames: REQ-style [route, '', body] and bare [route, body] keep their envelope", () => {
  const body = encodeRequest({ id: "r1", record: { a: 1 } });
  const delimited = splitClientFrames([b("c"), EMPTY, body]);
  assert.equal(delimited.envelope.length, 2);
  assert.deepEqual(decodeRequest(delimited.body), { id: "r1", record: { a: 1 } });
  assert.equal(splitClientFrames([b("c"), body]).envelope.length, 1);
  assert.throws(() => splitClientFrames([b("c")]), /got 1 frames/);
  assert.throws(() => splitClientFrames([b("c"), b("x"), body]), /non-empty delimiter/);
  // Size is the request's business (issue 9 #20: answered `invalid` when the id is readable).
  const big = encode({ id: "big", record: "x".repeat(MAX_REQUEST_BYTES) });
  assert.equal(splitClientFrames([b("c"), EMPTY, big]).body, big);
  const check = parseRequest(big);
  assert.deepEqual(check, {
    ok: false,
    reason: `request: expected at most ${MAX_REQUEST_BYTES} bytes, got ${big.length}`,
    id: "big",
  });
  assert.throws(() => decodeRequest(new Uint8Array(MAX_REQUEST_BYTES + 1)), BadMessageError);
});

Deno.test("requests: the id must be 1..128 chars and the record plain JSON; a readable id is kept", () => {
  assert.throws(() => decodeRequest(encode({ id: "", record: 1 })), /id: expected 1\.\.128/);
  try {
    decodeRequest(encode({ id: "x", record: { v: new Uint8Array(1) } }));
    assert.fail("expected a BadMessageError");
  } catch (error) {
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.id, "x");
    assert.match(error.reason, /plain object at record\.v/);
  }
  assert.throws(() => decodeRequest(b("\xc1")), BadMessageError);
});

Deno.test("replies round-trip for ok, busy and invalid", () => {
  for (
    const reply of [
      { id: "a", status: "ok", seq: 1, hash: "h" },
      { id: "a", status: "ok", seq: 1, hash: "h", duplicate: true },
      { id: "a", status: "busy", retry_after_ms: 20 },
      { id: "a", status: "invalid", reason: "r" },
    ] as const
  ) {
    assert.deepEqual(decodeReply(encodeReply(reply)), reply);
  }
  assert.throws(() => decodeReply(encode({ id: "a", status: "ok" })), /expected seq and hash/);
});

Deno.test("worker messages round-trip through their frames", () => {
  const w = b("w1");
  const dec = (m: Parameters<typeof workerFrames>[0]) =>
    decodeWorkerMessage([w, ...workerFrames(m).map(b)]).message;
  assert.deepEqual(dec({ command: "READY", capacity: 8 }), { command: "READY", capacity: 8 });
  const acks = [{ id: "a", seq: 1, hash: "h", duplicate: false }];
  assert.deepEqual(dec({ command: "ACK", acks }), { command: "ACK", acks });
  assert.deepEqual(dec({ command: "NACK", ids: ["a"] }), { command: "NACK", ids: ["a"] });
  assert.deepEqual(dec({ command: "HB" }), { command: "HB" });
  assert.deepEqual(dec({ command: "BYE" }), { command: "BYE" });
  assert.throws(
    () => decodeWorkerMessage([w, b(WORKER_HEADER), b("READY"), encode({ capacity: 0 })]),
    /capacity 1\.\.100000, got 0/,
  );
  assert.throws(() => decodeWorkerMessage([w, b("MDPW01"), b("HB")]), /header/);
  assert.throws(() => decodeWorkerMessage([w, b(WORKER_HEADER), b("HB"), b("x")]), /no body/);
});

Deno.test("gateway messages round-trip; REC carries the client's body", () => {
  const body = encodeRequest({ id: "r", record: null });
  const [, ...frames] = gatewayFrames(b("w"), "REC", body).map(b);
  assert.deepEqual(decodeGatewayMessage(frames), {
    command: "REC",
    request: { id: "r", record: null },
  });
  assert.deepEqual(decodeGatewayMessage([b(WORKER_HEADER), b("BYE_OK")]), { command: "BYE_OK" });
  assert.throws(() => decodeGatewayMessage([b(WORKER_HEADER), b("REC")]), /a body frame/);
  assert.throws(() => decodeGatewayMessage([b(WORKER_HEADER), b("ZAP")]), /REC\|HB/);
});
