/**
 * The master's task scheduler, sans-IO: map and reduce tasks, each a small state machine
 * (table below), the job's phases (another table), and the workers (two
 * `@lib/patterns` {@linkcode WorkerQueue}s — map and reduce — with heartbeat liveness).
 *
 * Fault tolerance is re-execution: a worker that goes silent is removed and the attempts
 * it held are lost (the task goes back to `idle` and runs again elsewhere, up to
 * `maxAttempts` attempts); when a phase has no idle task left and a worker of that phase
 * is free, an attempt running longer than `backupAfterMs` gets a backup attempt on that
 * worker, and whichever attempt finishes first completes the task (tasks are
 * deterministic and commit atomically, so the later one is a harmless duplicate). A task
 * done is done for good: map outputs live in the shared work directory, not on the
 * worker, so a worker lost after finishing costs nothing. The job fails on its deadline or
 * when a task runs out of attempts.
 *
 * The role feeds it what workers say and calls `tick(now)`; it returns the assignments to
 * send. Clock and logger are injected (`ManualClock` and a memory logger in tests).
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import { Fsm, type FsmTable, step, WorkerQueue } from "@lib/patterns/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import type { WorkerType } from "./protocol.ts";

/** States of one task. */
export type TaskState = "idle" | "in_progress" | "backup" | "completed" | "failed";
/** What happens to a task. */
export type TaskEvent = "assign" | "speculate" | "done" | "lost" | "error";
/** What the scheduler does on a transition. */
export type TaskAction =
  | "send_task"
  | "send_backup"
  | "record"
  | "record_late"
  | "ignore"
  | "requeue"
  | "fail_job"
  | "wait_other";

/**
 * One task's state machine. `lost` = its worker died; `error` = its worker reported a
 * failure; both count the attempt. `attempts_left`: fewer than `maxAttempts` attempts made.
 */
export const TASK_TABLE: FsmTable<TaskState, TaskEvent, TaskAction> = {
  states: ["idle", "in_progress", "backup", "completed", "failed"],
  events: ["assign", "speculate", "done", "lost", "error"],
  initial: "idle",
  cells: {
    idle: {
      assign: { next: "in_progress", action: "send_task" },
      // An attempt presumed lost (its worker expired) finished after all.
      done: { next: "completed", action: "record_late" },
    },
    in_progress: {
      speculate: { next: "backup", action: "send_backup" },
      done: { next: "completed", action: "record" },
      lost: [
        { when: "attempts_left", next: "idle", action: "requeue" },
        { next: "failed", action: "fail_job" },
      ],
      error: [
        { when: "attempts_left", next: "idle", action: "requeue" },
        { next: "failed", action: "fail_job" },
      ],
    },
    backup: {
      done: { next: "completed", action: "record" },
      lost: { next: "in_progress", action: "wait_other" },
      error: { next: "in_progress", action: "wait_other" },
    },
    completed: {
      done: { next: "completed", action: "ignore" },
      lost: { next: "completed", action: "ignore" },
      error: { next: "completed", action: "ignore" },
    },
    failed: {},
  },
};

/** Phases of the job. */
export type JobState = "map" | "reduce" | "done" | "failed";
/** What moves the job. */
export type JobEvent = "maps_done" | "reduces_done" | "task_failed" | "deadline";

/** The job's phases: reduce starts only when every map task is completed. */
export const JOB_TABLE: FsmTable<JobState, JobEvent, "start_reduce" | "commit_job" | "abort"> = {
  states: ["map", "reduce", "done", "failed"],
  events: ["maps_done", "reduces_done", "task_failed", "deadline"],
  initial: "map",
  cells: {
    map: {
      maps_done: { next: "reduce", action: "start_reduce" },
      task_failed: { next: "failed", action: "abort" },
      deadline: { next: "failed", action: "abort" },
    },
    reduce: {
      reduces_done: { next: "done", action: "commit_job" },
      task_failed: { next: "failed", action: "abort" },
      deadline: { next: "failed", action: "abort" },
    },
    done: {},
    failed: {},
  },
};

/** Options of {@linkcode Scheduler}. */
export interface SchedulerOptions {
  clock: Clock;
  log: Logger;
  /** Number of map tasks (splits). */
  maps: number;
  /** Number of reduce tasks (R). */
  reducers: number;
  heartbeatIntervalMs: number;
  /** Silent heartbeat intervals before a worker is dead. */
  liveness: number;
  /** An attempt running this long may get a backup once no task of its phase is idle. */
  backupAfterMs: number;
  /** Attempts per task before the job fails. */
  maxAttempts: number;
  /** The job fails if not done this long after the scheduler was made (0: no deadline). */
  deadlineMs: number;
  /** Most workers of each type. */
  maxWorkers?: number;
}

/** A task to send to a worker. */
export interface Assignment {
  worker: string;
  phase: WorkerType;
  task: number;
  attempt: number;
  backup: boolean;
}

interface Attempt {
  worker: string;
  startedAt: number;
  backup: boolean;
}

interface TaskRecord {
  phase: WorkerType;
  index: number;
  state: TaskState;
  attempts: number;
  running: Map<number, Attempt>;
  ms?: number;
}

/** Progress of one phase. */
export interface PhaseProgress {
  total: number;
  done: number;
  running: number;
  idle: number;
}

/** What the live view shows. */
export interface Progress {
  phase: JobState;
  map: PhaseProgress;
  reduce: PhaseProgress;
  workers: { map: number; reduce: number };
  elapsedMs: number;
  backups: number;
  backupWins: number;
  requeued: number;
  workersLost: number;
  duplicates: number;
}

/** What `completed`/`failed` did with a worker's result. */
export type ResultOutcome = "accepted" | "duplicate" | "stale" | "requeued" | "job_failed";

const jobKey = (phase: WorkerType, task: number, attempt: number) => `${phase}:${task}:${attempt}`;
function parseJobKey(key: string): [WorkerType, number, number] {
  const [phase, task, attempt] = key.split(":");
  return [phase as WorkerType, Number(task), Number(attempt)];
}

/**
 * The scheduler of one job.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { Scheduler } from "./scheduler.ts";
 *
 * const s = new Scheduler({
 *   clock: new ManualClock(), log: createMemoryLogger(), maps: 1, reducers: 1,
 *   heartbeatIntervalMs: 1000, liveness: 3, backupAfterMs: 5000, maxAttempts: 3, deadlineMs: 0,
 * });
 * s.workerSeen("w1", "map", "ready");
 * const [a] = s.dispatch(); // { worker: "w1", phase: "map", task: 0, attempt: 1, backup: false }
 * s.completed("w1", "map", a.task, a.attempt);
 * console.log(s.state); // "reduce"
 * ```
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #options: SchedulerOptions;
  readonly #queues: Record<WorkerType, WorkerQueue<string, string, WorkerType>>;
  readonly #tasks: Record<WorkerType, TaskRecord[]>;
  readonly #job = new Fsm(JOB_TABLE);
  readonly #startedAt: number;
  #endedAt: number | null = null;
  #failure: string | null = null;
  #counts = { backups: 0, backupWins: 0, requeued: 0, workersLost: 0, duplicates: 0 };

  constructor(options: SchedulerOptions) {
    if (!(options.maxAttempts >= 1)) {
      throw new RangeError(`expected maxAttempts >= 1, got ${options.maxAttempts}`);
    }
    this.#clock = options.clock;
    this.#log = options.log;
    this.#options = options;
    const queue = () =>
      new WorkerQueue<string, string, WorkerType>({
        clock: options.clock,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        liveness: options.liveness,
        maxWorkers: options.maxWorkers ?? 256,
      });
    this.#queues = { map: queue(), reduce: queue() };
    const tasks = (phase: WorkerType, n: number): TaskRecord[] =>
      Array.from({ length: n }, (_, index) => ({
        phase,
        index,
        state: "idle",
        attempts: 0,
        running: new Map(),
      }));
    this.#tasks = { map: tasks("map", options.maps), reduce: tasks("reduce", options.reducers) };
    this.#startedAt = options.clock.now();
    if (options.maps === 0) this.#advance();
  }

  /** The job's phase. */
  get state(): JobState {
    return this.#job.state;
  }

  /** Why the job failed, once it has. */
  get failure(): string | null {
    return this.#failure;
  }

  /** The state of one task (for tests and the view). */
  taskState(phase: WorkerType, task: number): TaskState {
    return this.#tasks[phase][task].state;
  }

  /** Attempts made of one task. */
  attempts(phase: WorkerType, task: number): number {
    return this.#tasks[phase][task].attempts;
  }

  /**
   * A READY or HEARTBEAT from `worker`: a READY (re)registers it (attempts it held are lost:
   * it restarted); a heartbeat from an unknown worker registers it too (the master
   * restarted, or expired it while it was paused).
   */
  workerSeen(worker: string, type: WorkerType, word: "ready" | "heartbeat"): void {
    const queue = this.#queues[type];
    const other = this.#queues[type === "map" ? "reduce" : "map"];
    if (other.has(worker)) this.#lose(other, worker, "changed type");
    if (word === "heartbeat" && queue.has(worker)) {
      queue.heard(worker, { heartbeat: true });
      return;
    }
    const result = queue.ready(worker, type);
    if (result.outcome === "refused") {
      this.#log.limited("warn", "worker_refused", { worker, type }, "worker_refused");
      return;
    }
    queue.heard(worker, { heartbeat: true });
    if (result.outcome === "joined") this.#log.info("worker_joined", { worker, type, via: word });
    for (const job of result.orphaned) this.#attemptEnded(job, "lost", "worker restarted");
  }

  /** Any other message from `worker` proves it alive. */
  heard(worker: string): void {
    this.#queues.map.heard(worker) || this.#queues.reduce.heard(worker);
  }

  /** Whether `worker` is known, and as which type. */
  workerType(worker: string): WorkerType | undefined {
    if (this.#queues.map.has(worker)) return "map";
    if (this.#queues.reduce.has(worker)) return "reduce";
    return undefined;
  }

  /** A task finished: the first attempt to finish completes it. */
  completed(worker: string, phase: WorkerType, task: number, attempt: number): ResultOutcome {
    const record = this.#tasks[phase][task];
    if (!record || attempt < 1 || attempt > record.attempts) {
      this.#log.limited("warn", "stale_result", { worker, phase, task, attempt }, "stale_result");
      this.#freeWorker(worker, phase, task, attempt);
      return "stale";
    }
    const run = record.running.get(attempt);
    record.running.delete(attempt);
    this.#freeWorker(worker, phase, task, attempt);
    const fired = this.#fire(record, "done");
    if (!fired.ok || fired.action === "ignore") {
      this.#counts.duplicates++;
      this.#log.info("duplicate_result", { phase, task, attempt, worker });
      return "duplicate";
    }
    record.ms = this.#clock.now() - (run?.startedAt ?? this.#clock.now());
    if (run?.backup) this.#counts.backupWins++;
    this.#log.info("task_done", {
      phase,
      task,
      attempt,
      worker,
      backup: run?.backup ?? false,
      late: fired.action === "record_late",
      ms: Math.round(record.ms),
    });
    this.#advance();
    return "accepted";
  }

  /** A worker reported that an attempt failed. */
  failed(
    worker: string,
    phase: WorkerType,
    task: number,
    attempt: number,
    error: string,
  ): ResultOutcome {
    const record = this.#tasks[phase][task];
    this.#freeWorker(worker, phase, task, attempt);
    if (!record || !record.running.has(attempt)) return "stale";
    this.#log.warn("task_failed", { phase, task, attempt, worker, error });
    return this.#attemptEnded(jobKey(phase, task, attempt), "error", error);
  }

  /**
   * Time-driven work: expired workers (their attempts lost), the job deadline. Call it
   * more often than the heartbeat interval, then {@linkcode dispatch}.
   */
  tick(now: number): void {
    for (const type of ["map", "reduce"] as const) {
      for (const { worker, reason } of this.#queues[type].tick(now)) {
        this.#counts.workersLost++;
        this.#log.warn("worker_lost", {
          worker: worker.key,
          type,
          reason,
          silent_ms: Math.round(now - worker.lastSeen),
          attempts: worker.jobs.length,
        });
        for (const job of worker.jobs) this.#attemptEnded(job, "lost", reason);
      }
    }
    const deadline = this.#options.deadlineMs;
    if (deadline > 0 && this.#endedAt === null && now - this.#startedAt >= deadline) {
      this.#job.fire("deadline");
      this.#finish(`deadline: not done within ${deadline} ms`);
    }
  }

  /**
   * Assigns idle tasks of the current phase to free workers, then backup attempts for
   * long-running ones when no task is idle. Returns what to send.
   */
  dispatch(): Assignment[] {
    const phase = this.#job.state;
    if (phase !== "map" && phase !== "reduce") return [];
    const queue = this.#queues[phase];
    const out: Assignment[] = [];
    const now = this.#clock.now();
    for (const record of this.#tasks[phase]) {
      if (record.state !== "idle") continue;
      const worker = queue.next();
      if (worker === undefined) return out;
      out.push(this.#start(record, worker, "assign", now));
    }
    // Near the end of the phase: backups for stragglers, oldest first.
    const candidates = this.#tasks[phase]
      .filter((r) => r.state === "in_progress" && r.running.size === 1)
      .map((r) => ({ r, since: [...r.running.values()][0].startedAt }))
      .filter(({ since }) => now - since >= this.#options.backupAfterMs)
      .sort((a, b) => a.since - b.since);
    for (const { r, since } of candidates) {
      if (r.attempts >= this.#options.maxAttempts) continue;
      const worker = queue.next();
      if (worker === undefined) break;
      this.#counts.backups++;
      const a = this.#start(r, worker, "speculate", now);
      this.#log.info("backup_task", {
        phase,
        task: r.index,
        attempt: a.attempt,
        worker,
        straggler_ms: Math.round(now - since),
      });
      out.push(a);
    }
    return out;
  }

  /** Workers due a heartbeat now, with their type. */
  heartbeatDue(now: number): { worker: string; type: WorkerType }[] {
    const due: { worker: string; type: WorkerType }[] = [];
    for (const type of ["map", "reduce"] as const) {
      for (const w of this.#queues[type].heartbeatDue(now)) due.push({ worker: w.key, type });
    }
    return due;
  }

  /** Counters and per-phase progress. */
  progress(): Progress {
    const phase = (p: WorkerType): PhaseProgress => {
      const tasks = this.#tasks[p];
      return {
        total: tasks.length,
        done: tasks.filter((t) => t.state === "completed").length,
        running: tasks.filter((t) => t.state === "in_progress" || t.state === "backup").length,
        idle: tasks.filter((t) => t.state === "idle").length,
      };
    };
    return {
      phase: this.#job.state,
      map: phase("map"),
      reduce: phase("reduce"),
      workers: { map: this.#queues.map.size, reduce: this.#queues.reduce.size },
      elapsedMs: (this.#endedAt ?? this.#clock.now()) - this.#startedAt,
      ...this.#counts,
    };
  }

  #start(record: TaskRecord, worker: string, event: "assign" | "speculate", now: number) {
    this.#fire(record, event);
    record.attempts++;
    const backup = event === "speculate";
    record.running.set(record.attempts, { worker, startedAt: now, backup });
    this.#queues[record.phase].assign(worker, jobKey(record.phase, record.index, record.attempts));
    return { worker, phase: record.phase, task: record.index, attempt: record.attempts, backup };
  }

  #fire(record: TaskRecord, event: TaskEvent) {
    const result = step(TASK_TABLE, record.state, event, {
      attempts_left: () => record.attempts < this.#options.maxAttempts,
    });
    if (result.ok) record.state = result.next;
    return result;
  }

  /** An attempt ended without a result (its worker died, or it reported failure). */
  #attemptEnded(job: string, event: "lost" | "error", reason: string): ResultOutcome {
    const [phase, task, attempt] = parseJobKey(job);
    const record = this.#tasks[phase]?.[task];
    if (!record || !record.running.delete(attempt)) return "stale";
    const fired = this.#fire(record, event);
    if (!fired.ok) return "stale";
    if (fired.action === "requeue") {
      this.#counts.requeued++;
      this.#log.warn("task_requeued", { phase, task, attempt, reason });
      return "requeued";
    }
    if (fired.action === "fail_job") {
      this.#job.fire("task_failed");
      this.#finish(`${phase} task ${task} failed ${record.attempts} times; last: ${reason}`);
      return "job_failed";
    }
    return "stale";
  }

  #freeWorker(worker: string, phase: WorkerType, task: number, attempt: number): void {
    this.#queues[phase].done(worker, jobKey(phase, task, attempt));
  }

  #lose(queue: WorkerQueue<string, string, WorkerType>, worker: string, reason: string): void {
    const info = queue.remove(worker);
    for (const job of info?.jobs ?? []) this.#attemptEnded(job, "lost", reason);
  }

  #advance(): void {
    if (this.#job.state === "map" && this.#tasks.map.every((t) => t.state === "completed")) {
      this.#job.fire("maps_done");
      this.#log.info("phase", { phase: "reduce", maps: this.#tasks.map.length });
    }
    if (this.#job.state === "reduce" && this.#tasks.reduce.every((t) => t.state === "completed")) {
      this.#job.fire("reduces_done");
      this.#finish(null);
    }
  }

  #finish(failure: string | null): void {
    if (this.#endedAt !== null) return;
    this.#endedAt = this.#clock.now();
    this.#failure = failure;
  }
}
