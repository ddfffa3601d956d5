import assert from "node:assert/strict";
import { delay } from "./delay.ts";

Deno.test("delay waits at least ms", async () => {
  const t0 = performance.now();
  await delay(20);
  assert.ok(performance.now() - t0 >= 19);
});

Deno.test("delay resolves early on abort by default", async () => {
  const controller = new AbortController();
  const t0 = performance.now();
  const waiting = delay(10_000, { signal: controller.signal });
  controller.abort();
  await waiting;
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("delay rejects with the reason when onAbort is reject", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(delay(10_000, { signal: controller.signal, onAbort: "reject" }), /stop/);
});
