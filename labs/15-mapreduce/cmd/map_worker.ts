/**
 * map_worker: runs map tasks for mr_master. Connects a DEALER (Paranoid Pirate: READY,
 * heartbeats both ways, reconnect with backoff), reads its split of an input file, maps
 * each record, skips and reports poisoned records, partitions the pairs by key hash into
 * R sorted (optionally combined) files and commits each atomically into the shared work
 * directory, where the reducers read them.
 *
 * @module
 */

import { duration, endpoint, int, runRole } from "@lib/role/mod.ts";
import { JOBS } from "../internal/jobs.ts";
import { runMapTask } from "../internal/tasks.ts";
import { runWorkerLoop } from "../internal/worker_loop.ts";

interface Options {
  master: string;
  heartbeatInterval: number;
  liveness: number;
  taskDelay: number;
  freezeAfter?: number;
  freezeFor: number;
}

await runRole<Options>({
  name: "map_worker",
  summary: "Map worker: maps a split, partitions by key hash into R files (the shuffle)",
  configure: (cmd) =>
    cmd
      .option("--master <endpoint>", "mr_master endpoint", endpoint, "tcp://127.0.0.1:5595")
      .option("--heartbeat-interval <ms>", "heartbeat interval", int({ min: 10 }), 1000)
      .option("--liveness <n>", "silent intervals before the master is lost", int({ min: 1 }), 5)
      .option(
        "--task-delay <duration>",
        "extra time per task (fault injection: a straggler)",
        duration,
        0,
      )
      .option(
        "--freeze-after <n>",
        "fault injection: freeze the process on the task after the n-th (once)",
        int({ min: 0 }),
      )
      .option("--freeze-for <duration>", "how long --freeze-after freezes", duration, 8000),
  async run(options, ctx) {
    await runWorkerLoop(ctx, {
      master: options.master,
      type: "map",
      heartbeatInterval: options.heartbeatInterval,
      liveness: options.liveness,
      taskDelay: options.taskDelay,
      freezeAfter: options.freezeAfter,
      freezeFor: options.freezeFor,
      async execute(task, pause) {
        if (task.kind !== "map") throw new Error(`expected a map task, got ${task.kind}`);
        const began = performance.now();
        const out = await runMapTask({
          job: JOBS[task.job],
          m: task.task,
          file: task.file,
          start: task.start,
          end: task.end,
          reducers: task.reducers,
          workDir: task.work_dir,
          combine: task.combine,
          maxRecord: task.max_record,
          maxSkipped: task.max_skipped,
          pause,
        });
        return {
          kind: "map_done",
          job_id: task.job_id,
          task: task.task,
          attempt: task.attempt,
          ms: performance.now() - began,
          ...out,
        };
      },
    });
  },
});
