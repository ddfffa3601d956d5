import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { CreditLedger } from "./credit_ledger.ts";

Deno.test("frames go only against credit, and every peer must have some", () => {
  const ledger = new CreditLedger({
    clock: new ManualClock(),
    timeoutMs: 1000,
    maxPeers: 2,
    maxCredit: 3,
  });
  assert.equal(ledger.ready(), false, "no peers: nothing to send to");
  assert.equal(ledger.grant("a", 5), "joined");
  assert.equal(ledger.peers()[0][1].credit, 3, "capped");
  assert.equal(ledger.grant("b", 1), "joined");
  assert.equal(ledger.grant("c", 1), "refused");
  ledger.consume("a");
  ledger.consume("b");
  assert.equal(ledger.ready(), false, "b is out of credit: the stream waits for it");
  assert.throws(() => ledger.consume("b"));
  ledger.grant("b", 1);
  assert.equal(ledger.ready(), true);
  assert.equal(ledger.forget("a"), true);
  assert.equal(ledger.size, 1);
});

Deno.test("a silent peer expires; a keep-alive keeps it", async () => {
  const clock = new ManualClock();
  const ledger = new CreditLedger({ clock, timeoutMs: 1000, maxPeers: 8, maxCredit: 4 });
  ledger.grant("alive", 1);
  ledger.grant("dead", 1);
  await clock.advance(800);
  ledger.grant("alive", 0);
  await clock.advance(400);
  assert.deepEqual(ledger.expire(), ["dead"]);
  assert.equal(ledger.size, 1);
});
