import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  checkSubtree,
  decodeIcanhaz,
  decodeKv,
  decodeProperties,
  decodeSequence,
  encodeHugz,
  encodeIcanhaz,
  encodeKthxbai,
  encodeKv,
  encodeProperties,
  encodeSequence,
  newUuid,
  ttlSeconds,
} from "./protocol.ts";

const te = new TextEncoder();
const td = new TextDecoder();

Deno.test("sequence: 8 bytes network order, both ways, up to 2^53-1", () => {
  assert.deepEqual([...encodeSequence(0x0102)], [0, 0, 0, 0, 0, 0, 1, 2]);
  assert.equal(decodeSequence(encodeSequence(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.throws(() => decodeSequence(new Uint8Array(7)), BadMessageError);
  // A negative from a signed writer ('!q') or anything above 2^53-1 is refused.
  assert.throws(() => decodeSequence(new Uint8Array(8).fill(0xff)), BadMessageError);
  assert.throws(() => encodeSequence(-1), RangeError);
});

Deno.test("properties: name=value lines; value may hold '='; malformed lines refused", () => {
  const props = new Map([["ttl", "30"], ["note", "a=b"]]);
  const frame = encodeProperties(props);
  assert.equal(td.decode(frame), "ttl=30\nnote=a=b\n");
  assert.deepEqual(decodeProperties(frame), props);
  assert.deepEqual(decodeProperties(te.encode("ttl=5")), new Map([["ttl", "5"]]));
  assert.equal(decodeProperties(new Uint8Array()).size, 0);
  assert.throws(() => decodeProperties(te.encode("novalue\n")), BadMessageError);
  assert.throws(() => decodeProperties(te.encode("=x\n")), BadMessageError);
});

Deno.test("kvmsg: five frames round trip, the RFC's frame order", () => {
  const uuid = newUuid();
  const msg = {
    key: "/acl/dmz/web",
    sequence: 42,
    uuid,
    properties: new Map([["ttl", "10"]]),
    body: te.encode("deny any from any to any"),
  };
  const frames = encodeKv(msg);
  assert.equal(frames.length, 5);
  assert.equal(td.decode(frames[0]), "/acl/dmz/web");
  assert.deepEqual([...frames[1]], [0, 0, 0, 0, 0, 0, 0, 42]);
  assert.equal(frames[2], uuid);
  assert.equal(td.decode(frames[3]), "ttl=10\n");
  assert.deepEqual(decodeKv(frames), msg);
  assert.equal(uuid[6] >> 4, 4, "a version 4 uuid");
});

Deno.test("kvmsg: malformed messages throw BadMessageError", () => {
  const good = encodeKv({
    key: "k",
    sequence: 1,
    uuid: new Uint8Array(),
    properties: new Map(),
    body: new Uint8Array(),
  });
  assert.throws(() => decodeKv(good.slice(0, 4)), /expected 5 frames, got 4/);
  assert.throws(() => decodeKv([...good, new Uint8Array()]), /expected 5 frames, got 6/);
  assert.throws(() => decodeKv([good[0], new Uint8Array(4), ...good.slice(2)]), /sequence/);
  assert.throws(() => decodeKv([good[0], good[1], new Uint8Array(5), good[3], good[4]]), /uuid/);
  assert.throws(() => decodeKv([new Uint8Array([0xff, 0xfe]), ...good.slice(1)]), /UTF-8/);
  assert.throws(() => decodeKv([new Uint8Array(300).fill(65), ...good.slice(1)]), /at most 255/);
});

Deno.test("ICANHAZ?, KTHXBAI and HUGZ have the RFC's shapes", () => {
  assert.deepEqual(encodeIcanhaz("/acl/dmz/").map((f) => td.decode(f)), ["ICANHAZ?", "/acl/dmz/"]);
  assert.equal(decodeIcanhaz(encodeIcanhaz("")), "");
  assert.equal(decodeIcanhaz(encodeIcanhaz("/acl/")), "/acl/");
  assert.throws(() => decodeIcanhaz([te.encode("ICANHAZ?")]), BadMessageError);
  assert.throws(() => decodeIcanhaz([te.encode("GIMME"), te.encode("")]), BadMessageError);
  assert.throws(() => decodeIcanhaz([te.encode("ICANHAZ?"), te.encode("acl")]), BadMessageError);
  const end = decodeKv(encodeKthxbai(99, "/acl/"));
  assert.equal(end.key, "KTHXBAI");
  assert.equal(end.sequence, 99);
  assert.equal(end.uuid.length, 0);
  assert.equal(end.properties.size, 0);
  assert.equal(td.decode(end.body), "/acl/");
  const hugz = encodeHugz(0);
  assert.deepEqual(hugz.map((f) => f.length), [4, 8, 0, 0, 0]);
  assert.deepEqual([...hugz[1]], [0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("subtree: empty, or /segments/ ending in a slash", () => {
  assert.equal(checkSubtree("/acl/dmz/"), "/acl/dmz/");
  for (const bad of ["/acl", "acl/", "//", "/acl//x/"]) assert.throws(() => checkSubtree(bad));
});

Deno.test("ttl property: whole seconds; 0 means none; junk refused", () => {
  assert.equal(ttlSeconds(new Map([["ttl", "30"]])), 30);
  assert.equal(ttlSeconds(new Map([["ttl", "0"]])), undefined);
  assert.equal(ttlSeconds(new Map()), undefined);
  assert.throws(() => ttlSeconds(new Map([["ttl", "1.5"]])), BadMessageError);
  assert.throws(() => ttlSeconds(new Map([["ttl", "-3"]])), BadMessageError);
});
