/**
 * Process tests of Lab 15: real mr_master, map_worker and reduce_worker processes (run with
 * the manifest's permissions) on a generated corpus; every result is compared with the
 * single-process computation of the same job over the same files.
 */
import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { runOnce } from "@lib/testing/mod.ts";
import { Dealer, Router } from "@lib/zmq/mod.ts";
import { decodeFromWorker, encodeMessage } from "./internal/protocol.ts";
import { readOutput, SUCCESS } from "./internal/gather.ts";
import { JOBS, runLocal } from "./internal/jobs.ts";
import { jobDirs, snapshot, startMaster, startWorker } from "./testing.ts";

const LONG = { timeout: 90_000 };

Deno.test("wordcount equals the single-process result; a poisoned record is skipped and reported; malformed frames are dropped; a re-run is idempotent", async () => {
  await using dirs = await jobDirs("wordcount", 300_000, { poison: true });
  const expected = await runLocal(JOBS.wordcount, dirs.files);
  // The master first (it waits for workers), then the workers.
  let master = await startMaster(dirs, ["--job", "wordcount"]);
  try {
    // A peer that speaks garbage (before any worker: the job cannot be over yet): logged as
    // bad_message and dropped; the job goes on.
    const rogue = new Dealer({ linger: 0 });
    try {
      rogue.connect(dirs.endpoint);
      await rogue.send([new Uint8Array([0xc1, 0xff, 0x00])]);
      await rogue.send(["MR/1", encode({ kind: "map_done", task: -1 })]);
      await rogue.send(["MR/2", "x", "y"]);
      await master.event("bad_message", undefined, LONG);
    } finally {
      rogue.close();
    }
    await using m1 = await startWorker(dirs, "map_worker");
    await using m2 = await startWorker(dirs, "map_worker");
    await using r1 = await startWorker(dirs, "reduce_worker");
    const done = await master.event("job_done", undefined, LONG);
    assert.equal((await master.wait()).code, 0);
    assert.equal(done.skipped_records, 1);
    assert.equal(done.records, expected.records);
    const skip = await master.event("record_skipped");
    assert.equal(skip.reason, "not valid UTF-8");
    assert.match(String(skip.file), /doc-000\.txt$/);
    assert.deepEqual(await readOutput(dirs.out, 3), expected.output);
    const success = JSON.parse(await Deno.readTextFile(`${dirs.out}/${SUCCESS}`));
    assert.equal(success.skipped_records, 1);
    assert.equal(success.skipped[0].offset, skip.offset);
    assert.ok(master.eventCount("bad_message") >= 1);

    // Re-run on the same dirs with the same workers: the same bytes, file for file.
    const first = await snapshot(dirs.out);
    const intermediate = await snapshot(dirs.work);
    await master[Symbol.asyncDispose]();
    master = await startMaster(dirs, ["--job", "wordcount"]);
    await master.event("job_done", undefined, LONG);
    assert.equal((await master.wait()).code, 0);
    assert.deepEqual(await snapshot(dirs.out), first);
    assert.deepEqual(await snapshot(dirs.work), intermediate);
    for (const w of [m1, m2, r1]) await w.stop();
  } finally {
    await master[Symbol.asyncDispose]();
  }
});

Deno.test("kill -9 of a mapper and of a reducer mid-job: their tasks run again, same result", async () => {
  await using dirs = await jobDirs("invindex", 250_000);
  const expected = await runLocal(JOBS.invindex, dirs.files);
  await using master = await startMaster(dirs, [
    "--job",
    "invindex",
    "--heartbeat-interval",
    "200",
    "--liveness",
    "10",
    "--backup-after",
    "600s", // only the loss of a worker re-runs a task here
    "--no-combiner",
  ]);
  assert.equal((await master.event("job_started")).combiner, false);
  const fast = ["--heartbeat-interval", "200", "--liveness", "10"];
  await using victim = await startWorker(dirs, "map_worker", [...fast, "--task-delay", "120s"]);
  await using m2 = await startWorker(dirs, "map_worker", [...fast, "--task-delay", "100ms"]);
  await using m3 = await startWorker(dirs, "map_worker", [...fast, "--task-delay", "100ms"]);
  await using reducerVictim = await startWorker(dirs, "reduce_worker", [
    ...fast,
    "--task-delay",
    "120s",
  ]);
  await using r2 = await startWorker(dirs, "reduce_worker", fast);
  // The victims never finish a task by themselves (120 s each): the kill lands mid-task
  // however late the test sees the event, and only re-execution can finish the job.
  await victim.event("task_started", undefined, LONG);
  await victim.kill(); // SIGKILL
  await reducerVictim.event("task_started", undefined, LONG);
  await reducerVictim.kill();
  const done = await master.event("job_done", undefined, LONG);
  assert.equal((await master.wait()).code, 0);
  assert.ok(Number(done.workers_lost) >= 2, `workers_lost ${done.workers_lost}`);
  const story = master.events.filter((e) =>
    ["worker_lost", "task_requeued", "task_assigned", "task_done"].includes(String(e.event))
  ).map((e) => `${e.event} ${e.phase ?? e.type} ${e.task ?? ""} ${e.worker ?? ""}`).join("\n");
  assert.ok(Number(done.requeued) >= 2, `requeued ${done.requeued}\n${story}`);
  assert.ok(master.eventCount("task_requeued", (e) => e.phase === "map") >= 1);
  assert.ok(master.eventCount("task_requeued", (e) => e.phase === "reduce") >= 1);
  assert.deepEqual(await readOutput(dirs.out, 3), expected.output);
  for (const w of [m2, m3, r2]) await w.stop();
});

Deno.test("a SIGSTOPped straggler is overtaken by a backup task", async () => {
  await using dirs = await jobDirs("logstats", 200_000);
  const expected = await runLocal(JOBS.logstats, dirs.files);
  // Liveness 100 s: the stopped worker is never declared dead during the test; only a
  // backup attempt can finish its task.
  const slowDeath = ["--heartbeat-interval", "250", "--liveness", "400"];
  await using master = await startMaster(dirs, [
    "--job",
    "logstats",
    "--backup-after",
    "1s",
    ...slowDeath,
  ]);
  await using straggler = await startWorker(dirs, "map_worker", [
    ...slowDeath,
    "--task-delay",
    "120s", // it never finishes by itself: the SIGSTOP lands mid-task
  ]);
  let stopped = false;
  try {
    const started = await straggler.event("task_started", undefined, LONG);
    Deno.kill(straggler.pid, "SIGSTOP");
    stopped = true;
    await using healthy = await startWorker(dirs, "map_worker", slowDeath);
    await using reducer = await startWorker(dirs, "reduce_worker", slowDeath);
    const backup = await master.event(
      "backup_task",
      (e) => e.phase === "map" && e.task === started.task,
      LONG,
    );
    const done = await master.event("job_done", undefined, LONG);
    assert.equal((await master.wait()).code, 0);
    assert.ok(Number(done.backup_wins) >= 1);
    assert.equal(done.workers_lost, 0);
    assert.ok(
      master.eventCount(
        "task_done",
        (e) => e.task === started.task && e.attempt === backup.attempt,
      ) === 1,
    );
    assert.deepEqual(await readOutput(dirs.out, 3), expected.output);
    for (const w of [healthy, reducer]) await w.stop();
  } finally {
    if (stopped) Deno.kill(straggler.pid, "SIGCONT");
  }
});

Deno.test("bad configuration exits 2 with one line; --help works", async () => {
  const missing = await runOnce("15", "mr_master", ["--work-dir", "/tmp", "--out-dir", "/tmp"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /mr_master: .*--input/);
  const badJob = await runOnce("15", "mr_master", [
    "--job",
    "sort",
    "--input",
    "/tmp",
    "--work-dir",
    "/tmp",
    "--out-dir",
    "/tmp",
  ]);
  assert.equal(badJob.code, 2);
  // Regression: --max-record 0 was accepted and then skipped every record as poisoned.
  const zeroRecord = await runOnce("15", "mr_master", [
    "--input",
    "/tmp",
    "--work-dir",
    "/tmp",
    "--out-dir",
    "/tmp",
    "--max-record",
    "0",
  ]);
  assert.equal(zeroRecord.code, 2);
  assert.match(zeroRecord.stderr, /^mr_master: .*--max-record/);
  assert.equal(zeroRecord.stderr.trim().split("\n").length, 1, zeroRecord.stderr);
  const help = await runOnce("15", "map_worker", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--task-delay/);
});

Deno.test("the job deadline fails the job: job_failed and exit 1", async () => {
  await using dirs = await jobDirs("wordcount", 20_000);
  // No workers at all: nothing can finish before the deadline.
  await using master = await startMaster(dirs, ["--deadline", "1500ms"]);
  const failed = await master.event("job_failed", undefined, LONG);
  assert.match(String(failed.reason), /deadline/);
  assert.equal((await master.wait()).code, 1);
  await assert.rejects(Deno.stat(`${dirs.out}/${SUCCESS}`), Deno.errors.NotFound);
});

Deno.test("a worker drops malformed frames from its master as bad_message and keeps working", async () => {
  await using dirs = await jobDirs("wordcount", 5_000, { files: 1 });
  const router = new Router({ linger: 0, receiveTimeout: 60_000 });
  try {
    await router.bind(dirs.endpoint);
    await using worker = await startWorker(dirs, "map_worker");
    const [id, ready] = await router.receive();
    assert.equal(new TextDecoder().decode(ready), "MR/1 READY map");
    await router.send([id, "MR/1", new Uint8Array([0xc1])]); // not msgpack
    await router.send([id, "MR/1", encode({ kind: "map", task: 1 })]); // schema mismatch
    await router.send([id, "no such word"]); // unknown control word
    await worker.event("bad_message", undefined, LONG);
    // Still a worker: a real task after the garbage is run and answered.
    await router.send([
      id,
      ...encodeMessage({
        kind: "map",
        job_id: "t1",
        job: "wordcount",
        task: 0,
        attempt: 1,
        file: dirs.files[0],
        start: 0,
        end: (await Deno.stat(dirs.files[0])).size,
        reducers: 1,
        work_dir: dirs.dir.path,
        combine: true,
        max_record: 1 << 20,
        max_skipped: 0,
      }),
    ]);
    for (;;) {
      const frames = await router.receive();
      if (frames.length === 3) {
        const result = decodeFromWorker(frames.slice(1));
        assert.equal(result.kind, "map_done");
        assert.equal("job_id" in result && result.job_id, "t1");
        break;
      }
    }
    assert.ok(worker.eventCount("bad_message") >= 1);
    await worker.stop();
  } finally {
    router.close();
  }
});
