import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { WorkerQueue, type WorkerQueueOptions } from "./worker_queue.ts";

function queue(options: Partial<WorkerQueueOptions> = {}) {
  const clock = new ManualClock();
  const q = new WorkerQueue<string, string, number>({
    clock,
    heartbeatIntervalMs: 1000,
    liveness: 3,
    ...options,
  });
  return { clock, q };
}

/** Ticks every 100 ms until `until` (as a role's timer does), collecting expiries. */
function tickTo(t: ReturnType<typeof queue>, until: number) {
  const expired = [];
  while (t.clock.now() < until) {
    t.clock.set(Math.min(until, t.clock.now() + 100));
    expired.push(...t.q.tick(t.clock.now()));
  }
  return expired;
}

Deno.test("WorkerQueue hands out the longest-idle worker first (LRU) and never duplicates one", () => {
  const { q } = queue();
  assert.equal(q.ready("w1").outcome, "joined");
  q.ready("w2");
  q.ready("w3");
  assert.equal(q.next(), "w1");
  q.assign("w1", "j1");
  assert.equal(q.done("w1", "j1"), true); // finished its job: back of the list
  assert.deepEqual(q.readyList(), ["w2", "w3", "w1"]);
  assert.equal(q.ready("w2").outcome, "ready"); // READY again: moves to the back, once
  assert.deepEqual(q.readyList(), ["w3", "w1", "w2"]);
  assert.equal(q.next(), "w3");
  assert.equal(q.next(), "w1");
  assert.equal(q.next(), "w2");
  assert.equal(q.next(), undefined);
  assert.equal(q.size, 3);
  assert.equal(q.get("w1")?.done, 1);
});

Deno.test("WorkerQueue is bounded: a worker beyond maxWorkers is refused", () => {
  const { q } = queue({ maxWorkers: 2 });
  q.ready("a");
  q.ready("b");
  assert.equal(q.full, true);
  assert.deepEqual(q.ready("c"), { outcome: "refused", orphaned: [] });
  assert.equal(q.has("c"), false);
  assert.equal(q.bad("c").known, false);
  assert.equal(q.stats().refused, 2);
  q.remove("a");
  assert.equal(q.ready("c").outcome, "joined");
});

Deno.test("WorkerQueue: a heartbeating worker expires after liveness silent intervals; its jobs come back", () => {
  const t = queue();
  const { q } = t;
  q.ready("hb", 7);
  q.ready("req"); // never heartbeats: only job deadlines apply to it
  q.heard("hb", { heartbeat: true });
  q.assign(q.next()!, "j1");
  assert.deepEqual(tickTo(t, 2999), []);
  q.heard("hb"); // any message counts
  assert.deepEqual(tickTo(t, 5998), []);
  const expired = tickTo(t, 5999);
  assert.equal(expired.length, 1);
  assert.equal(expired[0].reason, "heartbeat_expired");
  assert.equal(expired[0].worker.key, "hb");
  assert.equal(expired[0].worker.data, 7);
  assert.deepEqual(expired[0].worker.jobs, ["j1"]);
  assert.equal(q.has("hb"), false);
  assert.equal(q.has("req"), true);
  assert.equal(q.heard("hb"), false);
  assert.equal(q.stats().expired, 1);
});

Deno.test("WorkerQueue: after this process stalled (a late tick), workers get one more interval before their silence counts", () => {
  const t = queue();
  const { clock, q } = t;
  q.ready("hb");
  q.heard("hb", { heartbeat: true });
  tickTo(t, 500);
  // The broker itself was not running for 5 s: the worker's heartbeats may be unread.
  clock.set(5500);
  assert.deepEqual(q.tick(clock.now()), [], "not expired by the broker's own stall");
  q.heard("hb"); // the queued heartbeats are read right after
  assert.deepEqual(tickTo(t, 8400), []);
  // Truly silent: it expires one interval after the stall at the latest.
  const t2 = queue();
  t2.q.ready("hb");
  t2.q.heard("hb", { heartbeat: true });
  tickTo(t2, 500);
  t2.clock.set(5500);
  assert.deepEqual(t2.q.tick(t2.clock.now()), []);
  assert.deepEqual(tickTo(t2, 6400), []);
  assert.equal(tickTo(t2, 6500).length, 1);
});

Deno.test("WorkerQueue: a job held past the job timeout kills its worker (REQ workers too)", () => {
  const { clock, q } = queue({ jobTimeoutMs: 500 });
  q.ready("req");
  q.assign(q.next()!, "j1");
  clock.set(499);
  assert.deepEqual(q.tick(clock.now()), []);
  clock.set(500);
  const [expired] = q.tick(clock.now());
  assert.equal(expired.reason, "job_timeout");
  assert.deepEqual(expired.worker.jobs, ["j1"]);
});

Deno.test("WorkerQueue: READY from a worker that holds a job means it restarted: the job is orphaned", () => {
  const { q } = queue();
  q.ready("w");
  q.assign(q.next()!, "j1");
  assert.equal(q.holds("w", "j1"), true);
  assert.deepEqual(q.ready("w"), { outcome: "ready", orphaned: ["j1"] });
  assert.equal(q.holds("w", "j1"), false);
  assert.deepEqual(q.readyList(), ["w"]);
});

Deno.test("WorkerQueue: bad answers quarantine a worker with doubling backoff, then it is tried again", () => {
  const { clock, q } = queue({ quarantine: { initialMs: 100, maxMs: 400 } });
  q.ready("bad");
  q.ready("good");
  q.assign(q.next()!, "j1"); // to "bad"
  const first = q.bad("bad");
  assert.deepEqual(first, { strikes: 1, retryMs: 100, orphaned: ["j1"], known: true });
  assert.deepEqual(q.readyList(), ["good"]);
  assert.equal(q.ready("bad").outcome, "quarantined"); // a READY does not end it early
  assert.deepEqual(q.readyList(), ["good"]);
  clock.set(99);
  q.tick(clock.now());
  assert.deepEqual(q.readyList(), ["good"]);
  clock.set(100);
  q.tick(clock.now());
  assert.deepEqual(q.readyList(), ["good", "bad"]); // tried again
  const delays = [];
  for (let i = 0; i < 4; i++) {
    q.assign("bad", `j${i + 2}`);
    delays.push(q.bad("bad").retryMs);
    clock.set(clock.now() + 1000);
    q.tick(clock.now());
  }
  assert.deepEqual(delays, [200, 400, 400, 400]);
  assert.equal(q.get("bad")?.strikes, 5);
  // One good answer resets the strikes and the backoff.
  q.assign("bad", "j9");
  assert.equal(q.done("bad", "j9"), true);
  assert.equal(q.get("bad")?.strikes, 0);
  assert.equal(q.bad("bad").retryMs, 100);
  const stats = q.stats();
  assert.equal(stats.quarantines, 6);
  assert.equal(stats.releasedFromQuarantine, 5);
  assert.equal(stats.quarantined, 1);
});

Deno.test("WorkerQueue: an unknown worker answering garbage joins in quarantine", () => {
  const { clock, q } = queue({ quarantine: { initialMs: 50, maxMs: 50 } });
  assert.equal(q.bad("stranger", 1).known, true);
  assert.equal(q.has("stranger"), true);
  assert.deepEqual(q.readyList(), []);
  clock.set(50);
  q.tick(clock.now());
  assert.deepEqual(q.readyList(), ["stranger"]);
});

Deno.test("WorkerQueue: heartbeatDue lists heartbeating workers once per interval", () => {
  const { clock, q } = queue();
  q.ready("a");
  q.ready("b");
  q.heard("b", { heartbeat: true });
  assert.deepEqual(q.heartbeatDue(clock.now()), []);
  clock.set(1000);
  assert.deepEqual(q.heartbeatDue(clock.now()).map((w) => w.key), ["b"]);
  clock.set(1500);
  assert.deepEqual(q.heartbeatDue(clock.now()), []);
  clock.set(2000);
  assert.deepEqual(q.heartbeatDue(clock.now()).map((w) => w.key), ["b"]);
});

Deno.test("WorkerQueue: remove forgets a worker everywhere and returns its jobs", () => {
  const { q } = queue();
  q.ready("w");
  q.ready("x");
  q.assign("w", "j1");
  const gone = q.remove("w");
  assert.deepEqual(gone?.jobs, ["j1"]);
  assert.deepEqual(q.readyList(), ["x"]);
  assert.equal(q.remove("w"), undefined);
  assert.equal(q.done("w", "j1"), false);
  assert.throws(() => q.assign("w", "j2"), /expected a known worker/);
});

Deno.test("WorkerQueue rejects bad options", () => {
  assert.throws(
    () => new WorkerQueue({ clock: new ManualClock(), heartbeatIntervalMs: 0 }),
    /expected heartbeatIntervalMs > 0, got 0/,
  );
});
