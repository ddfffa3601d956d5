import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeClientReply,
  decodeClientRequest,
  decodePeerFrames,
  encodePeerFrames,
  type RaftMessage,
} from "./protocol.ts";

const append: RaftMessage = {
  type: "append",
  from: "n1",
  to: "n2",
  term: 3,
  prevLogIndex: 4,
  prevLogTerm: 2,
  entries: [{
    index: 5,
    term: 3,
    command: { op: "put", key: "k", value: "v", client: "c", seq: 1 },
  }],
  leaderCommit: 4,
  readSeq: 7,
  clientEndpoint: "tcp://127.0.0.1:5574",
};

Deno.test("peer frames: the addressee's id is the topic; round trip", () => {
  const frames = encodePeerFrames(append);
  assert.equal(new TextDecoder().decode(frames[0]), "n2");
  assert.deepEqual(decodePeerFrames(frames, "n2"), append);
});

Deno.test("peer frames: wrong topic (also a prefix match), wrong to, bad body → BadMessageError", () => {
  const [, body] = encodePeerFrames(append);
  const enc = new TextEncoder();
  const cases: [string, Uint8Array[], string][] = [
    ["prefix topic n2 for n20", [enc.encode("n2"), body], "n20"],
    ["topic of another node", [enc.encode("n3"), body], "n3"],
    ["one frame", [body], "n2"],
    ["not msgpack", [enc.encode("n2"), new Uint8Array([0xc1])], "n2"],
    ["unknown type", [enc.encode("n2"), encode({ ...append, type: "gossip" })], "n2"],
    ["extra key", [enc.encode("n2"), encode({ ...append, x: 1 })], "n2"],
    ["negative term", [enc.encode("n2"), encode({ ...append, term: -1 })], "n2"],
  ];
  for (const [name, frames, self] of cases) {
    assert.throws(() => decodePeerFrames(frames, self), BadMessageError, name);
  }
});

Deno.test("client requests and replies are schema-checked", () => {
  assert.equal(decodeClientRequest([encode({ kind: "get", rid: "r", key: "x" })]).kind, "get");
  assert.throws(
    () => decodeClientRequest([encode({ kind: "put", rid: "r", key: "x" })]),
    BadMessageError,
  );
  assert.throws(
    () => decodeClientRequest([encode({ kind: "get", rid: "r", key: "" })]),
    BadMessageError,
  );
  assert.equal(
    decodeClientReply([encode({ kind: "redirect", rid: "r", leader: null, endpoint: null })]).kind,
    "redirect",
  );
});
