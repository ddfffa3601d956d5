import assert from "node:assert/strict";
import { Backoff, backoffDelay, retry } from "./backoff.ts";

Deno.test("backoffDelay grows by the multiplier up to the cap", () => {
  const o = { initialMs: 100, maxMs: 1000, jitter: "none" as const };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, o)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(2, { ...o, multiplier: 3 }), 900);
});

Deno.test("full jitter is uniform in [0, computed) from the injected random", () => {
  const o = { initialMs: 100, maxMs: 1000 };
  assert.equal(backoffDelay(2, { ...o, random: () => 0 }), 0);
  assert.equal(backoffDelay(2, { ...o, random: () => 0.5 }), 200);
  assert.equal(backoffDelay(2, { ...o, random: () => 0.999 }), 399);
});

Deno.test("Backoff resets and validates its bounds", () => {
  const b = new Backoff({ initialMs: 10, maxMs: 40, jitter: "none" });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 40]);
  assert.equal(b.attempt, 4);
  b.reset();
  assert.equal(b.next(), 10);
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /expected 0 <= initialMs <= maxMs/);
});

Deno.test("retry retries with backoff delays and returns the first success", async () => {
  const waits: number[] = [];
  let calls = 0;
  const value = await retry(() => {
    if (++calls < 4) return Promise.reject(new Error(`fail ${calls}`));
    return Promise.resolve("ok");
  }, {
    initialMs: 10,
    maxMs: 25,
    jitter: "none",
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  assert.equal(value, "ok");
  assert.deepEqual(waits, [10, 20, 25]);
});

Deno.test("retry rethrows the last error when attempts run out or it is not retryable", async () => {
  let calls = 0;
  const fast = { initialMs: 0, maxMs: 0, sleep: () => Promise.resolve() };
  await assert.rejects(
    retry(() => Promise.reject(new Error(`e${++calls}`)), { ...fast, attempts: 3 }),
    /e3/,
  );
  calls = 0;
  await assert.rejects(
    retry(() => Promise.reject(new Error(`e${++calls}`)), {
      ...fast,
      retryable: (e) => !(e instanceof Error && e.message === "e2"),
    }),
    /e2/,
  );
});

Deno.test("retry stops on abort", async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      controller.abort();
      return Promise.reject(new Error("down"));
    }, { initialMs: 1000, maxMs: 1000, signal: controller.signal }),
    /down/,
  );
  assert.equal(calls, 1);
});
