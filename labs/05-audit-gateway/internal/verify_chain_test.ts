import assert from "node:assert/strict";
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
