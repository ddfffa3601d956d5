import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodeReply, decodeRequest, encodeMessage, MAX_VALUE, oneFrame } from "./protocol.ts";

const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e) => e instanceof BadMessageError && pattern.test(e.reason));

Deno.test("requests and replies round-trip", () => {
  const put = {
    kind: "put" as const,
    id: 3,
    key: "k",
    value: new Uint8Array([1, 2]),
    consistency: "quorum" as const,
  };
  const back = decodeRequest(encodeMessage(put));
  assert.equal(back.kind, "put");
  assert.deepEqual(back.kind === "put" && [...back.value!], [1, 2]);
  assert.equal(back.kind === "put" && back.key, "k");
  const del = { ...put, value: null };
  assert.deepEqual(decodeRequest(encodeMessage(del)), del);
  const ok = { kind: "put_ok" as const, id: 3, wall: 5, counter: 0, node: "a", acks: 2 };
  assert.deepEqual(decodeReply(encodeMessage(ok)), ok);
});

Deno.test("malformed requests are BadMessageError with a reason", () => {
  refused(() => decodeRequest(new TextEncoder().encode("garbage")), /./);
  refused(() => decodeRequest(encode({ kind: "nope", id: 1 })), /kind: expected one of/);
  refused(() => decodeRequest(encode({ kind: "ring", id: 1, extra: true })), /only keys/);
  refused(
    () => decodeRequest(encode({ kind: "get", id: 1, key: "", consistency: "quorum" })),
    /key/,
  );
  refused(
    () =>
      decodeRequest(
        encode({
          kind: "put",
          id: 1,
          key: "k",
          value: new Uint8Array(MAX_VALUE + 1),
          consistency: "one",
        }),
      ),
    /value/,
  );
  refused(() => decodeReply(encode({ kind: "put", id: 1 })), /kind/);
  refused(() => oneFrame([new Uint8Array(1), new Uint8Array(1)]), /expected 1 frame/);
});
