import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodePing, decodeReply, encodePing, encodePong, encodeRefusal } from "./protocol.ts";

Deno.test("a ping and its pong round-trip", () => {
  assert.deepEqual(decodePing([encodePing(42)]), { kind: "ping", seq: 42 });
  assert.deepEqual(decodeReply([encodePong(42, "dht_node")]), {
    kind: "pong",
    seq: 42,
    role: "dht_node",
  });
  assert.deepEqual(decodeReply([encodeRefusal("why")]), { kind: "error", reason: "why" });
});

Deno.test("malformed requests throw BadMessageError saying what was wrong", () => {
  const cases: [string, Uint8Array[]][] = [
    ["not msgpack", [new Uint8Array([0xc1])]],
    ["wrong kind", [encode({ kind: "pong", seq: 1 })]],
    ["negative seq", [encode({ kind: "ping", seq: -1 })]],
    ["extra key", [encode({ kind: "ping", seq: 1, x: 1 })]],
    ["two frames", [encodePing(1), encodePing(2)]],
  ];
  for (const [name, frames] of cases) {
    assert.throws(() => decodePing(frames), BadMessageError, name);
  }
});
