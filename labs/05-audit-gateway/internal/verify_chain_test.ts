import assert from "node:assert/strict";
import type { JsonValue } from "./canonical_json.ts";
import { formatEntry, GENESIS_HASH, makeEntry } from "./hash_chain.ts";
import { verifyChain, verifyChainFile } from "./verify_chain.ts";

function chain(n: number): string[] {
  const lines: string[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const entry = makeEntry(prev, seq, `id-${seq}`, 1000 + seq, { actor: "alice", n: seq });
    prev = entry.hash;
    lines.push(formatEntry(entry));
  }
  return lines;
}

Deno.test("verifyChain accepts an intact log and an empty one", () => {
  const report = verifyChain(chain(5).join(""));
  assert.deepEqual([report.ok, report.entries, report.tornTail], [true, 5, false]);
  assert.deepEqual(verifyChain(""), { ok: true, entries: 0, head: GENESIS_HASH, tornTail: false });
});

Deno.test("verifyChain reports the first bad line for a flipped byte", () => {
  const lines = chain(5);
  lines[2] = lines[2].replace('"alice"', '"alicf"');
  const report = verifyChain(lines.join(""));
  assert.equal(report.ok, false);
  assert.equal(report.fault?.seq, 3);
  assert.match(report.fault!.reason, /hash mismatch/);
  assert.equal(report.entries, 2);
});

Deno.test("verifyChain catches a deleted line, a reordering and a duplicate id", () => {
  const lines = chain(5);
  const deleted = verifyChain([...lines.slice(0, 1), ...lines.slice(2)].join(""));
  assert.equal(deleted.fault?.seq, 2);
  assert.match(deleted.fault!.reason, /seq out of order: expected 2, got 3/);
  const swapped = verifyChain([lines[0], lines[2], lines[1], ...lines.slice(3)].join(""));
  assert.equal(swapped.fault?.seq, 2);
  const garbage = verifyChain([lines[0], "not json\n"].join(""));
  assert.match(garbage.fault!.reason, /unparseable/);
  // A forged duplicate that is correctly chained is still a fault.
  const first = makeEntry(GENESIS_HASH, 1, "x", 1, {});
  const dup = makeEntry(first.hash, 2, "x", 2, {});
  assert.match(verifyChain(formatEntry(first) + formatEntry(dup)).fault!.reason, /duplicate id/);
});

Deno.test("verifyChain reports an unterminated last line as a torn tail, not a fault", () => {
  const report = verifyChain(chain(2).join("") + '{"seq":3,"id":"x"');
  assert.deepEqual([report.ok, report.entries, report.tornTail], [true, 2, true]);
});

Deno.test("verifyChainFile streams a file and agrees with verifyChain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lab05-verify-" });
  try {
    const lines = chain(300);
    const path = `${dir}/audit.log`;
    await Deno.writeTextFile(path, lines.join("") + '{"seq":301');
    assert.deepEqual(await verifyChainFile(path), verifyChain(await Deno.readTextFile(path)));
    lines[200] = lines[200].replace('"alice"', '"mallory"');
    await Deno.writeTextFile(path, lines.join(""));
    const report = await verifyChainFile(path);
    assert.equal(report.fault?.seq, 201);
    assert.deepEqual(report, verifyChain(lines.join("")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("issue 9 #17: verify sees mutations that keep the values (the stored bytes must be canonical)", () => {
  const lines: string[] = [];
  let prev = GENESIS_HASH;
  const records: JsonValue[] = [{ big: 1e21 }, { small: 1.5e-7 }, { ctl: "a\u001fb" }];
  records.forEach((record, i) => {
    const entry = makeEntry(prev, i + 1, `id-${i + 1}`, 1000, record);
    prev = entry.hash;
    lines.push(formatEntry(entry));
  });
  const text = lines.join("");
  assert.equal(verifyChain(text).ok, true);
  for (
    const [from, to, seq] of [
      ["1e+21", "1E+21", 1],
      ["1.5e-7", "1.5E-7", 2],
      ["\\u001f", "\\u001F", 3],
      ['"seq":2,"id"', '"seq":2, "id"', 2],
    ] as const
  ) {
    assert.ok(text.includes(from), from);
    const report = verifyChain(text.replace(from, to));
    assert.equal(report.ok, false, `${from} -> ${to} went unseen`);
    assert.equal(report.fault?.seq, seq);
    assert.match(report.fault!.reason, /not in canonical form/);
  }
});

Deno.test("issue 9 #6: a whole entry without its newline is a fault; a partial line is a torn tail", () => {
  const lines = chain(3);
  const cut = lines.join("").slice(0, -1);
  const report = verifyChain(cut + " ");
  assert.deepEqual([report.ok, report.fault?.seq], [false, 3]);
  assert.match(report.fault!.reason, /without its terminating newline/);
  assert.equal(verifyChain(cut.slice(0, -10)).ok, true);
  // With the index's word: fewer intact entries than committed fails, naming the first.
  const head = verifyChain(lines.join("")).head;
  const short = verifyChain(lines.slice(0, 2).join(""), { seq: 3, head });
  assert.deepEqual([short.ok, short.fault?.seq], [false, 3]);
  assert.match(short.fault!.reason, /index says 3 entries were committed/);
  assert.equal(verifyChain(lines.join(""), { seq: 3, head }).ok, true);
  assert.match(
    verifyChain(lines.join(""), { seq: 3, head: "0".repeat(64) }).fault!.reason,
    /differs from the committed one/,
  );
});
