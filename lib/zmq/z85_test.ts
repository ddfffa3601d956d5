import assert from "node:assert/strict";
import { libzmq } from "./context.ts";
import { curveKeyPair, Z85_ALPHABET, z85Decode, z85Encode } from "./curve.ts";
import { cstr } from "./ffi.ts";
import { seededRandom } from "@lib/random/mod.ts";

Deno.test("Z85: the RFC 32 test vector, both ways", () => {
  const bytes = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), "HelloWorld");
  assert.deepEqual(z85Decode("HelloWorld"), bytes);
  assert.equal(z85Encode(new Uint8Array(0)), "");
  assert.deepEqual(z85Decode(""), new Uint8Array(0));
});

Deno.test("Z85: the alphabet is RFC 32's, 85 distinct characters in value order", () => {
  assert.equal(Z85_ALPHABET.length, 85);
  assert.equal(new Set(Z85_ALPHABET).size, 85);
  assert.equal(z85Encode(new Uint8Array([0, 0, 0, 0])), "00000");
  assert.equal(z85Encode(new Uint8Array([0, 0, 0, 84])), "0000#");
  assert.equal(z85Encode(new Uint8Array([0xff, 0xff, 0xff, 0xff])), "%nSc0");
});

Deno.test("Z85: lengths not a multiple of 4 / 5 are refused with a clear error", () => {
  for (const n of [1, 2, 3, 5, 31, 33]) {
    assert.throws(
      () => z85Encode(new Uint8Array(n)),
      new RegExp(`multiples of 4 bytes, got ${n} bytes`),
    );
  }
  for (const n of [1, 4, 6, 39, 41]) {
    assert.throws(
      () => z85Decode("a".repeat(n)),
      new RegExp(`multiples of 5 characters, got ${n} characters`),
    );
  }
});

Deno.test("Z85: a decoding error never quotes the input (it is often a secret key)", () => {
  const secret = curveKeyPair().secretKey;
  for (
    const bad of [
      secret.slice(0, 39), // wrong length
      secret.slice(0, 39) + "~", // outside the alphabet
      secret.slice(0, 39) + "é", // non-ASCII
      secret.slice(0, 35) + "%nSc1", // group above 2^32 - 1
      secret.slice(0, 39) + '"',
    ]
  ) {
    let error: Error | undefined;
    try {
      z85Decode(bad);
    } catch (e) {
      error = e as Error;
    }
    assert.ok(error instanceof TypeError, `refused: ${bad.length}`);
    assert.ok(!error.message.includes(secret.slice(0, 10)), error.message);
    assert.ok(!error.message.includes(bad), error.message);
  }
  assert.throws(() => z85Decode("0000~"), /character 5 is not in the Z85 alphabet/);
  assert.throws(() => z85Decode("00000%nSc1"), /group at character 6 exceeds 32 bits/);
});

Deno.test("Z85: agrees with libzmq's zmq_z85_encode/zmq_z85_decode on random data", () => {
  const random = seededRandom(32);
  const lib = libzmq().symbols;
  for (let round = 0; round < 200; round++) {
    const bytes = new Uint8Array(4 * (1 + Math.floor(random() * 16)));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    const text = z85Encode(bytes);
    const out = new Uint8Array(text.length + 1);
    assert.notEqual(lib.zmq_z85_encode(out, bytes, BigInt(bytes.length)), null);
    assert.equal(new TextDecoder().decode(out.subarray(0, text.length)), text);
    const back = new Uint8Array(bytes.length);
    assert.notEqual(lib.zmq_z85_decode(back, cstr(text)), null);
    assert.deepEqual(back, bytes);
    assert.deepEqual(z85Decode(text), bytes);
  }
});
