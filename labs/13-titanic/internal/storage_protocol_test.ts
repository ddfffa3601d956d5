import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeStorageAnswer,
  decodeStorageRequest,
  encodeStorage,
  type StorageRequest,
} from "./storage_protocol.ts";

const U = "c".repeat(32);

/** msgpackr hands back Buffers: compare plain byte arrays. */
const plain = (value: unknown): unknown =>
  value instanceof Uint8Array
    ? [...value]
    : Array.isArray(value)
    ? value.map(plain)
    : value && typeof value === "object"
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
    : value;

Deno.test("storage protocol: requests and answers round-trip", () => {
  const put: StorageRequest = {
    id: 1,
    op: "put",
    uuid: U,
    service: "echo",
    body: [Uint8Array.of(1)],
  };
  assert.deepEqual(plain(decodeStorageRequest(encodeStorage(put))), plain(put));
  const due: StorageRequest = { id: 2, op: "due", limit: 5, exclude: [U] };
  assert.deepEqual(decodeStorageRequest(encodeStorage(due)), due);
  const answer = { id: 3, ok: true, lookup: { state: "done" as const, body: [Uint8Array.of(2)] } };
  assert.deepEqual(plain(decodeStorageAnswer(encodeStorage(answer))), plain(answer));
});

Deno.test("storage protocol: malformed frames throw BadMessageError", () => {
  for (
    const bad of [
      Uint8Array.of(0xc1),
      encode({ op: "get", uuid: U }),
      encode({ id: 1, op: "get", uuid: "z".repeat(32) }),
      encode({ id: 1, op: "drop", uuid: U }),
      encode({ id: 1, op: "put", uuid: U, service: "echo", body: [] }),
    ]
  ) {
    assert.throws(() => decodeStorageRequest(bad), BadMessageError);
  }
  assert.throws(
    () => decodeStorageAnswer(encode({ id: 1, ok: true, lookup: { state: "?" } })),
    BadMessageError,
  );
});
