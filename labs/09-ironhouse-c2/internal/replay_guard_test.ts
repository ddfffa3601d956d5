import assert from "node:assert/strict";
import { ReplayGuard } from "./replay_guard.ts";

Deno.test("replay guard accepts increasing numbers and refuses old ones", () => {
  const guard = new ReplayGuard();
  assert.ok(guard.accept(100));
  assert.ok(guard.accept(101));
  assert.ok(!guard.accept(101), "the same number twice is a replay");
  assert.ok(!guard.accept(50), "an older number is a replay");
  assert.ok(guard.accept(200), "gaps are fine");
  assert.equal(guard.last, 200);
  assert.equal(guard.refused, 2);
});
