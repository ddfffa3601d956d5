import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeControl,
  decodeHeader,
  encodeBye,
  encodeCredit,
  encodeHeader,
  type FrameHeader,
} from "./protocol.ts";

const header: FrameHeader = {
  stream: "abc",
  id: 7,
  pts_us: 1.7e15,
  width: 3840,
  height: 2160,
  format: "NV12",
  size: 12_441_600,
  checksum: 0xdeadbeef,
};

Deno.test("a header round-trips", () => {
  assert.deepEqual(decodeHeader(encodeHeader(header)), header);
});

Deno.test("malformed headers throw BadMessageError", () => {
  const cases: [string, Uint8Array][] = [
    ["not msgpack", new Uint8Array([0xc1])],
    ["wrong format", encode({ ...header, format: "I420" })],
    ["size not NV12", encode({ ...header, size: 100 })],
    ["odd width", encode({ ...header, width: 3841, size: 3841 * 2160 * 1.5 })],
    ["extra key", encode({ ...header, x: 1 })],
    ["negative id", encode({ ...header, id: -1 })],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => decodeHeader(bytes), BadMessageError, name);
  }
});

Deno.test("credit and bye round-trip; anything else is refused", () => {
  assert.deepEqual(decodeControl([encodeCredit(3)]), { kind: "credit", credit: 3 });
  assert.deepEqual(decodeControl([encodeBye()]), { kind: "bye" });
  assert.throws(() => decodeControl([encodeCredit(3), encodeBye()]), BadMessageError);
  assert.throws(() => decodeControl([encode({ kind: "credit", credit: 5000 })]), BadMessageError);
});
