import assert from "node:assert/strict";
import { BRIDGE_OWNER, SubscriptionTable } from "./subscriptions.ts";

Deno.test("a prefix is subscribed on its first reference and unsubscribed on its last", () => {
  const t = new SubscriptionTable({ maxPrefixes: 10 });
  assert.deepEqual(t.add(1, ["a/", "b/"]), { subscribe: ["a/", "b/"], unsubscribe: [] });
  assert.deepEqual(t.add(2, ["a/"]), { subscribe: [], unsubscribe: [] });
  assert.deepEqual(t.add(2, ["a/"]), { subscribe: [], unsubscribe: [] }, "held twice = once");
  assert.equal(t.refCount("a/"), 2);
  assert.deepEqual(t.remove(1, ["a/"]), { subscribe: [], unsubscribe: [] });
  assert.deepEqual(t.removeClient(2), { subscribe: [], unsubscribe: ["a/"] });
  assert.deepEqual(t.removeClient(1), { subscribe: [], unsubscribe: ["b/"] });
  assert.equal(t.size, 0);
  assert.deepEqual(t.remove(7, ["x"]), { subscribe: [], unsubscribe: [] }, "unknown client");
});

Deno.test("the bridge's own prefixes hold a reference of their own", () => {
  const t = new SubscriptionTable({ maxPrefixes: 10 });
  t.add(BRIDGE_OWNER, [""]);
  assert.deepEqual(t.add(1, [""]), { subscribe: [], unsubscribe: [] });
  assert.deepEqual(t.removeClient(1), { subscribe: [], unsubscribe: [] });
  assert.equal(t.refCount(""), 1);
});

Deno.test("matching is ZeroMQ prefix matching over the client's prefixes", () => {
  const t = new SubscriptionTable({ maxPrefixes: 10 });
  t.add(1, ["plant-a/temp"]);
  t.add(2, [""]);
  assert.equal(t.matches(1, "plant-a/temperature/00001"), true);
  assert.equal(t.matches(1, "plant-b/temperature/00001"), false);
  assert.equal(t.matches(2, "anything"), true);
  assert.equal(t.matches(3, "anything"), false);
});

Deno.test("the number of distinct prefixes is bounded; a refused add changes nothing", () => {
  const t = new SubscriptionTable({ maxPrefixes: 2 });
  t.add(1, ["a", "b"]);
  assert.throws(() => t.add(2, ["a", "c"]), RangeError);
  assert.deepEqual(t.prefixesOf(2), []);
  assert.equal(t.refCount("a"), 1);
  t.add(2, ["a", "b"]); // existing prefixes are always fine
  assert.equal(t.refCount("b"), 2);
});
