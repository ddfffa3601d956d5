import assert from "node:assert/strict";
import { ChainDamagedError, ChainStore, readCommitted } from "./chain_store.ts";
import { formatEntry, makeEntry } from "./hash_chain.ts";
import { verifyChain } from "./verify_chain.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lab05-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ChainStore appends a verifiable chain and returns the original ack for a repeat", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    await using store = await ChainStore.open(path, { now: () => 1000 });
    const acks = await store.append([
      { id: "a", record: { actor: "alice" } },
      { id: "b", record: { actor: "bob" } },
      { id: "a", record: { actor: "alice" } },
    ]);
    assert.deepEqual(acks.map((a) => [a.id, a.seq, a.duplicate]), [
      ["a", 1, false],
      ["b", 2, false],
      ["a", 1, true],
    ]);
    assert.equal(acks[2].hash, acks[0].hash);
    const [again] = await store.append([{ id: "b", record: { actor: "bob" } }]);
    assert.deepEqual(again, { ...acks[1], duplicate: true });
    const report = verifyChain(await Deno.readTextFile(path));
    assert.equal(report.ok, true);
    assert.equal(report.entries, 2);
    assert.equal(report.head, acks[1].hash);
  });
});

Deno.test("two stores on one log interleave into one chain and dedup each other's ids", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    await using one = await ChainStore.open(path);
    await using two = await ChainStore.open(path);
    const writes = [];
    for (let i = 0; i < 50; i++) {
      writes.push(one.append([{ id: `r${i}`, record: { i } }]));
      writes.push(two.append([{ id: `r${i}`, record: { i } }, { id: `s${i}`, record: { i } }]));
    }
    const acks = (await Promise.all(writes)).flat();
    const fresh = acks.filter((a) => !a.duplicate);
    assert.equal(fresh.length, 100);
    const bySeq = new Map<string, number>();
    for (const a of acks) {
      const seen = bySeq.get(a.id);
      if (seen !== undefined) assert.equal(a.seq, seen, `id ${a.id} acked with two seqs`);
      bySeq.set(a.id, a.seq);
    }
    const report = verifyChain(await Deno.readTextFile(path));
    assert.deepEqual([report.ok, report.entries], [true, 100]);
  });
});

Deno.test("a torn tail from a crashed writer is cut before the next append", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    {
      await using store = await ChainStore.open(path);
      await store.append([{ id: "a", record: 1 }]);
    }
    await Deno.writeTextFile(path, '{"seq":2,"id":"b","ts":1,"rec', { append: true });
    assert.equal(verifyChain(await Deno.readTextFile(path)).tornTail, true);
    await using store = await ChainStore.open(path);
    assert.equal(store.seq, 1);
    const [ack] = await store.append([{ id: "b", record: 2 }]);
    assert.equal(ack.seq, 2);
    const report = verifyChain(await Deno.readTextFile(path));
    assert.deepEqual([report.ok, report.entries, report.tornTail], [true, 2, false]);
  });
});

Deno.test("ChainStore refuses to append to a log that does not chain", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    {
      await using store = await ChainStore.open(path);
      await store.append([{ id: "a", record: 1 }, { id: "b", record: 2 }]);
    }
    const lines = (await Deno.readTextFile(path)).split("\n");
    await Deno.writeTextFile(path, [lines[1], lines[0], ""].join("\n"));
    await assert.rejects(() => ChainStore.open(path), /log line 1 does not chain/);
  });
});

Deno.test("the id index is on disk: a reopened store dedups an id from long ago", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    let first;
    {
      await using store = await ChainStore.open(path);
      for (let b = 0; b < 20; b++) {
        const acks = await store.append(
          Array.from({ length: 100 }, (_, i) => ({ id: `id-${b * 100 + i}`, record: i })),
        );
        first ??= acks[0];
      }
    }
    assert.ok((await Deno.stat(`${path}.idx`)).isFile, "expected the index beside the log");
    await using store = await ChainStore.open(path);
    assert.equal(store.seq, 2000);
    const [again, fresh] = await store.append([{ id: "id-0", record: 0 }, {
      id: "new",
      record: 1,
    }]);
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal(fresh.seq, 2001);
  });
});

Deno.test("lines fsynced but never indexed (writer killed in between) are indexed before the next append", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    await using store = await ChainStore.open(path);
    const [a] = await store.append([{ id: "a", record: 1 }]);
    // Another writer appended "b" and died before committing it to the index.
    const b = makeEntry(a.hash, 2, "b", 5, { late: true });
    await Deno.writeTextFile(path, formatEntry(b), { append: true });
    const acks = await store.append([{ id: "b", record: 2 }, { id: "c", record: 3 }]);
    assert.deepEqual(acks.map((x) => [x.id, x.seq, x.duplicate]), [
      ["b", 2, true],
      ["c", 3, false],
    ]);
    assert.equal(acks[0].hash, b.hash);
    const report = verifyChain(await Deno.readTextFile(path));
    assert.deepEqual([report.ok, report.entries], [true, 3]);
  });
});

Deno.test("a deleted index, or one that belongs to another log, is rebuilt from the log", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    {
      await using store = await ChainStore.open(path);
      await store.append([{ id: "a", record: 1 }, { id: "b", record: 2 }]);
    }
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("audit.log.idx")) await Deno.remove(`${dir}/${e.name}`);
    }
    {
      await using store = await ChainStore.open(path);
      const [b] = await store.append([{ id: "b", record: 2 }]);
      assert.deepEqual([b.seq, b.duplicate], [2, true]);
    }
    // Replace the log by another one (same length, other ids); the old index stays.
    const other = `${dir}/other.log`;
    {
      await using store = await ChainStore.open(other);
      await store.append([{ id: "x", record: 1 }, { id: "y", record: 2 }]);
    }
    await Deno.copyFile(other, path);
    await using store = await ChainStore.open(path);
    const acks = await store.append([{ id: "a", record: 1 }, { id: "y", record: 2 }]);
    assert.deepEqual(acks.map((x) => [x.id, x.seq, x.duplicate]), [
      ["a", 3, false],
      ["y", 2, true],
    ]);
    assert.equal(verifyChain(await Deno.readTextFile(path)).ok, true);
  });
});

Deno.test("issue 9 #6: a corrupted tail that the index says was committed is never truncated: open refuses, naming the seq", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/audit.log`;
    {
      await using store = await ChainStore.open(path);
      await store.append(Array.from({ length: 6 }, (_, i) => ({ id: `r${i + 1}`, record: i })));
    }
    const intact = await Deno.readTextFile(path);
    // The last newline becomes a space: r6 (acked, fsynced) now looks like a torn tail.
    await Deno.writeTextFile(path, intact.slice(0, -1) + " ");
    await assert.rejects(() => ChainStore.open(path), ChainDamagedError);
    try {
      await ChainStore.open(path);
    } catch (error) {
      assert.ok(error instanceof ChainDamagedError);
      assert.equal(error.seq, 6);
      assert.match(error.message, /committed record seq 6 is damaged/);
    }
    assert.equal(await Deno.readTextFile(path), intact.slice(0, -1) + " ", "the log was changed");
    // verify (with the index) fails naming seq 6; the log alone shows a whole entry cut off.
    const committed = readCommitted(`${path}.idx`);
    assert.deepEqual(committed?.seq, 6);
    const report = verifyChain(await Deno.readTextFile(path), committed);
    assert.equal(report.ok, false);
    assert.equal(report.fault?.seq, 6);
    assert.equal(verifyChain(await Deno.readTextFile(path)).fault?.seq, 6);
    // A deleted committed line, or a truncated log, is refused the same way.
    const lines = intact.split("\n");
    await Deno.writeTextFile(path, [...lines.slice(0, 2), ...lines.slice(3)].join("\n"));
    await assert.rejects(() => ChainStore.open(path), /seq 3 is damaged/);
    await Deno.writeTextFile(path, lines.slice(0, 4).join("\n") + "\n");
    await assert.rejects(() => ChainStore.open(path), /seq 5 is damaged.*the log ends after seq 4/);
    await Deno.writeTextFile(path, "");
    await assert.rejects(() => ChainStore.open(path), /seq 1 is damaged.*the log is empty/);
    // Restored, it opens again.
    await Deno.writeTextFile(path, intact);
    await using store = await ChainStore.open(path);
    assert.equal(store.seq, 6);
  });
});
