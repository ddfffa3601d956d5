/**
 * The socket loop both worker roles share: a DEALER to the master driven by the
 * `@lib/patterns` Paranoid Pirate worker (READY on every (re)connect, heartbeats both ways,
 * a fresh socket with capped backoff when the master goes silent), one task at a time,
 * run without blocking the heartbeats (the task yields to the event loop every few
 * thousand records).
 *
 * The master sends a task only to a worker it believes idle; a worker that is still busy
 * with an earlier master run's task (the master restarted) queues the new one (at most
 * {@linkcode MAX_QUEUED}) instead of refusing it. A task that cannot be taken (queue full,
 * stopping) is answered at once with `task_failed`, so the master requeues it without
 * waiting for a heartbeat timeout.
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { systemClock } from "@lib/async/mod.ts";
import { InFlight, ParanoidPirateWorker } from "@lib/patterns/mod.ts";
import { type Command, duration, endpoint, int, type RoleContext } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import {
  decodeTask,
  encodeMessage,
  heartbeatWord,
  readyWord,
  type Result,
  type Task,
  type WorkerType,
} from "./protocol.ts";
import { TaskError } from "./tasks.ts";

/** Options of {@linkcode runWorkerLoop}. */
export interface WorkerLoopOptions {
  master: string;
  type: WorkerType;
  heartbeatInterval: number;
  liveness: number;
  /** Extra time per task (fault injection: a slow worker). */
  taskDelay: number;
  /**
   * Fault injection: after this many tasks, the next one freezes the whole process (no
   * heartbeats, no reads: a hung process, a long GC pause) for `freezeFor` ms, once.
   */
  freezeAfter?: number;
  freezeFor?: number;
  /** Runs one task of this worker's type; throws TaskError for a reportable failure. */
  execute(task: Task, pause: () => Promise<void>): Promise<Result>;
}

/** The command-line options every worker role shares. */
export type WorkerFlags = Omit<WorkerLoopOptions, "type" | "execute">;

/**
 * Declares the options every worker role shares (master, heartbeats, fault injection).
 *
 * @example
 * ```ts
 * import { Command } from "@lib/role/mod.ts";
 * import { workerFlags } from "./worker_loop.ts";
 * workerFlags(new Command());
 * ```
 */
export function workerFlags(cmd: Command): Command {
  return cmd
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
    .option("--freeze-for <duration>", "how long --freeze-after freezes", duration, 8000);
}

/** Blocks this thread (timers, sockets, heartbeats) without burning CPU. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Tasks a worker holds at most (running and queued). */
export const MAX_QUEUED = 4;

const yieldToLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs until the role is stopped; the task in hand is finished and reported within the
 * drain budget.
 */
export async function runWorkerLoop(ctx: RoleContext, options: WorkerLoopOptions): Promise<void> {
  const log = ctx.log.child({ master: options.master });
  const inHand = new InFlight<number>();
  let seq = 0;
  let socket: Dealer | undefined;
  let sendDropped = 0;
  const queue: { id: number; task: Task }[] = [];
  let running = false;
  let frozen = false;
  const stats = { done: 0, failed: 0, declined: 0 };

  const refuse = (task: Task, reason: string) => {
    stats.declined++;
    log.info("task_declined", { task: task.task, attempt: task.attempt, reason });
    pirate.reply(encodeMessage({
      kind: "task_failed",
      job_id: task.job_id,
      phase: task.kind,
      task: task.task,
      attempt: task.attempt,
      error: `declined: ${reason}`,
    }));
  };

  const pirate: ParanoidPirateWorker = new ParanoidPirateWorker({
    clock: systemClock,
    log,
    send: (frames) => {
      const current = socket;
      if (!current || current.closed) throw new Error("no connected socket");
      current.send(frames).catch((error) => {
        if (current.closed) return;
        sendDropped++;
        log.limited("warn", "send_dropped", { error: String(error), dropped: sendDropped });
      });
    },
    connect: () => {
      const fresh = new Dealer({ linger: 1000 });
      fresh.connect(options.master);
      socket = fresh;
      ctx.serve(fresh, (frames) => {
        const request = pirate.receive(frames);
        if (!request) return;
        let task: Task;
        try {
          task = decodeTask(request);
        } catch (error) {
          pirate.discard();
          throw error; // serve() logs bad_message
        }
        if (ctx.signal.aborted) return refuse(task, "stopping");
        if (queue.length + (running ? 1 : 0) >= MAX_QUEUED) return refuse(task, "queue full");
        const id = ++seq;
        inHand.add(id);
        queue.push({ id, task });
        pump();
      }, { name: "master", untilClosed: true }).catch(() => {});
    },
    disconnect: () => socket?.close({ linger: 0 }),
  }, {
    ready: readyWord(options.type),
    heartbeat: heartbeatWord(options.type),
    heartbeatIntervalMs: options.heartbeatInterval,
    liveness: options.liveness,
    heartbeatOnConnect: true,
  });

  const pump = () => {
    if (running) return;
    const next = queue.shift();
    if (!next) return;
    const { id, task } = next;
    if (ctx.signal.aborted) {
      refuse(task, "stopping");
      inHand.done(id);
      return pump();
    }
    running = true;
    if (
      !frozen && options.freezeAfter !== undefined && (options.freezeFor ?? 0) > 0 &&
      id > options.freezeAfter
    ) {
      frozen = true;
      ctx.log.warn("freezing", { task: task.task, ms: options.freezeFor });
      freeze(options.freezeFor!);
      ctx.log.warn("thawed", { task: task.task });
    }
    ctx.log.info("task_started", {
      phase: task.kind,
      task: task.task,
      attempt: task.attempt,
      ...(task.kind === "map" ? { file: task.file, start: task.start, end: task.end } : {}),
    });
    const began = performance.now();
    (async () => {
      if (options.taskDelay > 0) await ctx.sleep(options.taskDelay);
      return await options.execute(task, yieldToLoop);
    })().then(
      (result) => {
        stats.done++;
        pirate.reply(encodeMessage(result));
        ctx.log.info("task_done", {
          phase: task.kind,
          task: task.task,
          attempt: task.attempt,
          ms: Math.round(performance.now() - began),
        });
      },
      (error) => {
        stats.failed++;
        const message = error instanceof TaskError || error instanceof BadMessageError
          ? error.message
          : `unexpected: ${error instanceof Error ? error.message : String(error)}`;
        ctx.log.warn("task_failed", { phase: task.kind, task: task.task, error: message });
        pirate.reply(encodeMessage({
          kind: "task_failed",
          job_id: task.job_id,
          phase: task.kind,
          task: task.task,
          attempt: task.attempt,
          error: message.slice(0, 2000),
        }));
      },
    ).finally(() => {
      running = false;
      inHand.done(id);
      pump();
    });
  };

  const tickMs = Math.max(10, Math.min(100, Math.floor(options.heartbeatInterval / 4)));
  ctx.every(tickMs, () => pirate.tick(systemClock.now()));
  pirate.start();
  await ctx.stopped;
  pirate.stop();
  // Queued tasks are handed back at once; the running one is finished and reported.
  pump();
  await ctx.drain(() => inHand.whenSettled(), { what: "task in hand" });
  ctx.log.info("worker_stats", { ...stats, ...pirate.stats(), send_dropped: sendDropped });
}
