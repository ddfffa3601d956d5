import assert from "node:assert/strict";
import { loadState, type SavedState, saveState } from "./state_file.ts";

Deno.test("state file: round trip, missing is undefined, junk is an error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/node.json`;
    assert.equal(await loadState(path), undefined);
    const state: SavedState = {
      format: 1,
      version: 7,
      subtree: "/acl/",
      fingerprint: "12345678",
      savedAt: "2026-01-01T00:00:00.000Z",
      policies: [{ key: "/acl/a", body: "deny any from any to any" }],
    };
    await saveState(path, state);
    assert.deepEqual(await loadState(path), state);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["node.json"], "no temp left");
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(() => loadState(path), /node.json: expected a JSON state file/);
    await Deno.writeTextFile(path, JSON.stringify({ format: 2 }));
    await assert.rejects(() => loadState(path), /format 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
