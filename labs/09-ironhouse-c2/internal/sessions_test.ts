import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { MAX_PENDING, Sessions } from "./sessions.ts";

const A = "A".repeat(40);
const B = "B".repeat(40);

Deno.test("sessions: revoking a key drops its session only", () => {
  const sessions = new Sessions({ clock: new ManualClock(), timeoutMs: 1000, max: 10 });
  assert.equal(sessions.seen(A, "a")?.fresh, true);
  assert.equal(sessions.seen(A)?.fresh, false);
  sessions.seen(B, "b");
  const dropped = sessions.revokeExcept(new Set([B]));
  assert.deepEqual(dropped.map((s) => s.name), ["a"]);
  assert.deepEqual(sessions.all().map((s) => s.name), ["b"]);
});

Deno.test("sessions: silent ones expire, the table is bounded", async () => {
  const clock = new ManualClock();
  const sessions = new Sessions({ clock, timeoutMs: 1000, max: 1 });
  sessions.seen(A, "a");
  assert.equal(sessions.seen(B, "b"), undefined, "full table refuses a new session");
  await clock.advance(1001);
  assert.deepEqual(sessions.expire().map((s) => s.name), ["a"]);
  assert.equal(sessions.size, 0);
});

Deno.test("sessions: a result is taken once, only for a command sent to that key with that op", () => {
  const sessions = new Sessions({ clock: new ManualClock(), timeoutMs: 1000, max: 10 });
  sessions.seen(A, "a");
  sessions.seen(B, "b");
  assert.equal(sessions.answered(A, 7, "facts"), false, "never sent");
  assert.equal(sessions.issued(A, 7, "facts"), true);
  assert.equal(sessions.answered(B, 7, "facts"), false, "sent to another key");
  assert.equal(sessions.answered(A, 7, "rotate_key"), false, "another op");
  assert.equal(sessions.answered(A, 7, "facts"), true);
  assert.equal(sessions.answered(A, 7, "facts"), false, "a replayed result");
  for (let seq = 100; seq < 100 + MAX_PENDING + 10; seq++) sessions.issued(A, seq, "facts");
  assert.equal(sessions.get(A)!.pending.size, MAX_PENDING, "bounded");
  assert.equal(sessions.answered(A, 100, "facts"), false, "the oldest was forgotten");
  assert.equal(sessions.drop(A)?.name, "a");
  assert.equal(sessions.issued(A, 1, "facts"), false);
});
