/**
 * map_worker: runs map tasks for mr_master. Connects a DEALER (Paranoid Pirate: READY,
 * heartbeats both ways, reconnect with backoff), reads its split of an input file, maps
 * each record, skips and reports poisoned records, partitions the pairs by key hash into
 * R sorted (optionally combined) files and commits each atomically into the shared work
 * directory, where the reducers read them.
 *
 * @module
 */

import { runRole } from "@lib/role/mod.ts";
import { JOBS } from "../internal/jobs.ts";
import { runMapTask } from "../internal/tasks.ts";
import { runWorkerLoop, type WorkerFlags, workerFlags } from "../internal/worker_loop.ts";

await runRole<WorkerFlags>({
  name: "map_worker",
  summary: "Map worker: maps a split, partitions by key hash into R files (the shuffle)",
  configure: workerFlags,
  async run(options, ctx) {
    await runWorkerLoop(ctx, {
      ...options,
      type: "map",
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
