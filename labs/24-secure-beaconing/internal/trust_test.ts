import assert from "node:assert/strict";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { fingerprint } from "@lib/zmq/zcert.ts";
import { tableMarkdown, validateTable } from "@lib/patterns/fsm.ts";
import { formatKnownDevices, parseKnownDevices, TRUST_TABLE, TrustBook } from "./trust.ts";

const U1 = "11".repeat(16);
const U2 = "22".repeat(16);
const K1 = curveKeyPair().publicKey;
const K2 = curveKeyPair().publicKey;

Deno.test("pinned keys: trusted, with or without an announcement; a different one is refused", () => {
  const book = new TrustBook({ tofu: false });
  book.setPinned(new Map([[U1.toLowerCase(), K1]]));
  assert.deepEqual(book.assess(U1), { state: "trusted", key: K1 });
  assert.deepEqual(book.assess(U1, K1), { state: "trusted", key: K1 });
  assert.deepEqual(book.assess(U1, K2), {
    state: "key_changed",
    expected: fingerprint(K1),
    announced: fingerprint(K2),
  });
  // sticky: even the right key does not undo it
  assert.equal(book.assess(U1, K1).state, "key_changed");
  assert.equal(book.assess(U2, K2).state, "untrusted"); // TOFU off
});

Deno.test("TOFU: first key learned and marked; a changed key is refused for good", () => {
  const book = new TrustBook({ tofu: true, now: () => "T0" });
  assert.equal(book.assess(U1).state, "untrusted"); // nothing announced yet
  assert.deepEqual(book.assess(U1, K1), { state: "tofu", key: K1, learned: true });
  assert.deepEqual(book.assess(U1, K1), { state: "tofu", key: K1 });
  assert.deepEqual(book.known().get(U1), { publicKey: K1, firstSeen: "T0" });
  assert.equal(book.assess(U1, K2).state, "key_changed");
  assert.equal(book.assess(U1).state, "key_changed");
  assert.equal(book.known().get(U1)?.publicKey, K1, "the record is not replaced");
});

Deno.test("TOFU: a pinned key wins over a learned one; maxKnown bounds learning", () => {
  const book = new TrustBook({
    tofu: true,
    known: new Map([[U1, { publicKey: K1, firstSeen: "T" }]]),
    maxKnown: 1,
  });
  assert.equal(book.assess(U1, K1).state, "tofu");
  assert.equal(book.assess(U2, K2).state, "untrusted", "table full: nothing learned");
  book.setPinned(new Map([[U1, K1]]));
  assert.equal(book.assess(U1, K1).state, "trusted");
});

Deno.test("known devices file round trip; a bad line names its number only", () => {
  const known = new Map([[U2, { publicKey: K2, firstSeen: "2026-12-02T13:00:00.000Z" }], [
    U1,
    { publicKey: K1, firstSeen: "2026-12-02T13:00:01.000Z" },
  ]]);
  const text = formatKnownDevices(known);
  assert.ok(text.startsWith(U1));
  assert.deepEqual(parseKnownDevices(text + "\n"), new Map([...known].reverse()));
  assert.throws(() => parseKnownDevices(`${U1} secretstuff\n`), (e: Error) => {
    assert.match(e.message, /line 1/);
    assert.ok(!e.message.includes("secretstuff"));
    return true;
  });
});

Deno.test("the trust table is complete and key_changed is a sink", () => {
  validateTable(TRUST_TABLE); // throws on a bad table
  for (const event of TRUST_TABLE.events) {
    const cell = TRUST_TABLE.cells.key_changed![event]!;
    assert.equal((Array.isArray(cell) ? cell[0] : cell).next, "key_changed");
  }
  assert.match(tableMarkdown(TRUST_TABLE), /key_changed/);
});
