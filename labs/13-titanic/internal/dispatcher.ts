/**
 * The Titanic dispatcher: takes due requests from the store, asks the broker (8/MMI) whether
 * their service has workers, sends them, and stores the first reply; a failed attempt is
 * retried after a capped backoff (kept in the store, so it survives restarts) and
 * dead-lettered with its reason after `maxAttempts`.
 *
 * `lanes` requests are in flight at once, each on its own synchronous MDP client (a REQ
 * socket with Lazy Pirate: replies cannot be mixed up between requests). The network and
 * the store come in through {@linkcode DispatchPort}.
 *
 * @module
 */
import type { BackoffOptions, Clock } from "@lib/async/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import type { DueRequest } from "./store.ts";
import { retryDecision } from "./tsp.ts";

/** What the dispatcher needs from the world. */
export interface DispatchPort {
  clock: Clock;
  /** Wall-clock milliseconds (retry times are stored and must survive a restart). */
  wallNow(): number;
  log: Logger;
  /** Up to `limit` due requests, not those in `exclude`. */
  due(limit: number, exclude: string[]): Promise<DueRequest[]>;
  /** `mmi.service` for `service` on lane `lane`: "200" or "404". */
  mmi(lane: number, service: string): Promise<string>;
  /** Sends the request on lane `lane`; resolves with the reply body, rejects on failure. */
  request(lane: number, service: string, body: Uint8Array[]): Promise<Uint8Array[]>;
  /** Stores the reply (durably); resolves when stored. */
  storeReply(uuid: string, body: Uint8Array[]): Promise<void>;
  /** Records a failed attempt (retryAt null: dead letter). */
  storeFailure(uuid: string, reason: string, retryAt: number | null): Promise<void>;
}

/** Options of {@linkcode Dispatcher}. */
export interface DispatcherOptions {
  lanes: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  /** How long a "service has workers" answer is trusted (ms). */
  mmiCacheMs?: number;
}

/** Counters of a {@linkcode Dispatcher}. */
export interface DispatcherStats {
  dispatched: number;
  completed: number;
  retried: number;
  deadLettered: number;
  offline: number;
  storeErrors: number;
  inFlight: number;
  queued: number;
}

/**
 * The dispatch loop's core.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { Dispatcher } from "./dispatcher.ts";
 * const clock = new ManualClock();
 * const dispatcher = new Dispatcher({
 *   clock,
 *   wallNow: () => 0,
 *   log: createMemoryLogger(),
 *   due: () => Promise.resolve([]),
 *   mmi: () => Promise.resolve("200"),
 *   request: (_lane, _service, body) => Promise.resolve(body),
 *   storeReply: () => Promise.resolve(),
 *   storeFailure: () => Promise.resolve(),
 * }, { lanes: 2, maxAttempts: 5, backoff: { initialMs: 100, maxMs: 1000 } });
 * await dispatcher.poll();
 * ```
 */
export class Dispatcher {
  readonly #port: DispatchPort;
  readonly #options: Required<DispatcherOptions>;
  readonly #inFlight = new Set<string>();
  readonly #queue: DueRequest[] = [];
  readonly #freeLanes: number[] = [];
  readonly #serviceUpUntil = new Map<string, number>();
  #polling: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #settledWaiters: (() => void)[] = [];
  #stats = { dispatched: 0, completed: 0, retried: 0, deadLettered: 0, offline: 0, storeErrors: 0 };

  constructor(port: DispatchPort, options: DispatcherOptions) {
    if (!(options.lanes >= 1)) throw new RangeError(`expected lanes >= 1, got ${options.lanes}`);
    if (!(options.maxAttempts >= 1)) {
      throw new RangeError(`expected maxAttempts >= 1, got ${options.maxAttempts}`);
    }
    this.#port = port;
    this.#options = { mmiCacheMs: 1000, ...options };
    for (let lane = 0; lane < options.lanes; lane++) this.#freeLanes.push(lane);
  }

  /**
   * Fetches due requests when lanes are free and starts them. Concurrent calls coalesce
   * into one more round (a request stored meanwhile is not missed).
   */
  poll(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      try {
        do {
          this.#again = false;
          await this.#fetch();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#polling = null;
      }
    })();
    return this.#polling;
  }

  /** Stops taking work; what is in flight finishes (see {@linkcode whenSettled}). */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#checkSettled();
  }

  /** Resolves when nothing is in flight. */
  whenSettled(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Counters. */
  stats(): DispatcherStats {
    return { ...this.#stats, inFlight: this.#inFlight.size, queued: this.#queue.length };
  }

  async #fetch(): Promise<void> {
    const room = this.#freeLanes.length * 2 - this.#queue.length;
    if (room <= 0) return;
    const exclude = [...this.#inFlight, ...this.#queue.map((r) => r.uuid)];
    let due: DueRequest[];
    try {
      due = await this.#port.due(room, exclude);
    } catch (error) {
      this.#stats.storeErrors++;
      this.#port.log.limited("warn", "store_unavailable", { error: String(error) });
      return;
    }
    for (const request of due) {
      if (this.#inFlight.has(request.uuid)) continue;
      this.#queue.push(request);
    }
    this.#startLanes();
    // A full batch means more may be due: look again once lanes free up.
    if (due.length === room) this.#again = true;
  }

  #startLanes(): void {
    while (!this.#stopped && this.#freeLanes.length > 0 && this.#queue.length > 0) {
      const lane = this.#freeLanes.pop()!;
      const request = this.#queue.shift()!;
      this.#inFlight.add(request.uuid);
      this.#stats.dispatched++;
      void this.#run(lane, request).finally(() => {
        this.#inFlight.delete(request.uuid);
        this.#freeLanes.push(lane);
        this.#checkSettled();
        if (!this.#stopped) {
          if (this.#queue.length > 0) this.#startLanes();
          else void this.poll();
        }
      });
    }
  }

  async #run(lane: number, request: DueRequest): Promise<void> {
    const { uuid, service } = request;
    let reason: string;
    try {
      if (!(await this.#serviceUp(lane, service))) {
        this.#stats.offline++;
        reason = `service "${service}" has no workers (mmi.service 404)`;
      } else {
        const body = await this.#port.request(lane, service, request.body);
        try {
          await this.#port.storeReply(uuid, body);
          this.#stats.completed++;
          this.#port.log.debug("request_completed", { uuid, service });
        } catch (error) {
          // Not stored: the request stays pending and runs again (first stored reply wins).
          this.#stats.storeErrors++;
          this.#port.log.limited("warn", "reply_not_stored", { uuid, error: String(error) });
        }
        return;
      }
    } catch (error) {
      this.#serviceUpUntil.delete(service);
      reason = error instanceof Error ? error.message : String(error);
    }
    const attempts = request.attempts + 1;
    const decision = retryDecision(
      attempts,
      this.#options.maxAttempts,
      this.#options.backoff,
      this.#port.wallNow(),
    );
    try {
      await this.#port.storeFailure(uuid, reason, decision.retryAt);
    } catch (error) {
      this.#stats.storeErrors++;
      this.#port.log.limited("warn", "failure_not_stored", { uuid, error: String(error) });
      return;
    }
    if (decision.retryAt === null) {
      this.#stats.deadLettered++;
      this.#port.log.warn("dead_letter", { uuid, service, attempts, reason });
    } else {
      this.#stats.retried++;
      this.#port.log.limited("info", "retry_later", {
        uuid,
        service,
        attempts,
        delay_ms: decision.delayMs,
        reason,
      }, `retry_later:${service}`);
    }
  }

  async #serviceUp(lane: number, service: string): Promise<boolean> {
    const now = this.#port.clock.now();
    if ((this.#serviceUpUntil.get(service) ?? 0) > now) return true;
    const status = await this.#port.mmi(lane, service);
    if (status !== "200") return false;
    // Bounded: one entry per service seen recently; dropped on the first failure.
    if (this.#serviceUpUntil.size >= 10_000) this.#serviceUpUntil.clear();
    this.#serviceUpUntil.set(service, now + this.#options.mmiCacheMs);
    return true;
  }

  #checkSettled(): void {
    if (this.#inFlight.size > 0) return;
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }
}
