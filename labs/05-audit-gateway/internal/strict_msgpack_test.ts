import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { checkStrictMsgpack, MAX_DEPTH } from "./strict_msgpack.ts";

const te = new TextEncoder();
const str = (s: string) => {
  const bytes = te.encode(s);
  return [0xa0 | bytes.length, ...bytes];
};

Deno.test("strict msgpack: what an encoder writes for plain JSON passes, with the top-level id", () => {
  const values = [
    { id: "r1", record: { a: [1, -1, 1.5, 2 ** 40, -(2 ** 40), null, true, false, "é€😀"] } },
    { record: "x".repeat(70_000), id: "later" },
    [1, 2, { k: "v" }],
    "plain",
  ];
  for (const value of values) assert.equal(checkStrictMsgpack(encode(value)).reason, undefined);
  assert.equal(checkStrictMsgpack(encode(values[0])).id, "r1");
  assert.equal(checkStrictMsgpack(encode(values[1])).id, "later");
  assert.equal(checkStrictMsgpack(encode({ record: { id: "nested" } })).id, undefined);
});

Deno.test("strict msgpack refuses invalid UTF-8 (issue 9 #7) and still names the id lossily", () => {
  const a = checkStrictMsgpack(new Uint8Array([0x81, ...str("id"), 0xa4, 0x78, 0xed, 0xa0, 0x80]));
  assert.match(a.reason!, /string at offset \d+ is not valid UTF-8/);
  assert.equal(a.id, "x\uFFFD\uFFFD\uFFFD");
  const key = checkStrictMsgpack(new Uint8Array([0x81, 0xa1, 0xff, 0x01]));
  assert.match(key.reason!, /not valid UTF-8/);
});

Deno.test("strict msgpack refuses __proto__, repeated and non-string keys (issue 9 #16)", () => {
  assert.match(
    checkStrictMsgpack(new Uint8Array([0x81, ...str("__proto__"), 0x01])).reason!,
    /"__proto__" is not allowed/,
  );
  assert.match(
    checkStrictMsgpack(new Uint8Array([0x82, ...str("a"), 0x01, ...str("a"), 0x02])).reason!,
    /map key "a" repeated at offset 4/,
  );
  assert.match(
    checkStrictMsgpack(new Uint8Array([0x81, 0x01, 0x02])).reason!,
    /expected string map keys, got byte 0x1/,
  );
});

Deno.test("strict msgpack refuses 0xC1, truncation, length bombs, trailing bytes and deep nesting", () => {
  assert.equal(
    checkStrictMsgpack(new Uint8Array([0xc1])).reason,
    "msgpack: byte 0xc1 at offset 0 is never used",
  );
  assert.match(checkStrictMsgpack(new Uint8Array([0xa5, 0x61])).reason!, /runs past the end/);
  assert.match(
    checkStrictMsgpack(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])).reason!,
    /array of 4294967295 runs past the end/,
  );
  assert.match(checkStrictMsgpack(new Uint8Array([0x01, 0x02])).reason!, /1 trailing bytes/);
  assert.match(checkStrictMsgpack(new Uint8Array(0)).reason!, /value expected at offset 0/);
  const deep = new Uint8Array(MAX_DEPTH + 1).fill(0x91);
  assert.match(checkStrictMsgpack(new Uint8Array([...deep, 0x01])).reason!, /nesting at most 64/);
  const ok = new Uint8Array(MAX_DEPTH).fill(0x91);
  assert.equal(checkStrictMsgpack(new Uint8Array([...ok, 0x01])).reason, undefined);
  // 60k-deep nesting costs nothing: refused at depth 64.
  assert.ok(checkStrictMsgpack(new Uint8Array(60_000).fill(0x91)).reason);
});
