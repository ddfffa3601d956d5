import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { step, tableMarkdown, validateTable } from "@lib/patterns/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { JOB_TABLE, Scheduler, type SchedulerOptions, TASK_TABLE } from "./scheduler.ts";

function make(overrides: Partial<SchedulerOptions> = {}) {
  const clock = new ManualClock(1000);
  const log = createMemoryLogger();
  const s = new Scheduler({
    clock,
    log,
    maps: 3,
    reducers: 2,
    heartbeatIntervalMs: 100,
    liveness: 3,
    backupAfterMs: 1000,
    maxAttempts: 3,
    deadlineMs: 0,
    ...overrides,
  });
  return { clock, log, s };
}

Deno.test("the task and job tables are valid and print", () => {
  validateTable(TASK_TABLE);
  validateTable(JOB_TABLE);
  assert.match(tableMarkdown(TASK_TABLE), /\| \*\*idle\*\* \| in_progress \/ send_task/);
  assert.match(tableMarkdown(JOB_TABLE), /\| \*\*map\*\* \| reduce \/ start_reduce/);
});

Deno.test("task table: every cell that matters", () => {
  const left = { attempts_left: () => true };
  const none = { attempts_left: () => false };
  const cases: [
    string,
    Parameters<typeof step>[2],
    string,
    Record<string, () => boolean>,
    string,
  ][] = [
    ["idle", "assign", "in_progress", {}, "send_task"],
    ["idle", "done", "completed", {}, "record_late"],
    ["in_progress", "speculate", "backup", {}, "send_backup"],
    ["in_progress", "done", "completed", {}, "record"],
    ["in_progress", "lost", "idle", left, "requeue"],
    ["in_progress", "lost", "failed", none, "fail_job"],
    ["in_progress", "error", "idle", left, "requeue"],
    ["in_progress", "error", "failed", none, "fail_job"],
    ["backup", "done", "completed", {}, "record"],
    ["backup", "lost", "in_progress", {}, "wait_other"],
    ["backup", "error", "in_progress", {}, "wait_other"],
    ["completed", "done", "completed", {}, "ignore"],
    ["completed", "lost", "completed", {}, "ignore"],
  ];
  for (const [from, event, next, guards, action] of cases) {
    // deno-lint-ignore no-explicit-any
    const r = step(TASK_TABLE, from as any, event as any, guards);
    assert.ok(r.ok, `${from} × ${event}`);
    assert.equal(r.next, next, `${from} × ${event}`);
    assert.equal(r.action, action, `${from} × ${event}`);
  }
  assert.equal(step(TASK_TABLE, "failed", "done").ok, false);
  assert.equal(step(TASK_TABLE, "completed", "assign").ok, false);
});

Deno.test("maps go to map workers, reduces start only after every map is done", () => {
  const { s } = make();
  s.workerSeen("m1", "map", "ready");
  s.workerSeen("m2", "map", "ready");
  s.workerSeen("r1", "reduce", "ready");
  const first = s.dispatch();
  assert.deepEqual(first.map((a) => [a.worker, a.phase, a.task, a.attempt]), [
    ["m1", "map", 0, 1],
    ["m2", "map", 1, 1],
  ]);
  assert.deepEqual(s.dispatch(), []); // no free worker
  assert.equal(s.completed("m1", "map", 0, 1), "accepted");
  const next = s.dispatch();
  assert.deepEqual(next.map((a) => [a.worker, a.task]), [["m1", 2]]);
  s.completed("m2", "map", 1, 1);
  assert.equal(s.state, "map");
  assert.deepEqual(s.dispatch(), []); // r1 waits for the last map
  s.completed("m1", "map", 2, 1);
  assert.equal(s.state, "reduce");
  const reduces = s.dispatch();
  assert.deepEqual(reduces.map((a) => [a.worker, a.phase, a.task]), [["r1", "reduce", 0]]);
  s.completed("r1", "reduce", 0, 1);
  assert.deepEqual(s.dispatch().map((a) => a.task), [1]);
  s.completed("r1", "reduce", 1, 1);
  assert.equal(s.state, "done");
  assert.equal(s.progress().reduce.done, 2);
});

Deno.test("a silent worker is lost and its task runs again elsewhere", async () => {
  const { s, clock, log } = make({ maps: 2 });
  s.workerSeen("m1", "map", "ready");
  s.workerSeen("m2", "map", "ready");
  s.dispatch(); // m1: task 0, m2: task 1
  for (let t = 0; t < 5; t++) {
    await clock.advance(90);
    s.workerSeen("m2", "map", "heartbeat");
    s.tick(clock.now());
  }
  assert.equal(log.events("worker_lost").length, 1);
  assert.equal(log.events("worker_lost")[0].fields.worker, "m1");
  assert.equal(s.taskState("map", 0), "idle");
  s.completed("m2", "map", 1, 1);
  const again = s.dispatch();
  assert.deepEqual(again.map((a) => [a.worker, a.task, a.attempt]), [["m2", 0, 2]]);
  assert.equal(s.progress().requeued, 1);
  assert.equal(s.progress().workersLost, 1);
});

Deno.test("a straggler gets a backup near the end; the first to finish wins", async () => {
  const { s, clock, log } = make({ maps: 2, liveness: 1000 });
  s.workerSeen("m1", "map", "ready");
  s.workerSeen("m2", "map", "ready");
  s.dispatch(); // m1: 0, m2: 1
  s.completed("m2", "map", 1, 1);
  assert.deepEqual(s.dispatch(), []); // m1 has run 0 ms: no backup yet
  await clock.advance(999);
  assert.deepEqual(s.dispatch(), []);
  await clock.advance(1);
  const [backup] = s.dispatch();
  assert.deepEqual([backup.worker, backup.task, backup.attempt, backup.backup], ["m2", 0, 2, true]);
  assert.equal(s.taskState("map", 0), "backup");
  assert.equal(log.events("backup_task").length, 1);
  assert.deepEqual(s.dispatch(), []); // one backup per task
  assert.equal(s.completed("m2", "map", 0, 2), "accepted");
  assert.equal(s.state, "reduce");
  assert.equal(s.progress().backupWins, 1);
  assert.equal(s.completed("m1", "map", 0, 1), "duplicate"); // the straggler, late
});

Deno.test("an attempt presumed lost that finishes after all completes the task", async () => {
  const { s, clock } = make({ maps: 1 });
  s.workerSeen("m1", "map", "ready");
  s.dispatch();
  await clock.advance(400);
  s.tick(clock.now()); // m1 silent for 4 intervals: lost
  assert.equal(s.taskState("map", 0), "idle");
  s.workerSeen("m1", "map", "heartbeat"); // it was paused; it comes back
  assert.equal(s.completed("m1", "map", 0, 1), "accepted");
  assert.equal(s.taskState("map", 0), "completed");
});

Deno.test("a task that fails max-attempts times fails the job; stale results are ignored", () => {
  const { s } = make({ maps: 1, maxAttempts: 2 });
  s.workerSeen("m1", "map", "ready");
  let [a] = s.dispatch();
  assert.equal(s.failed("m1", "map", 0, a.attempt, "disk on fire"), "requeued");
  [a] = s.dispatch();
  assert.equal(a.attempt, 2);
  assert.equal(s.completed("m1", "map", 0, 7), "stale"); // never issued
  assert.equal(s.failed("m1", "map", 0, 2, "disk on fire"), "job_failed");
  assert.equal(s.state, "failed");
  assert.match(s.failure!, /map task 0 failed 2 times; last: disk on fire/);
  assert.deepEqual(s.dispatch(), []);
});

Deno.test("the job deadline fails the job", async () => {
  const { s, clock } = make({ deadlineMs: 5000 });
  s.workerSeen("m1", "map", "ready");
  s.dispatch();
  await clock.advance(4999);
  s.workerSeen("m1", "map", "heartbeat");
  s.tick(clock.now());
  assert.equal(s.state, "map");
  await clock.advance(1);
  s.tick(clock.now());
  assert.equal(s.state, "failed");
  assert.match(s.failure!, /deadline/);
});

Deno.test("a restarted worker (READY again) loses what it held; an unknown heartbeat rejoins", () => {
  const { s } = make({ maps: 1 });
  s.workerSeen("m1", "map", "ready");
  s.dispatch();
  s.workerSeen("m1", "map", "ready");
  assert.equal(s.taskState("map", 0), "idle");
  assert.equal(s.progress().requeued, 1);
  s.workerSeen("x9", "reduce", "heartbeat");
  assert.equal(s.workerType("x9"), "reduce");
  assert.equal(s.progress().workers.reduce, 1);
});

Deno.test("no input: the job goes straight to reduce (empty parts)", () => {
  const { s } = make({ maps: 0, reducers: 1 });
  assert.equal(s.state, "reduce");
});
