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

Deno.test("replay state survives a restart; a corrupt file is refused, never reset", async () => {
  const { ReplayState } = await import("./replay_guard.ts");
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/agent.replay`;
    const first = ReplayState.open(path);
    assert.equal(first.guard.last, 0, "no file: a first run");
    assert.ok(first.guard.accept(41));
    first.save();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const restarted = ReplayState.open(path);
    assert.equal(restarted.guard.last, 41);
    assert.ok(!restarted.guard.accept(41), "the old number stays refused after a restart");
    assert.ok(restarted.guard.accept(42));
    await Deno.writeTextFile(path, "{not json");
    assert.throws(() => ReplayState.open(path), /expected replay state/);
    await Deno.writeTextFile(path, '{"last_seq": -1}');
    assert.throws(() => ReplayState.open(path), /expected replay state/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
