import assert from "node:assert/strict";
import { tempDir } from "@lib/testing/mod.ts";
import { RaftStorage } from "./storage.ts";

Deno.test("storage: hard state, appends, truncation and snapshots survive a reopen", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/raft.db`;
  const put = (i: number) => ({
    op: "put" as const,
    key: `k${i}`,
    value: `${i}`,
    client: "c",
    seq: i,
  });
  let disk = new RaftStorage(path);
  disk.write([
    { kind: "hard_state", term: 2, votedFor: "n1" },
    { kind: "append", entries: [1, 2, 3, 4].map((i) => ({ index: i, term: 2, command: put(i) })) },
  ]);
  disk.write([{ kind: "append", entries: [{ index: 3, term: 3, command: { op: "noop" } }] }]); // replaces 3, drops 4
  disk.write([{ kind: "snapshot", index: 1, term: 2, data: new Uint8Array([1, 2, 3]) }]);
  disk.close();
  disk = new RaftStorage(path);
  const state = disk.load();
  assert.equal(state.term, 2);
  assert.equal(state.votedFor, "n1");
  assert.deepEqual(state.snapshot, { index: 1, term: 2, data: new Uint8Array([1, 2, 3]) });
  assert.deepEqual(state.entries.map((e) => [e.index, e.term]), [[2, 2], [3, 3]]);
  disk.write([{ kind: "truncate", from: 3 }]);
  assert.deepEqual(disk.load().entries.map((e) => e.index), [2]);
  assert.equal(disk.writes, 1); // one transaction (one fsync) per batch since the reopen
  disk.close();
});
