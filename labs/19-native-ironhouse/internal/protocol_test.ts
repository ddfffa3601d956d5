import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodeReading, encodeReading, type Reading } from "./protocol.ts";

const reading: Reading = { seq: 3, boot: "b1", ts: 1, sensor: "t2", value: -4.25, label: "x" };

Deno.test("a reading round-trips as [reading.<sensor>, msgpack]", () => {
  const frames = encodeReading(reading);
  assert.equal(new TextDecoder().decode(frames[0]), "reading.t2");
  assert.deepEqual(decodeReading(frames), reading);
});

Deno.test("malformed readings are refused with a reason", () => {
  const topic = new TextEncoder().encode("reading.t2");
  assert.throws(() => decodeReading([topic]), BadMessageError);
  assert.throws(() => decodeReading([topic, new Uint8Array([0xc1])]), BadMessageError);
  assert.throws(() => decodeReading([topic, encode({ ...reading, seq: 0 })]), BadMessageError);
  assert.throws(() => decodeReading([topic, encode({ ...reading, extra: 1 })]), BadMessageError);
  assert.throws(
    () => decodeReading([new TextEncoder().encode("reading.t9"), encode(reading)]),
    /another sensor/,
  );
});
