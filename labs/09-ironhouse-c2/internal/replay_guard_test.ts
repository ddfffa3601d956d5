import assert from "node:assert/strict";
import { MAX_STATE_BYTES, ReplayGuard, ReplayState } from "./replay_guard.ts";

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

Deno.test("replay state: /dev/zero, a FIFO, a directory or a huge file is refused at once, never read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Before: `--state-file /dev/zero` read for ever and the agent never started.
    assert.throws(() => ReplayState.open("/dev/zero"), TypeError, "not a regular file");
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.throws(() => ReplayState.open(`${dir}/fifo`), TypeError, "not a regular file");
    assert.throws(() => ReplayState.open(dir), TypeError, "not a regular file");
    await Deno.writeTextFile(`${dir}/big`, " ".repeat(MAX_STATE_BYTES + 1));
    assert.throws(() => ReplayState.open(`${dir}/big`), TypeError, "larger than");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay state: save never writes through a symlink left at the temporary name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/victim`, "keep me");
    await Deno.symlink(`${dir}/victim`, `${dir}/state.tmp`);
    const state = ReplayState.open(`${dir}/state`);
    assert.ok(state.guard.accept(9) && state.save());
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "keep me");
    assert.equal(ReplayState.open(`${dir}/state`).guard.last, 9);
    assert.equal((await Deno.stat(`${dir}/state`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
