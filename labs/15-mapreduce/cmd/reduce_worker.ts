/**
 * reduce_worker: runs reduce tasks for mr_master. Connects a DEALER (Paranoid Pirate:
 * READY, heartbeats both ways, reconnect with backoff), reads its partition of every map
 * task's output from the shared work directory, groups and sorts by key, reduces, and
 * commits one part file atomically (write, fsync, rename, fsync dir).
 *
 * @module
 */

import { runRole } from "@lib/role/mod.ts";
import { JOBS } from "../internal/jobs.ts";
import { runReduceTask } from "../internal/tasks.ts";
import { runWorkerLoop, type WorkerFlags, workerFlags } from "../internal/worker_loop.ts";

await runRole<WorkerFlags>({
  name: "reduce_worker",
  summary: "Reduce worker: merges one partition of all map outputs, commits a part file",
  configure: workerFlags,
  async run(options, ctx) {
    await runWorkerLoop(ctx, {
      ...options,
      type: "reduce",
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
