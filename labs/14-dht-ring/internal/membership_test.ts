import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { Membership } from "./membership.ts";

const make = (id: string, clock: ManualClock, version = 1) =>
  new Membership({
    self: { id, endpoint: `tcp://${id}:1`, vnodes: 8 },
    clock,
    version,
    intervalMs: 100,
    suspectAfter: 2,
    deadAfter: 4,
  });

Deno.test("gossip spreads members; a silent peer goes suspect then dead; it comes back", async () => {
  const clock = new ManualClock();
  const a = make("a", clock), b = make("b", clock), c = make("c", clock);
  b.merge(a.digest());
  c.merge(b.digest());
  assert.deepEqual(c.ringNodes(), ["a", "b", "c"]);
  assert.deepEqual(a.merge(c.digest()).joined.sort(), ["b", "c"]);
  // a hears b's heartbeats but nothing from c.
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    await clock.advance(100);
    b.tick();
    for (const change of a.tick()) seen.push(`${change.peer}:${change.to}`);
    a.merge(b.digest().filter((m) => m.id === "b"));
  }
  assert.deepEqual(seen, ["c:suspect", "c:dead"]);
  assert.equal(a.reachable("c"), false);
  assert.equal(a.reachable("b"), true);
  assert.deepEqual(a.ringNodes(), ["a", "b", "c"], "dead is not gone");
  c.tick();
  a.merge(c.digest());
  assert.equal(a.reachable("c"), true);
});

Deno.test("leave wins by version; a restart (newer version) refutes an old 'left'", () => {
  const clock = new ManualClock();
  const a = make("a", clock), b = make("b", clock);
  a.merge(b.digest());
  b.leave();
  assert.deepEqual(a.merge(b.digest()).left, ["b"]);
  assert.deepEqual(a.ringNodes(), ["a"]);
  const b2 = make("b", clock, 1); // restarted with an older clock: refutes on first contact
  b2.merge(a.digest());
  assert.ok(b2.self.version > 2);
  assert.deepEqual(a.merge(b2.digest()).joined, ["b"]);
});

Deno.test("membership is bounded: nodes that left make room, others are ignored", () => {
  const clock = new ManualClock();
  const a = new Membership({
    self: { id: "a", endpoint: "tcp://a:1", vnodes: 8 },
    clock,
    version: 1,
    intervalMs: 100,
    maxMembers: 2,
  });
  const member = (id: string, status: "up" | "left") => ({
    id,
    endpoint: `tcp://${id}:1`,
    status,
    version: 1,
    heartbeat: 0,
    vnodes: 8,
  });
  a.merge([member("x", "left")]);
  assert.equal(a.merge([member("y", "up")]).ignored, 0);
  assert.equal(a.merge([member("z", "up")]).ignored, 1);
});
