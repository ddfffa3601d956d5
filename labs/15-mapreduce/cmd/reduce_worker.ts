/**
 * reduce_worker: runs reduce tasks for mr_master. Connects a DEALER (Paranoid Pirate:
 * READY, heartbeats both ways, reconnect with backoff), reads its partition of every map
 * task's output from the shared work directory, groups and sorts by key, reduces, and
 * commits one part file atomically (write, fsync, rename, fsync dir).
 *
 * @module
 */

import { duration, endpoint, int, runRole } from "@lib/role/mod.ts";
import { JOBS } from "../internal/jobs.ts";
import { runReduceTask } from "../internal/tasks.ts";
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
  name: "reduce_worker",
  summary: "Reduce worker: merges one partition of all map outputs, commits a part file",
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
      type: "reduce",
      heartbeatInterval: options.heartbeatInterval,
      liveness: options.liveness,
      taskDelay: options.taskDelay,
      freezeAfter: options.freezeAfter,
      freezeFor: options.freezeFor,
      async execute(task, pause) {
        if (task.kind !== "reduce") throw new Error(`expected a reduce task, got ${task.kind}`);
        const began = performance.now();
        const out = await runReduceTask({
          job: JOBS[task.job],
          r: task.task,
          maps: task.maps,
          workDir: task.work_dir,
          outDir: task.out_dir,
          pause,
        });
        return {
          kind: "reduce_done",
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
