import assert from "node:assert/strict";
import { tempDir } from "@lib/testing/mod.ts";
import { TitanicStore } from "./store.ts";

const e = new TextEncoder();
const U1 = "a".repeat(32);
const U2 = "b".repeat(32);

Deno.test("TitanicStore: pending -> done; the first reply wins; remove is idempotent", () => {
  const store = new TitanicStore(":memory:");
  try {
    assert.equal(store.putRequest(U1, "echo", [e.encode("x")], 10), true);
    assert.equal(store.putRequest(U1, "echo", [e.encode("y")], 11), false);
    assert.deepEqual(store.lookup(U1), { state: "pending", attempts: 0 });
    assert.deepEqual(store.putReply(U1, [e.encode("first")]), [e.encode("first")]);
    assert.deepEqual(store.putReply(U1, [e.encode("second")]), [e.encode("first")]);
    assert.deepEqual(store.lookup(U1), { state: "done", body: [e.encode("first")] });
    store.remove(U1);
    store.remove(U1);
    assert.deepEqual(store.lookup(U1), { state: "unknown" });
    assert.equal(store.putReply(U1, [e.encode("late")]), undefined);
  } finally {
    store.close();
  }
});

Deno.test("TitanicStore: failures move next_at, dead letters keep the reason; due skips exclude", () => {
  const store = new TitanicStore(":memory:");
  try {
    store.putRequest(U1, "echo", [e.encode("1")], 0);
    store.putRequest(U2, "echo", [e.encode("2")], 1);
    assert.deepEqual(store.due(5, 10).map((r) => r.uuid), [U1, U2]);
    assert.deepEqual(store.due(5, 10, new Set([U1])).map((r) => r.uuid), [U2]);
    assert.equal(store.fail(U1, "offline", 100), true);
    assert.deepEqual(store.due(50, 10).map((r) => r.uuid), [U2]);
    assert.deepEqual(store.due(100, 10).map((r) => [r.uuid, r.attempts]), [[U2, 0], [U1, 1]]);
    assert.equal(store.fail(U1, "still offline", null), true);
    assert.deepEqual(store.lookup(U1), { state: "dead", attempts: 2, reason: "still offline" });
    assert.equal(store.fail(U1, "again", 5), false);
    assert.deepEqual(store.counts(), { pending: 1, done: 0, dead: 1 });
  } finally {
    store.close();
  }
});

Deno.test("TitanicStore: what was committed is there after reopening", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  const store = new TitanicStore(path);
  store.putRequest(U1, "echo", [e.encode("kept"), new Uint8Array(0)], 0);
  store.close();
  const again = new TitanicStore(path);
  try {
    assert.deepEqual(again.due(1, 1)[0].body, [e.encode("kept"), new Uint8Array(0)]);
  } finally {
    again.close();
  }
});

Deno.test("TitanicStore: a group commit makes its writes durable together; a rollback none", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  const store = new TitanicStore(path);
  store.begin();
  store.putRequest(U1, "echo", [e.encode("1")], 0);
  store.rollback();
  store.begin();
  store.putRequest(U2, "echo", [e.encode("2")], 0);
  assert.equal(store.lookup(U2).state, "pending"); // the group sees its own writes
  store.commit();
  store.commit(); // no-op outside a transaction
  store.close();
  const again = new TitanicStore(path);
  try {
    assert.deepEqual(again.lookup(U1), { state: "unknown" });
    assert.deepEqual(again.lookup(U2), { state: "pending", attempts: 0 });
  } finally {
    again.close();
  }
});
