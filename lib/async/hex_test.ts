import assert from "node:assert/strict";
import { fromHex, toHex } from "./hex.ts";

Deno.test("toHex and fromHex round-trip every byte", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(fromHex(toHex(all)), all);
  assert.equal(toHex(new Uint8Array([1, 2, 3]), 2), "0102…");
  assert.equal(toHex(new Uint8Array(0)), "");
});

Deno.test("fromHex says what it expected", () => {
  assert.throws(() => fromHex("abc"), /expected an even number of hex digits, got "abc"/);
  assert.throws(() => fromHex("zz"), /got "zz"/);
});
