import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeGuardRequest,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  reqOf,
} from "./protocol.ts";

Deno.test("requests and replies round-trip", () => {
  const acquire = {
    kind: "acquire",
    req: 3,
    session: "s",
    lock: "L",
    mode: "shared",
    wait_ms: 100,
  } as const;
  assert.deepEqual(decodeRequest([encodeRequest(acquire)]), acquire);
  const granted = { kind: "granted", req: 3, lock: "L", token: 9, mode: "shared" } as const;
  assert.deepEqual(decodeReply([encodeReply(granted)]), granted);
});

Deno.test("malformed requests throw BadMessageError", () => {
  const bad = [
    [new Uint8Array([0xc1])],
    [encode({ kind: "steal", req: 1 })],
    [encode({ kind: "acquire", req: 1, session: "s", lock: "", mode: "exclusive", wait_ms: 0 })],
    [encode({ kind: "release", req: 1, session: "s", lock: "L", token: 0 })],
    [encode({ kind: "open", req: 1, session: "x".repeat(65) })],
    [encode({ kind: "status", req: 1, extra: true })],
    [encode({ kind: "status", req: 1 }), new Uint8Array(0)],
    [],
  ];
  for (const frames of bad) assert.throws(() => decodeRequest(frames), BadMessageError);
  assert.throws(
    () => decodeGuardRequest([encode({ kind: "write", req: 1, token: 1 })]),
    BadMessageError,
  );
  assert.equal(reqOf([encode({ kind: "nope", req: 4 })]), 4);
  assert.equal(reqOf([new Uint8Array([1, 2])]), undefined);
});
