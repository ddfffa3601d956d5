import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { drainBudget, drainWithin } from "./drain.ts";
import { createMemoryLogger } from "./logger.ts";

Deno.test("drainBudget: timeout less min(1 s, timeout/4) less the time since the stop", () => {
  assert.equal(drainBudget(5000, 0), 4000);
  assert.equal(drainBudget(5000, 1500.7), 2499);
  assert.equal(drainBudget(2000, 0), 1500);
  assert.equal(drainBudget(400, 0), 300);
  assert.equal(drainBudget(60_000, 0), 59_000);
  assert.equal(drainBudget(5000, 9000), 0, "never negative");
  assert.equal(drainBudget(0, 0), 0);
});

Deno.test("drainWithin: true when fn finishes within the budget", async () => {
  const log = createMemoryLogger();
  const clock = new ManualClock();
  let aborted = false;
  const ok = await drainWithin(
    async (signal) => {
      signal.addEventListener("abort", () => (aborted = true));
      await Promise.resolve();
    },
    1000,
    { log, clock },
  );
  assert.equal(ok, true);
  await clock.advance(2000);
  assert.equal(aborted, false, "the budget timer is cancelled");
  assert.equal(log.records.length, 0);
});

Deno.test("drainWithin: at the budget the signal aborts, drain_timeout, false", async () => {
  const log = createMemoryLogger();
  const clock = new ManualClock();
  let abortedAt: number | undefined;
  const result = drainWithin(
    (signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          abortedAt = clock.now();
          resolve();
        });
      }),
    1500,
    { log, clock },
    { what: "acks" },
  );
  await clock.advance(1499);
  assert.equal(abortedAt, undefined);
  await clock.advance(1);
  assert.equal(await result, false);
  assert.equal(abortedAt, 1500);
  assert.deepEqual(log.events("drain_timeout").map((r) => r.fields), [
    { what: "acks", budget_ms: 1500 },
  ]);
});

Deno.test("drainWithin: fn failing is drain_failed and false; a sync throw too", async () => {
  const log = createMemoryLogger();
  const clock = new ManualClock();
  assert.equal(
    await drainWithin(() => Promise.reject(new Error("flush failed")), 1000, { log, clock }, {
      what: "out",
    }),
    false,
  );
  assert.equal(
    await drainWithin(
      () => {
        throw new Error("sync");
      },
      1000,
      { log, clock },
    ),
    false,
  );
  assert.deepEqual(log.events("drain_failed").map((r) => r.fields.error), ["flush failed", "sync"]);
  assert.equal(log.events("drain_timeout").length, 0);
});
