import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { CreditDispatch } from "./credit_dispatch.ts";

const A = new Uint8Array([0, 1]);
const B = new Uint8Array([0, 2]);

Deno.test("a parser gets at most its window; a hung one (no reports) gets nothing more", async () => {
  const clock = new ManualClock();
  const d = new CreditDispatch({ clock, expireMs: 10_000 });
  d.onCredit(A, { window: 2, received: 0, done: 0 });
  d.onCredit(B, { window: 2, received: 0, done: 0 });
  const picks: number[] = [];
  for (let i = 0; i < 4; i++) picks.push((await d.acquire())!.id[1]);
  assert.deepEqual(picks.sort(), [1, 1, 2, 2], "both used, each up to its window");
  assert.equal(d.pick(), undefined, "no credit left anywhere");
  // B finishes one and says so; A is hung and says nothing.
  d.onCredit(B, { window: 2, received: 2, done: 1 });
  assert.equal((await d.acquire())!.id[1], 2);
  assert.equal(d.pick(), undefined);
  assert.equal(d.stats().max_outstanding, 2);
});

Deno.test("concurrent acquires never over-commit a parser's last credit", async () => {
  const d = new CreditDispatch({ clock: new ManualClock(), expireMs: 10_000 });
  d.onCredit(A, { window: 1, received: 0, done: 0 });
  const ac = new AbortController();
  const [x, y] = [d.acquire(ac.signal), d.acquire(ac.signal)];
  assert.ok(await x);
  ac.abort();
  assert.equal(await y, undefined, "the second waited instead of taking the same credit");
  assert.equal(d.stats().max_outstanding, 1);
});

Deno.test("batches a parser got before this collector knew it count against its window", async () => {
  const d = new CreditDispatch({ clock: new ManualClock(), expireMs: 10_000 });
  // It received 5 (from an earlier collector) and finished 4: one still in hand.
  d.onCredit(A, { window: 2, received: 5, done: 4 });
  assert.ok(await d.acquire());
  assert.equal(d.pick(), undefined);
  d.onCredit(A, { window: 2, received: 6, done: 6 }); // a repeated or late report is harmless
  assert.ok(await d.acquire());
  assert.ok(await d.acquire());
  assert.equal(d.pick(), undefined);
});

Deno.test("silent parsers expire; a waiting sender wakes on new credit", async () => {
  const clock = new ManualClock();
  const d = new CreditDispatch({ clock, expireMs: 1000 });
  d.onCredit(A, { window: 1, received: 0, done: 0 });
  await d.acquire();
  const waiting = d.acquire();
  d.onCredit(B, { window: 1, received: 0, done: 0 });
  assert.equal((await waiting)!.id[1], 2);
  clock.set(1000);
  assert.equal(d.expire(), 2);
  assert.equal(d.stats().parsers, 0);
});
