import assert from "node:assert/strict";
import { RecentAcks } from "./recent_acks.ts";

Deno.test("RecentAcks keeps at most max entries, evicting the oldest", () => {
  const recent = new RecentAcks(2);
  recent.set("a", { seq: 1, hash: "h1" });
  recent.set("b", { seq: 2, hash: "h2" });
  recent.set("c", { seq: 3, hash: "h3" });
  assert.equal(recent.size, 2);
  assert.equal(recent.get("a"), undefined);
  assert.deepEqual(recent.get("c"), { seq: 3, hash: "h3" });
  assert.throws(() => new RecentAcks(-1), /expected an integer >= 0, got -1/);
});
