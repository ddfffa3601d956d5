import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { PeerBudget } from "./peer_budget.ts";

Deno.test("a peer with maxBad bad messages in a window, more bad than good, is throttled for penaltyMs", () => {
  const clock = new ManualClock();
  const budget = new PeerBudget(clock, { windowMs: 1000, maxBad: 3, penaltyMs: 500 });
  assert.equal(budget.bad("p"), false);
  assert.equal(budget.bad("p"), false);
  assert.equal(budget.bad("p"), true);
  assert.equal(budget.admit("p"), false);
  assert.equal(budget.admit("other"), true);
  clock.set(499);
  assert.equal(budget.admit("p"), false);
  clock.set(500);
  assert.equal(budget.admit("p"), true);
  assert.equal(budget.throttled, 1);
});

Deno.test("mostly good peers and slow trickles of garbage are never throttled", () => {
  const clock = new ManualClock();
  const budget = new PeerBudget(clock, { windowMs: 1000, maxBad: 3, penaltyMs: 500 });
  budget.bad("busy");
  for (let i = 0; i < 10; i++) budget.good("busy");
  assert.equal(budget.bad("busy"), false);
  assert.equal(budget.bad("busy"), false); // 3 bad, 10 good: fine
  for (let i = 0; i < 10; i++) {
    clock.set(clock.now() + 1000); // a new window each time
    assert.equal(budget.bad("trickle"), false);
  }
  assert.equal(budget.admit("busy"), true);
  assert.equal(budget.admit("trickle"), true);
});

Deno.test("tracked peers are bounded: the oldest is forgotten", () => {
  const budget = new PeerBudget(new ManualClock(), { maxPeers: 2 });
  budget.bad("a");
  budget.bad("b");
  budget.bad("c");
  assert.equal(budget.size, 2);
});
