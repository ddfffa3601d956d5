/**
 * The gateway's logic, without sockets: admission (in-flight bound, busy, idempotent
 * retries), credit-based dispatch to the least loaded worker, worker liveness and
 * re-dispatch. The role feeds it received frames and timer ticks; it answers through
 * {@link GatewayIo}. It never waits on anything, so the gateway never blocks.
 *
 * @module
 */
import {
  BadMessageError,
  decodeRequest,
  decodeWorkerMessage,
  G_BYE_OK,
  G_RECORD,
  G_RESET,
  type GatewayReply,
  HEARTBEAT,
  InvalidRequestError,
  splitClientFrames,
  type WorkerAck,
} from "./protocol.ts";
import { RecentAcks } from "./recent_acks.ts";

/** Where the core's output goes. */
export interface GatewayIo {
  /** Sends a reply to a client (envelope from its request). */
  reply(envelope: Uint8Array[], reply: GatewayReply): void;
  /** Sends a command to a worker. */
  toWorker(
    worker: Uint8Array,
    command: typeof G_RECORD | typeof HEARTBEAT | typeof G_BYE_OK | typeof G_RESET,
    body?: Uint8Array,
  ): void;
  /** Logs an event. */
  log(level: "debug" | "info" | "warn", event: string, fields: Record<string, unknown>): void;
}

/** Gateway settings. */
export interface GatewayConfig {
  /** Records accepted and not yet acked (queued + at workers), at most. */
  maxInflight: number;
  /** A worker silent this long (ms) is dead; its records are re-dispatched. */
  workerTimeoutMs: number;
  /** Smallest retry_after_ms in a busy reply. */
  retryAfterMs: number;
  /** Recently acked ids remembered for instant duplicate answers. */
  recentIds: number;
  /** Clock (ms). */
  now: () => number;
}

interface Entry {
  id: string;
  body: Uint8Array;
  envelope: Uint8Array[];
  acceptedAt: number;
  worker: string | null;
  dispatches: number;
}

interface WorkerState {
  key: string;
  identity: Uint8Array;
  capacity: number;
  inflight: Set<string>;
  lastSeen: number;
  lastDispatch: number;
  draining: boolean;
}

/** Counters the role logs and tests read. */
export interface GatewayStats {
  accepted: number;
  acked: number;
  busy: number;
  duplicates: number;
  retriesAttached: number;
  redispatched: number;
  badMessages: number;
  invalid: number;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * The gateway core.
 *
 * @example
 * ```ts
 * const core = new GatewayCore(config, io);
 * core.onClient(await frontend.receive());
 * core.onWorker(await backend.receive());
 * core.tick(); // on a timer: expires silent workers
 * ```
 */
export class GatewayCore {
  readonly stats: GatewayStats = {
    accepted: 0,
    acked: 0,
    busy: 0,
    duplicates: 0,
    retriesAttached: 0,
    redispatched: 0,
    badMessages: 0,
    invalid: 0,
  };
  #config: GatewayConfig;
  #io: GatewayIo;
  #entries = new Map<string, Entry>();
  #queue: string[] = [];
  #queueHead = 0;
  #retryQueue: string[] = [];
  #workers = new Map<string, WorkerState>();
  #recent: RecentAcks;
  #latencyMs = 0;
  #accepting = true;
  #settled: PromiseWithResolvers<void> | null = null;

  constructor(config: GatewayConfig, io: GatewayIo) {
    this.#config = config;
    this.#io = io;
    this.#recent = new RecentAcks(config.recentIds);
  }

  /** Records accepted and not yet acked. */
  get inflight(): number {
    return this.#entries.size;
  }

  /** Workers currently registered. */
  get workers(): number {
    return this.#workers.size;
  }

  /** Records waiting for a free worker. */
  get queued(): number {
    return this.#queue.length - this.#queueHead + this.#retryQueue.length;
  }

  /** Per worker: key, capacity, records in flight, draining. */
  workerLoads(): { worker: string; capacity: number; inflight: number; draining: boolean }[] {
    return [...this.#workers.values()].map((w) => ({
      worker: w.key,
      capacity: w.capacity,
      inflight: w.inflight.size,
      draining: w.draining,
    }));
  }

  /** Stops admitting records (shutdown): new ones get `busy`; in-flight ones finish. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * Resolves once the gateway has nothing left to finish: no record in flight, or no worker
   * left that could finish one (what is still queued was never acked; its clients retry).
   * Checked after every worker message, tick and lost worker; the shutdown drain awaits it.
   *
   * @example
   * ```ts
   * core.stopAccepting();
   * await Promise.race([core.settled(), deadline]);
   * ```
   */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    this.#settled ??= Promise.withResolvers<void>();
    return this.#settled.promise;
  }

  #isSettled(): boolean {
    return this.#entries.size === 0 || this.#workers.size === 0;
  }

  #checkSettled(): void {
    if (this.#settled && this.#isSettled()) {
      this.#settled.resolve();
      this.#settled = null;
    }
  }

  /** Handles one frontend message `[route, '', body]` / `[route, body]`. */
  onClient(frames: Uint8Array[]): void {
    let envelope: Uint8Array[];
    let body: Uint8Array;
    try {
      ({ envelope, body } = splitClientFrames(frames));
    } catch (error) {
      return this.#bad("client", error);
    }
    let id: string;
    try {
      id = decodeRequest(body).id;
    } catch (error) {
      this.#bad("client", error);
      if (error instanceof InvalidRequestError) {
        this.stats.invalid++;
        this.#io.reply(envelope, { id: error.id, status: "invalid", reason: error.reason });
      }
      return;
    }
    const recent = this.#recent.get(id);
    if (recent) {
      this.stats.duplicates++;
      this.#io.reply(envelope, {
        id,
        status: "ok",
        seq: recent.seq,
        hash: recent.hash,
        duplicate: true,
      });
      return;
    }
    const existing = this.#entries.get(id);
    if (existing) {
      // A retry of a record still in flight: answer the newest requester once, when durable.
      existing.envelope = envelope;
      this.stats.retriesAttached++;
      return;
    }
    if (!this.#accepting || this.#entries.size >= this.#config.maxInflight) {
      this.stats.busy++;
      this.#io.reply(envelope, { id, status: "busy", retry_after_ms: this.retryAfterMs() });
      return;
    }
    this.#entries.set(id, {
      id,
      body,
      envelope,
      acceptedAt: this.#config.now(),
      worker: null,
      dispatches: 0,
    });
    this.stats.accepted++;
    this.#queue.push(id);
    this.#dispatch();
  }

  /** The retry-after a busy reply carries now: about one ack latency, at least the minimum. */
  retryAfterMs(): number {
    return Math.max(this.#config.retryAfterMs, Math.min(5000, Math.round(this.#latencyMs)));
  }

  /** Handles one backend message `[worker, HEADER, command, body?]`. */
  onWorker(frames: Uint8Array[]): void {
    let decoded;
    try {
      decoded = decodeWorkerMessage(frames);
    } catch (error) {
      return this.#bad("worker", error);
    }
    const { worker: identity, message } = decoded;
    const key = hex(identity);
    const now = this.#config.now();
    let worker = this.#workers.get(key);
    if (worker) worker.lastSeen = now;
    switch (message.command) {
      case "READY": {
        if (worker) {
          this.#requeue(worker, "re-registered");
        } else {
          worker = {
            key,
            identity,
            capacity: message.capacity,
            inflight: new Set(),
            lastSeen: now,
            lastDispatch: 0,
            draining: false,
          };
          this.#workers.set(key, worker);
        }
        worker.capacity = message.capacity;
        worker.draining = false;
        this.#io.log("info", "worker_ready", {
          worker: key,
          capacity: message.capacity,
          workers: this.#workers.size,
        });
        break;
      }
      case "ACK":
        this.#acks(message.acks, now);
        if (!worker) this.#io.toWorker(identity, G_RESET);
        break;
      case "NACK":
        if (worker) {
          for (const id of message.ids) {
            const entry = this.#entries.get(id);
            if (entry && entry.worker === key) {
              worker.inflight.delete(id);
              entry.worker = null;
              this.#retryQueue.push(id);
            }
          }
        }
        break;
      case "HB":
        this.#io.toWorker(identity, worker ? HEARTBEAT : G_RESET);
        break;
      case "BYE":
        if (worker) {
          worker.draining = true;
          this.#io.log("info", "worker_leaving", { worker: key, inflight: worker.inflight.size });
          if (worker.inflight.size === 0) this.#workers.delete(key);
        }
        this.#io.toWorker(identity, G_BYE_OK);
        break;
    }
    this.#dispatch();
    this.#checkSettled();
  }

  /** Expires workers silent for longer than the timeout; re-dispatches their records. */
  tick(): void {
    const now = this.#config.now();
    for (const worker of [...this.#workers.values()]) {
      if (now - worker.lastSeen > this.#config.workerTimeoutMs) {
        this.#lose(worker, "heartbeat timeout");
      }
    }
    this.#dispatch();
    this.#checkSettled();
  }

  /** A send to this worker failed (EHOSTUNREACH: it disconnected): treat it as dead. */
  workerUnreachable(identity: Uint8Array): void {
    const worker = this.#workers.get(hex(identity));
    if (worker) this.#lose(worker, "unreachable");
    this.#dispatch();
    this.#checkSettled();
  }

  #lose(worker: WorkerState, reason: string): void {
    this.#workers.delete(worker.key);
    this.#io.log("warn", "worker_lost", {
      worker: worker.key,
      reason,
      redispatch: worker.inflight.size,
      workers: this.#workers.size,
    });
    this.#requeue(worker, reason);
  }

  #requeue(worker: WorkerState, reason: string): void {
    if (worker.inflight.size === 0) return;
    for (const id of worker.inflight) {
      const entry = this.#entries.get(id);
      if (entry) {
        entry.worker = null;
        this.#retryQueue.push(id);
        this.stats.redispatched++;
      }
    }
    this.#io.log("info", "records_requeued", {
      worker: worker.key,
      count: worker.inflight.size,
      reason,
    });
    worker.inflight.clear();
  }

  #acks(acks: WorkerAck[], now: number): void {
    for (const ack of acks) {
      const entry = this.#entries.get(ack.id);
      if (!entry) continue; // already acked via another worker after a re-dispatch
      this.#entries.delete(ack.id);
      if (entry.worker !== null) {
        const owner = this.#workers.get(entry.worker);
        owner?.inflight.delete(ack.id);
        if (owner?.draining && owner.inflight.size === 0) this.#workers.delete(owner.key);
      }
      this.#recent.set(ack.id, { seq: ack.seq, hash: ack.hash });
      this.stats.acked++;
      const latency = now - entry.acceptedAt;
      this.#latencyMs = this.#latencyMs === 0 ? latency : this.#latencyMs * 0.9 + latency * 0.1;
      this.#io.reply(entry.envelope, {
        id: ack.id,
        status: "ok",
        seq: ack.seq,
        hash: ack.hash,
        ...(ack.duplicate ? { duplicate: true } : {}),
      });
    }
  }

  /** Hands queued records to the worker with the most free credit (least loaded). */
  #dispatch(): void {
    for (;;) {
      const id = this.#peek();
      if (id === undefined) return;
      const entry = this.#entries.get(id);
      if (!entry || entry.worker !== null) {
        this.#pop();
        continue;
      }
      const worker = this.#pickWorker();
      if (!worker) return;
      this.#pop();
      entry.worker = worker.key;
      entry.dispatches++;
      worker.inflight.add(id);
      worker.lastDispatch = this.#config.now();
      this.#io.toWorker(worker.identity, G_RECORD, entry.body);
    }
  }

  #pickWorker(): WorkerState | undefined {
    let best: WorkerState | undefined;
    let bestFree = 0;
    for (const worker of this.#workers.values()) {
      if (worker.draining) continue;
      const free = worker.capacity - worker.inflight.size;
      if (
        free > bestFree ||
        (free === bestFree && free > 0 && best && worker.lastDispatch < best.lastDispatch)
      ) {
        best = worker;
        bestFree = free;
      }
    }
    return best;
  }

  #peek(): string | undefined {
    if (this.#retryQueue.length > 0) return this.#retryQueue[0];
    return this.#queueHead < this.#queue.length ? this.#queue[this.#queueHead] : undefined;
  }

  #pop(): void {
    if (this.#retryQueue.length > 0) {
      this.#retryQueue.shift();
      return;
    }
    this.#queueHead++;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #bad(from: string, error: unknown): void {
    if (!(error instanceof BadMessageError)) throw error;
    this.stats.badMessages++;
    this.#io.log("warn", "bad_message", { from, reason: error.reason });
  }
}
