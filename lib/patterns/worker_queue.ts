/**
 * The broker side of the Guide's load-balancing patterns (lbbroker, ppqueue): a bounded
 * table of workers with a least-recently-used ready list, per-worker liveness (heartbeats
 * and job deadlines), the jobs each worker holds (handed back for requeueing when it dies),
 * and a quarantine with backoff for workers that keep answering garbage.
 *
 * A pure data structure on a clock: it never sends. The broker feeds it what workers say
 * (`ready`, `heard`, `done`, `bad`) and calls `tick(now)`; what expired comes back as
 * values, and `heartbeatDue(now)` says whom to beat.
 *
 * @module
 */

import { Backoff, type BackoffOptions } from "../async/backoff.ts";
import type { Clock } from "../async/clock.ts";

/** Options of {@linkcode WorkerQueue}. */
export interface WorkerQueueOptions {
  /** Time source (`ManualClock` in tests). */
  clock: Clock;
  /** Most workers known at once; one more is refused (default 1000). */
  maxWorkers?: number;
  /** Heartbeat interval in ms, both ways (heartbeating workers only). */
  heartbeatIntervalMs: number;
  /** Silent intervals before a heartbeating worker is dead (default 3). */
  liveness?: number;
  /** A job held longer than this kills its worker (default: no limit). */
  jobTimeoutMs?: number;
  /**
   * Quarantine after a bad answer: a worker sits out `initialMs`, doubling per
   * consecutive bad answer up to `maxMs` (default 1 s → 30 s, no jitter), then is tried again.
   */
  quarantine?: Partial<BackoffOptions>;
}

/** A worker as the queue knows it (a snapshot: read-only). */
export interface WorkerInfo<K, J, D> {
  key: K;
  /** What the broker attached on `ready` (e.g. the routing id). */
  data: D;
  /** Jobs held, oldest first. */
  jobs: J[];
  /** Sent a heartbeat: expected to keep doing so. */
  heartbeats: boolean;
  /** Clock time of the last message from it. */
  lastSeen: number;
  /** Jobs it finished. */
  done: number;
  /** Consecutive bad answers (reset by a good one). */
  strikes: number;
  /** Clock time its quarantine ends, or null. */
  quarantinedUntil: number | null;
}

/** A worker that died, with the jobs to requeue. */
export interface Expired<K, J, D> {
  worker: WorkerInfo<K, J, D>;
  reason: "heartbeat_expired" | "job_timeout";
}

/** Outcome of {@linkcode WorkerQueue.ready}. */
export interface ReadyResult<J> {
  /** `joined` (new), `ready` (known), `quarantined` (known, sitting out), `refused` (table full). */
  outcome: "joined" | "ready" | "quarantined" | "refused";
  /** Jobs a known worker held: a READY means it restarted, so they are lost (requeue them). */
  orphaned: J[];
}

/** Outcome of {@linkcode WorkerQueue.bad}. */
export interface QuarantineResult<J> {
  /** Consecutive bad answers. */
  strikes: number;
  /** How long it sits out. */
  retryMs: number;
  /** Jobs it held (requeue them). */
  orphaned: J[];
  /** False when the worker was unknown and the table is full (nothing recorded). */
  known: boolean;
}

/** Counters and gauges. */
export interface WorkerQueueStats {
  workers: number;
  ready: number;
  quarantined: number;
  busy: number;
  joined: number;
  refused: number;
  expired: number;
  quarantines: number;
  releasedFromQuarantine: number;
}

interface Worker<K, J, D> {
  key: K;
  data: D;
  jobs: Map<J, number>;
  heartbeats: boolean;
  lastSeen: number;
  done: number;
  strikes: number;
  quarantinedUntil: number | null;
  backoff: Backoff;
}

/**
 * Workers by key (bytes → use a string key, e.g. hex), the LRU ready list, liveness,
 * held jobs and quarantine.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { WorkerQueue } from "@lib/patterns/mod.ts";
 *
 * const clock = new ManualClock();
 * const q = new WorkerQueue<string, string>({ clock, heartbeatIntervalMs: 1000 });
 * q.ready("w1");
 * q.ready("w2");
 * const worker = q.next()!; // "w1": idle longest
 * q.assign(worker, "job-1");
 * q.done(worker, "job-1"); // back at the end of the ready list
 * console.log(q.readyList()); // ["w2", "w1"]
 * q.heard("w2", { heartbeat: true });
 * clock.set(3000);
 * console.log(q.tick(clock.now()).map((e) => e.worker.key)); // ["w2"]: silent for 3 intervals
 * ```
 */
export class WorkerQueue<K, J = string, D = undefined> {
  readonly #clock: Clock;
  readonly #maxWorkers: number;
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #jobTimeoutMs: number;
  readonly #quarantine: BackoffOptions;
  #workers = new Map<K, Worker<K, J, D>>();
  // Map iteration order is insertion order: the first key is the least recently used.
  #ready = new Map<K, true>();
  #quarantined = new Set<K>();
  #nextBeat: number;
  #lastTick: number | null = null;
  #counts = { joined: 0, refused: 0, expired: 0, quarantines: 0, releasedFromQuarantine: 0 };

  constructor(options: WorkerQueueOptions) {
    if (!(options.heartbeatIntervalMs > 0)) {
      throw new RangeError(`expected heartbeatIntervalMs > 0, got ${options.heartbeatIntervalMs}`);
    }
    this.#clock = options.clock;
    this.#maxWorkers = options.maxWorkers ?? 1000;
    this.#intervalMs = options.heartbeatIntervalMs;
    this.#liveness = options.liveness ?? 3;
    this.#jobTimeoutMs = options.jobTimeoutMs ?? Infinity;
    this.#quarantine = { initialMs: 1000, maxMs: 30_000, jitter: "none", ...options.quarantine };
    new Backoff(this.#quarantine); // validates
    this.#nextBeat = this.#clock.now() + this.#intervalMs;
  }

  /** Workers known. */
  get size(): number {
    return this.#workers.size;
  }

  /** Workers in the ready list. */
  get readyCount(): number {
    return this.#ready.size;
  }

  /** Most workers known at once. */
  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** True when one more worker would be refused. */
  get full(): boolean {
    return this.#workers.size >= this.#maxWorkers;
  }

  /** Whether `key` is known. */
  has(key: K): boolean {
    return this.#workers.has(key);
  }

  /** A snapshot of one worker. */
  get(key: K): WorkerInfo<K, J, D> | undefined {
    const w = this.#workers.get(key);
    return w && snapshot(w);
  }

  /** Whether `key` holds `job`. */
  holds(key: K, job: J): boolean {
    return this.#workers.get(key)?.jobs.has(job) ?? false;
  }

  /** Ready workers, least recently used first. */
  readyList(): K[] {
    return [...this.#ready.keys()];
  }

  /**
   * A worker says it is ready (READY, or a reply that means ready). Joins it if new (unless
   * the table is full); a known worker goes to the back of the ready list, unless it is in
   * quarantine (it returns when that ends). A known worker that held jobs restarted: they
   * come back as `orphaned`.
   */
  ready(key: K, data?: D): ReadyResult<J> {
    let worker = this.#workers.get(key);
    if (!worker) {
      if (this.full) {
        this.#counts.refused++;
        return { outcome: "refused", orphaned: [] };
      }
      worker = this.#join(key, data as D);
      this.#ready.set(key, true);
      return { outcome: "joined", orphaned: [] };
    }
    worker.lastSeen = this.#clock.now();
    if (data !== undefined) worker.data = data;
    const orphaned = [...worker.jobs.keys()];
    worker.jobs.clear();
    if (worker.quarantinedUntil !== null) return { outcome: "quarantined", orphaned };
    this.#ready.delete(key);
    this.#ready.set(key, true);
    return { outcome: "ready", orphaned };
  }

  /**
   * A message from `key` that proves it alive (e.g. a HEARTBEAT; `heartbeat: true` marks it
   * as heartbeating, so its silence kills it). Returns false for an unknown worker.
   */
  heard(key: K, options: { heartbeat?: boolean } = {}): boolean {
    const worker = this.#workers.get(key);
    if (!worker) return false;
    worker.lastSeen = this.#clock.now();
    if (options.heartbeat) worker.heartbeats = true;
    return true;
  }

  /** Takes the least recently used ready worker out of the ready list (undefined if none). */
  next(): K | undefined {
    const first = this.#ready.keys().next();
    if (first.done) return undefined;
    this.#ready.delete(first.value);
    return first.value;
  }

  /** Records that `key` holds `job` (due within the job timeout). */
  assign(key: K, job: J): void {
    const worker = this.#workers.get(key);
    if (!worker) throw new Error(`expected a known worker for job assignment, got an unknown one`);
    this.#ready.delete(key);
    worker.jobs.set(job, this.#clock.now() + this.#jobTimeoutMs);
  }

  /**
   * `key` finished `job` (a good answer): it no longer holds it, its strikes reset, and with
   * `ready` (default true: a REQ reply means "ready again") it goes to the back of the ready
   * list. Returns whether it held the job.
   */
  done(key: K, job: J, options: { ready?: boolean } = {}): boolean {
    const worker = this.#workers.get(key);
    if (!worker) return false;
    worker.lastSeen = this.#clock.now();
    const held = worker.jobs.delete(job);
    if (held) worker.done++;
    worker.strikes = 0;
    worker.backoff.reset();
    if ((options.ready ?? true) && worker.quarantinedUntil === null && worker.jobs.size === 0) {
      this.#ready.delete(key);
      this.#ready.set(key, true);
    }
    return held;
  }

  /**
   * `key` answered with garbage: it is quarantined (out of the ready list) for a backoff
   * that doubles per consecutive bad answer, then tried again by `tick`. An unknown worker
   * joins first (so it is tried again too), unless the table is full. Jobs it held come back.
   */
  bad(key: K, data?: D): QuarantineResult<J> {
    let worker = this.#workers.get(key);
    if (!worker) {
      if (this.full) {
        this.#counts.refused++;
        return { strikes: 0, retryMs: 0, orphaned: [], known: false };
      }
      worker = this.#join(key, data as D);
    }
    const now = this.#clock.now();
    worker.lastSeen = now;
    worker.strikes++;
    const retryMs = worker.backoff.next();
    worker.quarantinedUntil = now + retryMs;
    this.#quarantined.add(key);
    this.#ready.delete(key);
    const orphaned = [...worker.jobs.keys()];
    worker.jobs.clear();
    this.#counts.quarantines++;
    return { strikes: worker.strikes, retryMs, orphaned, known: true };
  }

  /** Forgets `key` (it left, or is unreachable); returns its snapshot (jobs to requeue). */
  remove(key: K): WorkerInfo<K, J, D> | undefined {
    const worker = this.#workers.get(key);
    if (!worker) return undefined;
    this.#workers.delete(key);
    this.#ready.delete(key);
    this.#quarantined.delete(key);
    return snapshot(worker);
  }

  /**
   * Time-driven work: removes heartbeating workers silent for `liveness` intervals and
   * workers past a job deadline (returned with their jobs, to requeue), and puts workers
   * whose quarantine ended back in the ready list. Call it more often than the heartbeat
   * interval: a call more than an interval after the previous one is taken as this process
   * having stalled, and gives every worker one more interval.
   */
  tick(now: number): Expired<K, J, D>[] {
    const silence = this.#intervalMs * this.#liveness;
    // A tick more than an interval late means this process was not running: heartbeats may be
    // waiting unread. Every worker gets one more interval before its silence counts.
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last !== null && now - last > this.#intervalMs) {
      for (const worker of this.#workers.values()) {
        worker.lastSeen = Math.max(worker.lastSeen, now - silence + this.#intervalMs);
      }
    }
    const expired: Expired<K, J, D>[] = [];
    for (const worker of this.#workers.values()) {
      let reason: Expired<K, J, D>["reason"] | null = null;
      for (const deadline of worker.jobs.values()) if (now >= deadline) reason = "job_timeout";
      if (!reason && worker.heartbeats && now - worker.lastSeen >= silence) {
        reason = "heartbeat_expired";
      }
      if (reason) expired.push({ worker: snapshot(worker), reason });
    }
    for (const { worker } of expired) this.remove(worker.key);
    this.#counts.expired += expired.length;
    for (const key of [...this.#quarantined]) {
      const worker = this.#workers.get(key)!;
      if (now < worker.quarantinedUntil!) continue;
      worker.quarantinedUntil = null;
      this.#quarantined.delete(key);
      this.#counts.releasedFromQuarantine++;
      if (worker.jobs.size === 0) this.#ready.set(key, true);
    }
    return expired;
  }

  /**
   * The heartbeating workers, once per heartbeat interval (an empty list in between):
   * beat each of them.
   */
  heartbeatDue(now: number): WorkerInfo<K, J, D>[] {
    if (now < this.#nextBeat) return [];
    this.#nextBeat = now + this.#intervalMs;
    const due: WorkerInfo<K, J, D>[] = [];
    for (const worker of this.#workers.values()) if (worker.heartbeats) due.push(snapshot(worker));
    return due;
  }

  /** Counters and gauges. */
  stats(): WorkerQueueStats {
    let busy = 0;
    for (const worker of this.#workers.values()) if (worker.jobs.size > 0) busy++;
    return {
      workers: this.#workers.size,
      ready: this.#ready.size,
      quarantined: this.#quarantined.size,
      busy,
      ...this.#counts,
    };
  }

  #join(key: K, data: D): Worker<K, J, D> {
    const worker: Worker<K, J, D> = {
      key,
      data,
      jobs: new Map(),
      heartbeats: false,
      lastSeen: this.#clock.now(),
      done: 0,
      strikes: 0,
      quarantinedUntil: null,
      backoff: new Backoff(this.#quarantine),
    };
    this.#workers.set(key, worker);
    this.#counts.joined++;
    return worker;
  }
}

function snapshot<K, J, D>(w: Worker<K, J, D>): WorkerInfo<K, J, D> {
  return {
    key: w.key,
    data: w.data,
    jobs: [...w.jobs.keys()],
    heartbeats: w.heartbeats,
    lastSeen: w.lastSeen,
    done: w.done,
    strikes: w.strikes,
    quarantinedUntil: w.quarantinedUntil,
  };
}
