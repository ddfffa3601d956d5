import assert from "node:assert/strict";
import { ManualClock, systemClock } from "./clock.ts";

Deno.test("ManualClock runs due timers in time order, each at its own time", async () => {
  const clock = new ManualClock(100);
  const seen: string[] = [];
  clock.setTimer(20, () => seen.push(`b@${clock.now()}`));
  clock.setTimer(10, () => seen.push(`a@${clock.now()}`));
  clock.setTimer(20, () => seen.push(`c@${clock.now()}`));
  const late = clock.setTimer(50, () => seen.push("late"));
  await clock.advance(30);
  assert.deepEqual(seen, ["a@110", "b@120", "c@120"]);
  assert.equal(clock.now(), 130);
  late.cancel();
  await clock.advance(100);
  assert.deepEqual(seen, ["a@110", "b@120", "c@120"]);
  assert.equal(clock.pending, 0);
});

Deno.test("ManualClock timers set by a timer run in the same advance when due", async () => {
  const clock = new ManualClock();
  const seen: number[] = [];
  const tick = () => {
    seen.push(clock.now());
    clock.setTimer(10, tick);
  };
  clock.setTimer(10, tick);
  await clock.advance(35);
  assert.deepEqual(seen, [10, 20, 30]);
});

Deno.test("ManualClock sleep resolves on advance or abort", async () => {
  const clock = new ManualClock();
  let done = false;
  const sleeping = clock.sleep(50).then(() => (done = true));
  await clock.advance(49);
  assert.equal(done, false);
  await clock.advance(1);
  await sleeping;
  assert.equal(done, true);
  const controller = new AbortController();
  const aborted = clock.sleep(1_000_000, controller.signal);
  controller.abort();
  await aborted;
  assert.equal(clock.pending, 0);
  assert.throws(() => clock.set(0), /expected a time >= 50/);
});

Deno.test("systemClock is monotonic and its timers can be cancelled", async () => {
  const a = systemClock.now();
  let fired = false;
  systemClock.setTimer(5, () => (fired = true)).cancel();
  await systemClock.sleep(20);
  assert.ok(systemClock.now() >= a);
  assert.equal(fired, false);
});
