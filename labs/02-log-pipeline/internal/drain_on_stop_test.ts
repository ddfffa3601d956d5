import assert from "node:assert/strict";
import { DrainOnStop } from "./drain_on_stop.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("closes after the idle time once stopped, not before", async () => {
  let closed = 0;
  const d = new DrainOnStop(() => closed++, 30, 1000);
  await tick(50);
  assert.equal(closed, 0, "no stop requested yet");
  d.start();
  d.busy();
  await tick(60);
  assert.equal(closed, 0, "busy: the idle clock does not run");
  d.idle();
  await tick(10);
  d.busy();
  d.idle();
  assert.equal(closed, 0);
  await tick(60);
  assert.equal(closed, 1);
  d.dispose();
});

Deno.test("the hard deadline closes even while busy", async () => {
  let closed = 0;
  const d = new DrainOnStop(() => closed++, 1000, 30);
  d.busy();
  d.start();
  await tick(60);
  assert.equal(closed, 1);
  d.idle();
  await tick(10);
  assert.equal(closed, 1, "closes once");
  d.dispose();
});
