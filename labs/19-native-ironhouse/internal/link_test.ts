import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { validateTable } from "@lib/patterns/fsm.ts";
import { Link, LINK_TABLE } from "./link.ts";

Deno.test("the link table is complete and consistent", () => {
  validateTable(LINK_TABLE);
});

Deno.test("a wrong server key: failed, then gave_up with the crypto reason after the deadline", async () => {
  const clock = new ManualClock();
  const link = new Link(clock, 5000);
  assert.equal(link.on("crypto_failed"), "log_failed");
  link.on("disconnected");
  assert.equal(link.state, "failed");
  await clock.advance(4999);
  assert.equal(link.check(), undefined);
  await clock.advance(1);
  assert.equal(link.check(), "give_up");
  assert.equal(link.state, "gave_up");
  assert.match(link.reason, /wrong server key/);
});

Deno.test("a revoked key: secure, disconnected, refused; the deadline counts from the loss", async () => {
  const clock = new ManualClock();
  const link = new Link(clock, 1000);
  assert.equal(link.on("handshake_ok"), "log_secure");
  await clock.advance(60_000);
  assert.equal(link.check(), undefined, "a secure link never gives up");
  link.on("disconnected");
  assert.equal(link.on("auth_denied"), "redial");
  assert.equal(link.state, "refused");
  await clock.advance(999);
  assert.equal(link.check(), undefined);
  await clock.advance(1);
  assert.equal(link.check(), "give_up");
  assert.match(link.reason, /unknown or revoked/);
});

Deno.test("a recovered link resets the reason clock; 0 never gives up", async () => {
  const clock = new ManualClock();
  const never = new Link(clock, 0);
  never.on("auth_denied");
  await clock.advance(1e9);
  assert.equal(never.check(), undefined);
  const link = new Link(clock, 1000);
  link.on("auth_denied");
  await clock.advance(900);
  assert.equal(link.on("handshake_ok"), "log_secure");
  await clock.advance(900);
  assert.equal(link.check(), undefined);
});
