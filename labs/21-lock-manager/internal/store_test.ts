import assert from "node:assert/strict";
import { tempDir } from "@lib/testing/mod.ts";
import { SqliteLockStore } from "./store.ts";

Deno.test("the SQLite store keeps tokens, sessions and holders across a reopen", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/locks.db`;
  const first = new SqliteLockStore(path);
  first.openSession("s1");
  first.openSession("s2");
  first.grant({ lock: "a", session: "s1", token: 5, mode: "exclusive" });
  first.grant({ lock: "b", session: "s2", token: 2, mode: "shared" });
  first.release("b", "s2");
  first.grant({ lock: "a", session: "s1", token: 3, mode: "exclusive" }); // never lowers a token
  first.closeSession("s2");
  first.close();
  const second = new SqliteLockStore(path);
  assert.equal(second.lastToken("a"), 5);
  assert.equal(second.lastToken("b"), 2, "a released lock keeps its last token");
  assert.equal(second.lastToken("never"), 0);
  const { sessions, holders } = second.load();
  assert.deepEqual(sessions, ["s1"]);
  assert.deepEqual(holders, [{ lock: "a", session: "s1", token: 3, mode: "exclusive" }]);
  second.closeSession("s1");
  assert.deepEqual(second.load(), { sessions: [], holders: [] });
  second.close();
});
