import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodeFrames, encodeFrames, helloTopic, parseSubscription } from "./protocol.ts";

const te = new TextEncoder();

Deno.test("messages round-trip as [inbox topic, msgpack body]", () => {
  const ping = {
    t: "ping" as const,
    from: "a",
    seq: 1,
    g: [{ k: "alive" as const, id: "b", inc: 2, ep: "tcp://127.0.0.1:1" }],
  };
  const frames = encodeFrames("me", ping);
  assert.equal(new TextDecoder().decode(frames[0]), "me:");
  assert.deepEqual(decodeFrames(frames, "me"), ping);
});

Deno.test("malformed frames throw BadMessageError saying what was wrong", () => {
  const body = (v: unknown) => [te.encode("me:"), encode(v)];
  const cases: [string, Uint8Array[]][] = [
    ["one frame", [te.encode("me:")]],
    ["other inbox", [te.encode("you:"), encode({ t: "nack", from: "a", seq: 1 })]],
    ["not msgpack", [te.encode("me:"), new Uint8Array([0xc1])]],
    ["unknown type", body({ t: "hello", from: "a" })],
    ["negative seq", body({ t: "ping", from: "a", seq: -1, g: [] })],
    ["extra key", body({ t: "nack", from: "a", seq: 1, x: 1 })],
    ["bad from", body({ t: "nack", from: "a b", seq: 1 })],
    [
      "bad gossip id",
      body({ t: "gossip", from: "a", g: [{ k: "dead", id: "x y", inc: 0, from: "a" }] }),
    ],
    [
      "bad endpoint",
      body({ t: "gossip", from: "a", g: [{ k: "alive", id: "x", inc: 0, ep: "http://x" }] }),
    ],
    [
      "bad state",
      body({
        t: "sync",
        from: "a",
        reply: true,
        members: [{ id: "x", ep: "tcp://h:1", inc: 0, st: "zombie" }],
        kv: [],
      }),
    ],
  ];
  for (const [name, frames] of cases) {
    assert.throws(() => decodeFrames(frames, "me"), BadMessageError, name);
  }
});

Deno.test("subscriptions: an inbox, a hello, or a bad_message", () => {
  const sub = (b: number, text: string) => new Uint8Array([b, ...te.encode(text)]);
  assert.deepEqual(parseSubscription(sub(1, "n1:")), { kind: "inbox", subscribe: true, id: "n1" });
  assert.deepEqual(parseSubscription(sub(0, "n1:")), { kind: "inbox", subscribe: false, id: "n1" });
  assert.deepEqual(
    parseSubscription(new Uint8Array([1, ...helloTopic("n2", "tcp://10.0.0.1:5")])),
    {
      kind: "hello",
      subscribe: true,
      id: "n2",
      endpoint: "tcp://10.0.0.1:5",
    },
  );
  for (
    const bad of [
      sub(1, "garbage"),
      sub(1, "@n2"),
      sub(1, "@n2 udp://x"),
      sub(2, "n1:"),
      new Uint8Array([1]),
    ]
  ) {
    assert.throws(() => parseSubscription(bad), BadMessageError);
  }
});
