import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import {
  type BreakerChange,
  type BreakerEvent,
  type BreakerState,
  CIRCUIT_BREAKER_TABLE,
  CircuitBreaker,
} from "./circuit_breaker.ts";
import { step, tableMarkdown, validateTable } from "./fsm.ts";

Deno.test("circuit breaker table is valid and prints", () => {
  validateTable(CIRCUIT_BREAKER_TABLE);
  const md = tableMarkdown(CIRCUIT_BREAKER_TABLE);
  assert.match(
    md,
    /\| \*\*closed\*\* \| closed \/ reset \| \[tripped\] open \/ trip; else/,
  );
});

Deno.test("circuit breaker: every (state, event) cell", () => {
  const expected: Record<BreakerState, Record<BreakerEvent, string>> = {
    closed: {
      success: "closed",
      failure: "open|closed",
      cooldown_over: "-",
      trial: "closed",
    },
    open: {
      success: "-",
      failure: "open",
      cooldown_over: "half_open",
      trial: "-",
    },
    half_open: {
      success: "closed",
      failure: "open",
      cooldown_over: "-",
      trial: "half_open",
    },
  };
  for (const state of CIRCUIT_BREAKER_TABLE.states) {
    for (const event of CIRCUIT_BREAKER_TABLE.events) {
      const tripped = step(CIRCUIT_BREAKER_TABLE, state, event, {
        tripped: () => true,
      });
      const notTripped = step(CIRCUIT_BREAKER_TABLE, state, event, {
        tripped: () => false,
      });
      const got = !tripped.ok
        ? "-"
        : tripped.ok && notTripped.ok && tripped.next !== notTripped.next
        ? `${tripped.next}|${notTripped.next}`
        : tripped.next;
      assert.equal(got, expected[state][event], `${state} × ${event}`);
    }
  }
});

Deno.test("circuit breaker opens after the threshold, half-opens after the cooldown, one trial", () => {
  const clock = new ManualClock();
  const changes: BreakerChange[] = [];
  const b = new CircuitBreaker({
    clock,
    failureThreshold: 3,
    cooldownMs: 1000,
    maxCooldownMs: 3000,
    onChange: (c) => changes.push(c),
  });
  b.failure();
  b.failure();
  assert.equal(b.state, "closed");
  b.success(); // resets the count
  b.failure();
  b.failure();
  assert.equal(b.state, "closed");
  b.failure();
  assert.equal(b.state, "open");
  assert.deepEqual(changes[0], {
    from: "closed",
    to: "open",
    failures: 3,
    cooldownMs: 1000,
  });
  assert.equal(b.allow(), false);
  clock.set(999);
  assert.equal(b.allow(), false);
  assert.equal(b.wouldAllow(1000), true);
  clock.set(1000);
  assert.equal(b.allow(), true); // the trial
  assert.equal(b.state, "half_open");
  assert.equal(b.allow(), false); // only one
  b.failure(); // trial failed: open again, cooldown doubled
  assert.equal(b.state, "open");
  assert.equal(changes.at(-1)?.cooldownMs, 2000);
  clock.set(3000);
  b.tick();
  assert.equal(b.state, "half_open");
  assert.equal(b.allow(), true);
  b.failure();
  assert.equal(changes.at(-1)?.cooldownMs, 3000); // capped
  clock.set(6000);
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.state, "closed");
  assert.equal(b.allow(), true);
  // After closing, the cooldown starts over.
  b.failure();
  b.failure();
  b.failure();
  assert.equal(changes.at(-1)?.cooldownMs, 1000);
  const stats = b.stats();
  assert.equal(stats.opened, 4);
  assert.equal(stats.trials, 3);
  assert.ok(stats.refused >= 3);
  assert.deepEqual(
    changes.map((c) => `${c.from}>${c.to}`),
    [
      "closed>open",
      "open>half_open",
      "half_open>open",
      "open>half_open",
      "half_open>open",
      "open>half_open",
      "half_open>closed",
      "closed>open",
    ],
  );
});

Deno.test("circuit breaker: a late success while open is ignored; failures while open do not extend it", () => {
  const clock = new ManualClock();
  const b = new CircuitBreaker({ clock, failureThreshold: 1, cooldownMs: 500 });
  b.failure();
  assert.equal(b.state, "open");
  assert.equal(b.openUntil, 500);
  b.success();
  assert.equal(b.state, "open");
  clock.set(400);
  b.failure();
  assert.equal(b.openUntil, 500);
  assert.throws(
    () => new CircuitBreaker({ clock, failureThreshold: 0 }),
    /expected an integer >= 1, got 0/,
  );
});
