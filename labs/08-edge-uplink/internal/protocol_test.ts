import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { encodeAck, encodeBatch, parseMessage } from "./protocol.ts";

const enc = new TextEncoder();

Deno.test("protocol: 6/PPP control frames, batches and acks round-trip", () => {
  assert.deepEqual(parseMessage([new Uint8Array([1])]), { kind: "ready" });
  assert.deepEqual(parseMessage([new Uint8Array([2])]), { kind: "heartbeat" });
  const batch = { device: "d", epoch: "e", floor: 1, readings: [{ seq: 1, t: 2, v: 3.5 }] };
  assert.deepEqual(parseMessage(encodeBatch(batch)), { kind: "batch", batch });
  const ack = { device: "d", epoch: "e", upto: -1, status: "rewind" as const };
  assert.deepEqual(parseMessage(encodeAck(ack)), { kind: "ack", ack });
});

Deno.test("protocol: anything else is a BadMessageError", () => {
  const bad: Uint8Array[][] = [
    [],
    [new Uint8Array([3])],
    [enc.encode("READY")],
    [enc.encode("BATCH"), enc.encode("junk")],
    [enc.encode("BATCH"), encode({ device: "d", epoch: "e", floor: 0, readings: [] })],
    [
      enc.encode("BATCH"),
      encode({
        device: "d",
        epoch: "e",
        floor: 0,
        readings: [{ seq: 2, t: 0, v: 0 }, { seq: 1, t: 0, v: 0 }],
      }),
    ],
    [
      enc.encode("BATCH"),
      encode({ device: "d", epoch: "e", floor: 5, readings: [{ seq: 2, t: 0, v: 0 }] }),
    ],
    [enc.encode("ACK"), encode({ device: "d", epoch: "e", upto: 0, status: "maybe" })],
    [enc.encode("NOPE"), enc.encode("x")],
  ];
  for (const frames of bad) assert.throws(() => parseMessage(frames), BadMessageError);
});
