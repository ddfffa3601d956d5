import assert from "node:assert/strict";
import { deadline, DeadlineError } from "./deadline.ts";

Deno.test("deadline passes a value that comes in time", async () => {
  assert.equal(await deadline(Promise.resolve(7), 1000), 7);
});

Deno.test("deadline passes a rejection through", async () => {
  await assert.rejects(deadline(Promise.reject(new Error("boom")), 1000), /boom/);
});

Deno.test("deadline rejects with DeadlineError naming what timed out", async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const error = await deadline(slow, 5, { what: "reply" }).catch((e) => e);
  assert.ok(error instanceof DeadlineError);
  assert.equal(error.message, "reply did not finish within 5 ms");
  release();
});

Deno.test("deadline rejects with the signal's reason on abort", async () => {
  const controller = new AbortController();
  const pending = deadline(new Promise(() => {}), 10_000, { signal: controller.signal });
  controller.abort(new Error("stopping"));
  await assert.rejects(pending, /stopping/);
});
