import assert from "node:assert/strict";
import { InFlight } from "./in_flight.ts";

Deno.test("InFlight settles when the last item is done", async () => {
  const work = new InFlight<number>();
  assert.equal(work.settled(), true);
  await work.whenSettled();
  work.add(1);
  work.add(2);
  let settled = false;
  const waiting = work.whenSettled().then(() => (settled = true));
  assert.equal(work.done(1), true);
  await Promise.resolve();
  assert.equal(settled, false);
  assert.equal(work.done(3), false);
  assert.deepEqual(work.keys(), [2]);
  work.done(2);
  await waiting;
  assert.equal(settled, true);
});

Deno.test("InFlight.clear releases waiters", async () => {
  const work = new InFlight<string>();
  work.add("a");
  const waiting = work.whenSettled();
  work.clear();
  await waiting;
  assert.equal(work.size, 0);
});
