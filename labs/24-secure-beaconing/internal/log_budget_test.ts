import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { LogBudget } from "./log_budget.ts";

Deno.test("a log budget lets max events per window through, then none until the next", async () => {
  const clock = new ManualClock();
  const budget = new LogBudget({ clock, max: 3, windowMs: 1000 });
  const first = Array.from({ length: 1000 }, () => budget.allow()).filter(Boolean).length;
  assert.equal(first, 3);
  await clock.advance(999);
  assert.equal(budget.allow(), false);
  await clock.advance(1);
  assert.equal(budget.allow(), true, "a new window");
});
