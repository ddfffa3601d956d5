import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeHeader,
  decodeReading,
  encodeHeader,
  encodeReading,
  MAX_HEADER_BYTES,
  MAX_TOPIC_BYTES,
  parseSubscription,
  parseUpdate,
  READING_SCHEMA,
  subscriptionFrame,
} from "./protocol.ts";

const te = new TextEncoder();
const limits = { maxPayloadBytes: 1000 };
const header = { seq: 7, ts: 1_700_000_000_123.25, units: "degC", schema: READING_SCHEMA };

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BadMessageError, `expected BadMessageError, got ${error}`);
    return error.reason;
  }
  assert.fail("expected a BadMessageError");
}

Deno.test("header round-trips and the replay flag is only present when set", () => {
  const bytes = encodeHeader(header);
  assert.deepEqual(decodeHeader(bytes), { ...header, replay: false });
  const replay = decodeHeader(encodeHeader({ ...header, replay: true }));
  assert.equal(replay.replay, true);
  assert.ok(bytes.length < encodeHeader({ ...header, replay: true }).length);
});

Deno.test("a header from another producer with extra fields is accepted", () => {
  const bytes = encode({ ...header, source: "node-peer", extra: [1, 2] });
  assert.deepEqual(decodeHeader(bytes), { ...header, replay: false });
});

Deno.test("parseUpdate accepts a well-formed update", () => {
  const payload = encodeReading(1.5, new Uint8Array([0, 255, 1]));
  const u = parseUpdate([te.encode("a/b"), encodeHeader(header), payload], limits);
  assert.equal(u.header.seq, 7);
  assert.equal(u.payload, payload);
});

Deno.test("parseUpdate rejects bad input with a reason and a clear message", () => {
  assert.throws(
    () => parseUpdate([new Uint8Array(1)], limits),
    /bad message: frame_count: expected 3 frames \[topic, header, payload\], got 1/,
  );
  const h = encodeHeader(header);
  const t = te.encode("a/b");
  const p = new Uint8Array(10);
  assert.equal(reason(() => parseUpdate([t, h], limits)), "frame_count");
  assert.equal(reason(() => parseUpdate([t, h, p, p], limits)), "frame_count");
  assert.equal(reason(() => parseUpdate([new Uint8Array(), h, p], limits)), "bad_topic");
  assert.equal(
    reason(() => parseUpdate([new Uint8Array(MAX_TOPIC_BYTES + 1), h, p], limits)),
    "bad_topic",
  );
  assert.equal(reason(() => parseUpdate([t, h, new Uint8Array(1001)], limits)), "oversize");
  assert.equal(
    reason(() => parseUpdate([t, new Uint8Array(MAX_HEADER_BYTES + 1), p], limits)),
    "oversize",
  );
  assert.equal(reason(() => parseUpdate([t, te.encode("garbage\xc1"), p], limits)), "bad_header");
  assert.equal(reason(() => parseUpdate([t, new Uint8Array(), p], limits)), "bad_header");
  assert.equal(reason(() => parseUpdate([t, encode({ seq: "x" }), p], limits)), "bad_header");
  assert.equal(
    reason(() => parseUpdate([t, encode({ ...header, seq: 1.5 }), p], limits)),
    "bad_header",
  );
  assert.equal(
    reason(() => parseUpdate([t, encode({ ...header, seq: -1 }), p], limits)),
    "bad_header",
  );
});

Deno.test("subscription frames parse and build", () => {
  assert.deepEqual(parseSubscription([subscriptionFrame(true, te.encode("a/"))]), {
    subscribe: true,
    prefix: te.encode("a/"),
  });
  assert.deepEqual(parseSubscription([new Uint8Array([0])]), {
    subscribe: false,
    prefix: new Uint8Array(),
  });
  assert.equal(reason(() => parseSubscription([new Uint8Array([2, 65])])), "bad_subscription");
  assert.equal(reason(() => parseSubscription([new Uint8Array()])), "bad_subscription");
  assert.equal(
    reason(() => parseSubscription([new Uint8Array([1]), new Uint8Array()])),
    "frame_count",
  );
});

Deno.test("reading payload round-trips any bytes and detects corruption", () => {
  const blob = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff);
  const payload = encodeReading(-12.75, blob);
  const r = decodeReading(payload);
  assert.equal(r.value, -12.75);
  assert.deepEqual(r.blob, blob);
  payload[100] ^= 0x01;
  assert.equal(reason(() => decodeReading(payload)), "checksum");
  assert.equal(reason(() => decodeReading(new Uint8Array(11))), "bad_payload");
  // A payload that is a view into a bigger buffer decodes too.
  const big = new Uint8Array(50);
  const inner = encodeReading(3, new Uint8Array(4));
  big.set(inner, 20);
  assert.equal(decodeReading(big.subarray(20, 20 + inner.length)).value, 3);
});
