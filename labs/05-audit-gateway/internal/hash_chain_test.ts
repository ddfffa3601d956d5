import assert from "node:assert/strict";
import { entryHash, formatEntry, GENESIS_HASH, makeEntry, parseEntry } from "./hash_chain.ts";
import { toHex } from "@lib/async/mod.ts";

async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return toHex(digest);
}

Deno.test("entryHash is sha256(prev_hash bytes || canonical {id, record, seq, ts})", async () => {
  const record = { b: [1, "x"], a: true };
  const expected = await sha256Hex(
    new Uint8Array(32),
    new TextEncoder().encode('{"id":"r1","record":{"a":true,"b":[1,"x"]},"seq":1,"ts":5}'),
  );
  assert.equal(entryHash(GENESIS_HASH, { seq: 1, id: "r1", ts: 5, record }), expected);
  // The previous hash is part of the input.
  const other = "f".repeat(64);
  assert.notEqual(entryHash(other, { seq: 1, id: "r1", ts: 5, record }), expected);
});

Deno.test("formatEntry writes one line in a fixed key order that parseEntry reads back", () => {
  const entry = makeEntry(GENESIS_HASH, 1, "r1", 5, { z: 1, a: 2 });
  const line = formatEntry(entry);
  assert.ok(line.startsWith('{"seq":1,"id":"r1","ts":5,"record":{"a":2,"z":1},"prev_hash":"'));
  assert.ok(line.endsWith(`"hash":"${entry.hash}"}\n`));
  assert.deepEqual(parseEntry(line.trimEnd()), { ...entry, record: { a: 2, z: 1 } });
});

Deno.test("parseEntry says what it expected", () => {
  assert.throws(() => parseEntry("[1]"), /expected a JSON object, got array/);
  assert.throws(() => parseEntry('{"seq":0}'), /seq to be an integer >= 1, got 0/);
  assert.throws(
    () => parseEntry('{"seq":1,"id":"a","ts":1,"record":null,"prev_hash":"00","hash":"x"}'),
    /prev_hash to be 64 hex characters, got "00"/,
  );
});
