/**
 * The gateway's logic, without sockets: admission (in-flight bound, busy, idempotent
 * retries), credit-based dispatch to the least loaded worker, worker liveness, per-record
 * timeouts at live workers (the worker is quarantined), ack ownership, per-peer budgets
 * for garbage, and re-dispatch. The role feeds it received frames and timer ticks; it
 * answers through {@link GatewayPort}. It never waits on anything, so the gateway never
 * blocks.
 *
 * @module
 */
import { type Clock, toHex } from "@lib/async/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { RecentMap, WorkerQueue } from "@lib/patterns/mod.ts";
import { PeerBudget, type PeerBudgetOptions } from "./peer_budget.ts";
import {
  BadMessageError,
  clientParts,
  clientShapeReason,
  decodeWorkerMessage,
  encodeReply,
  G_BYE_OK,
  G_RECORD,
  G_RESET,
  gatewayFrames,
  type GatewayReply,
  HEARTBEAT,
  parseRequest,
  type WorkerAck,
} from "./protocol.ts";

/** Frames as they go on the wire (strings are sent as UTF-8). */
export type OutFrames = (string | Uint8Array)[];

/**
 * Where the core's output goes: the one port shape of `@lib/patterns` (a clock, the
 * role's logger) with one send per socket. A send may throw (a full queue); the core
 * counts that as not sent. The role reports asynchronous send failures back through
 * {@link GatewayCore.replyNotSent}, {@link GatewayCore.recordNotSent} and
 * {@link GatewayCore.workerUnreachable}.
 */
export interface GatewayPort {
  /** Time (monotonic ms). */
  clock: Clock;
  /** The role's logger. */
  log: Logger;
  /** Sends a reply to a client: `[...envelope, reply]`. */
  reply(frames: OutFrames): void;
  /**
   * Sends a command to a worker: `[worker, HEADER, command, body?]`; `recordId` names the
   * record a `REC` carries.
   */
  toWorker(frames: OutFrames, worker: Uint8Array, recordId?: string): void;
}

/** Gateway settings. */
export interface GatewayConfig {
  /** Records accepted and not yet acked (queued + at workers), at most. */
  maxInflight: number;
  /** A worker silent this long (ms) is dead; its records are re-dispatched. */
  workerTimeoutMs: number;
  /**
   * A record held by a live worker this long (ms) without an ack is re-dispatched, and the
   * worker is quarantined (gets nothing new) for `quarantineMs`.
   */
  recordTimeoutMs: number;
  /** How long a worker that let a record time out gets no new records (ms). */
  quarantineMs: number;
  /** Smallest retry_after_ms in a busy reply. */
  retryAfterMs: number;
  /** Recently acked ids remembered for instant duplicate answers. */
  recentIds: number;
  /** Per-peer garbage budgets (both sockets). */
  peerBudget?: PeerBudgetOptions;
}

interface Entry {
  id: string;
  body: Uint8Array;
  envelope: Uint8Array[];
  acceptedAt: number;
  /** The worker holding it now (null: queued). */
  worker: string | null;
  /** Every worker it was dispatched to while pending: only these may ack it. */
  holders: Set<string>;
  dispatchedAt: number;
  dispatches: number;
}

/**
 * What the gateway keeps per worker beside the shared `WorkerQueue` (which owns
 * membership, liveness and quarantine): its credit and the records it holds.
 */
interface WorkerState {
  key: string;
  identity: Uint8Array;
  capacity: number;
  /** Records it holds, in dispatch order. */
  inflight: Set<string>;
  lastDispatch: number;
  draining: boolean;
  /** Gets nothing new before this time (the pool quarantined it after a record timeout). */
  quarantinedUntil: number;
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
  /** Messages dropped unread from throttled peers. */
  ignored: number;
  /** Peers throttled for sending mostly garbage. */
  throttledPeers: number;
  /** Acks refused: from a peer the record was never dispatched to. */
  forgedAcks: number;
  /** Acks for records already acked or moved on (late, harmless). */
  staleAcks: number;
  /** Records re-dispatched because a live worker held them past the record timeout. */
  recordTimeouts: number;
  /** Times a worker was quarantined for a record timeout. */
  quarantines: number;
  /** Sends that failed (a full queue or a gone peer), replies and worker commands. */
  sendFailures: number;
}

/** Longest quarantine after repeated record timeouts: 32 × `quarantineMs`. */
const MAX_QUARANTINE_FACTOR = 32;
/** Most workers registered at once (one more gets RESET until one leaves). */
const MAX_WORKERS = 1000;

/** A log key for a reason that does not grow with the numbers in it. */
function reasonKey(from: string, reason: string): string {
  return `bad_message:${from}:${reason.replace(/\d+/g, "N").slice(0, 120)}`;
}

/**
 * The gateway core.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { GatewayCore } from "./gateway_core.ts";
 * const core = new GatewayCore({
 *   maxInflight: 100, workerTimeoutMs: 3000, recordTimeoutMs: 10_000, quarantineMs: 10_000,
 *   retryAfterMs: 20, recentIds: 1000,
 * }, { clock: new ManualClock(), log: createMemoryLogger(), reply: () => {}, toWorker: () => {} });
 * core.onClient([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([0xc1])]); // bad_message
 * core.tick(); // on a timer: expires silent workers and stuck records
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
    ignored: 0,
    throttledPeers: 0,
    forgedAcks: 0,
    staleAcks: 0,
    recordTimeouts: 0,
    quarantines: 0,
    sendFailures: 0,
  };
  #config: GatewayConfig;
  #port: GatewayPort;
  #clients: PeerBudget;
  #peersBack: PeerBudget;
  #entries = new Map<string, Entry>();
  #queue: string[] = [];
  #queueHead = 0;
  #retryQueue: string[] = [];
  #workers = new Map<string, WorkerState>();
  /** Membership, liveness (any message counts) and quarantine: lib/patterns' worker queue. */
  #pool: WorkerQueue<string, string, WorkerState>;
  /** Recently acked ids → their ack: retries answered without a worker round trip. */
  #recent: RecentMap<string, { seq: number; hash: string }>;
  #latencyMs = 0;
  #accepting = true;
  #settled: PromiseWithResolvers<void> | null = null;

  constructor(config: GatewayConfig, port: GatewayPort) {
    this.#config = config;
    this.#port = port;
    this.#recent = new RecentMap({ maxSize: config.recentIds });
    this.#clients = new PeerBudget(port.clock, config.peerBudget);
    this.#peersBack = new PeerBudget(port.clock, config.peerBudget);
    // Liveness: silent for workerTimeoutMs = 3 intervals of a third of it. Jobs are not
    // assigned in the pool (credit and records live in WorkerState), so its job deadline is
    // unused: a record timeout quarantines a live worker instead of killing it.
    this.#pool = new WorkerQueue({
      clock: port.clock,
      maxWorkers: MAX_WORKERS,
      heartbeatIntervalMs: config.workerTimeoutMs / 3,
      liveness: 3,
      quarantine: {
        initialMs: config.quarantineMs,
        maxMs: config.quarantineMs * MAX_QUARANTINE_FACTOR,
      },
    });
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

  /** Per worker: key, capacity, records in flight, draining, quarantined. */
  workerLoads(): {
    worker: string;
    capacity: number;
    inflight: number;
    draining: boolean;
    quarantined: boolean;
  }[] {
    const now = this.#now();
    return [...this.#workers.values()].map((w) => ({
      worker: w.key,
      capacity: w.capacity,
      inflight: w.inflight.size,
      draining: w.draining,
      quarantined: w.quarantinedUntil > now,
    }));
  }

  /** Stops admitting records (shutdown): new ones get `busy`; in-flight ones finish. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * True when the gateway has nothing left to finish: no record in flight, or no worker
   * left that could finish one (what is still queued was never acked; its clients retry).
   */
  settled(): boolean {
    return this.#entries.size === 0 || this.#workers.size === 0;
  }

  /**
   * Resolves once {@link settled} holds. Checked after every worker message, tick and lost
   * worker; the shutdown drain awaits it.
   *
   * @example
   * ```ts
   * import { ManualClock } from "@lib/async/mod.ts";
   * import { createMemoryLogger } from "@lib/role/mod.ts";
   * import { GatewayCore } from "./gateway_core.ts";
   * const core = new GatewayCore({
   *   maxInflight: 10, workerTimeoutMs: 3000, recordTimeoutMs: 10_000, quarantineMs: 10_000,
   *   retryAfterMs: 20, recentIds: 10,
   * }, { clock: new ManualClock(), log: createMemoryLogger(), reply: () => {}, toWorker: () => {} });
   * core.stopAccepting();
   * await core.whenSettled(); // at once: nothing in flight
   * ```
   */
  whenSettled(): Promise<void> {
    if (this.settled()) return Promise.resolve();
    this.#settled ??= Promise.withResolvers<void>();
    return this.#settled.promise;
  }

  #checkSettled(): void {
    if (this.#settled && this.settled()) {
      this.#settled.resolve();
      this.#settled = null;
    }
  }

  #now(): number {
    return this.#port.clock.now();
  }

  /** Handles one frontend message `[route, '', body]` / `[route, body]`. */
  onClient(frames: Uint8Array[]): void {
    // A throttled peer costs one lookup: its messages are not even parsed.
    const peer = frames.length > 0 ? toHex(frames[0]) : "";
    if (!this.#clients.admit(peer)) {
      this.stats.ignored++;
      return;
    }
    const parts = clientParts(frames);
    if (parts === undefined) return this.#badClient(peer, clientShapeReason(frames));
    const { envelope, body } = parts;
    const check = parseRequest(body);
    if (!check.ok) {
      this.#badClient(peer, check.reason);
      if (check.id !== undefined) {
        this.stats.invalid++;
        this.#reply(envelope, { id: check.id, status: "invalid", reason: check.reason });
      }
      return;
    }
    this.#clients.good(peer);
    const id = check.request.id;
    const recent = this.#recent.get(id);
    if (recent) {
      this.stats.duplicates++;
      this.#reply(envelope, {
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
      this.#reply(envelope, { id, status: "busy", retry_after_ms: this.retryAfterMs() });
      return;
    }
    this.#entries.set(id, {
      id,
      body,
      envelope,
      acceptedAt: this.#now(),
      worker: null,
      holders: new Set(),
      dispatchedAt: 0,
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
    const peer = frames.length > 0 ? toHex(frames[0]) : "";
    if (!this.#peersBack.admit(peer)) {
      this.stats.ignored++;
      return;
    }
    let decoded;
    try {
      decoded = decodeWorkerMessage(frames);
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      return this.#bad("worker", peer, error.reason, this.#peersBack);
    }
    const { worker: identity, message } = decoded;
    const key = peer;
    const now = this.#now();
    let worker = this.#workers.get(key);
    if (worker) this.#pool.heard(key, { heartbeat: true });
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
            lastDispatch: 0,
            draining: false,
            quarantinedUntil: 0,
          };
          if (this.#pool.ready(key, worker).outcome === "refused") {
            this.#port.log.limited("warn", "worker_refused", {
              worker: key,
              workers: this.#workers.size,
            });
            this.#toWorker(identity, G_RESET);
            break;
          }
          this.#pool.heard(key, { heartbeat: true });
          this.#workers.set(key, worker);
        }
        worker.capacity = message.capacity;
        worker.draining = false;
        this.#port.log.info("worker_ready", {
          worker: key,
          capacity: message.capacity,
          workers: this.#workers.size,
        });
        break;
      }
      case "ACK":
        if (!worker) {
          // Only a registered worker may ack; one we lost (or never knew) registers again.
          this.stats.forgedAcks += message.acks.length;
          this.#bad("worker", peer, "ACK from an unregistered worker", this.#peersBack);
          this.#toWorker(identity, G_RESET);
          break;
        }
        this.#acks(worker, message.acks, now);
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
        this.#toWorker(identity, worker ? HEARTBEAT : G_RESET);
        break;
      case "BYE":
        if (worker) {
          worker.draining = true;
          this.#port.log.info("worker_leaving", { worker: key, inflight: worker.inflight.size });
          if (worker.inflight.size === 0) this.#forget(key);
        }
        this.#toWorker(identity, G_BYE_OK);
        break;
    }
    this.#peersBack.good(peer);
    this.#dispatch();
    this.#checkSettled();
  }

  /**
   * Timer work: expires workers silent for longer than the worker timeout and records held
   * by a live worker for longer than the record timeout (that worker is quarantined);
   * re-dispatches what they held.
   */
  tick(now: number = this.#now()): void {
    for (const { worker } of this.#pool.tick(now)) {
      const state = this.#workers.get(worker.key);
      if (state) this.#lose(state, "heartbeat timeout");
    }
    for (const worker of this.#workers.values()) this.#expireRecords(worker, now);
    this.#dispatch();
    this.#checkSettled();
  }

  #expireRecords(worker: WorkerState, now: number): void {
    let expired = 0;
    // A worker's set is in dispatch order: stop at the first record still in time.
    for (const id of worker.inflight) {
      const entry = this.#entries.get(id);
      if (!entry || entry.worker !== worker.key) {
        worker.inflight.delete(id);
        continue;
      }
      if (now - entry.dispatchedAt <= this.#config.recordTimeoutMs) break;
      worker.inflight.delete(id);
      entry.worker = null;
      this.#retryQueue.push(id);
      expired++;
    }
    if (expired === 0) return;
    this.stats.recordTimeouts += expired;
    this.stats.redispatched += expired;
    this.stats.quarantines++;
    const { retryMs, strikes } = this.#pool.bad(worker.key);
    worker.quarantinedUntil = now + retryMs;
    this.#port.log.limited("warn", "worker_quarantined", {
      worker: worker.key,
      reason: "record timeout",
      records: expired,
      strikes,
      for_ms: retryMs,
    }, `worker_quarantined:${worker.key}`);
  }

  /** A send to this worker failed (EHOSTUNREACH: it disconnected): treat it as dead. */
  workerUnreachable(identity: Uint8Array): void {
    this.stats.sendFailures++;
    const worker = this.#workers.get(toHex(identity));
    if (worker) this.#lose(worker, "unreachable");
    this.#dispatch();
    this.#checkSettled();
  }

  /**
   * A `REC` could not be queued for its worker (a full send queue): the record goes back
   * to the front of the queue, dispatched again on the next message or tick (not at once:
   * a full queue would turn that into a busy loop).
   */
  recordNotSent(identity: Uint8Array, id: string): void {
    this.stats.sendFailures++;
    const entry = this.#entries.get(id);
    const key = toHex(identity);
    if (entry && entry.worker === key) {
      this.#workers.get(key)?.inflight.delete(id);
      entry.worker = null;
      this.#retryQueue.unshift(id);
    }
  }

  /** A reply or a worker command was not sent (full queue, peer gone): counted only. */
  replyNotSent(): void {
    this.stats.sendFailures++;
  }

  #forget(key: string): void {
    this.#workers.delete(key);
    this.#pool.remove(key);
  }

  #lose(worker: WorkerState, reason: string): void {
    this.#forget(worker.key);
    this.#port.log.warn("worker_lost", {
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
      if (entry && entry.worker === worker.key) {
        entry.worker = null;
        this.#retryQueue.push(id);
        this.stats.redispatched++;
      }
    }
    this.#port.log.info("records_requeued", {
      worker: worker.key,
      count: worker.inflight.size,
      reason,
    });
    worker.inflight.clear();
  }

  #acks(worker: WorkerState, acks: WorkerAck[], now: number): void {
    let forged = 0;
    for (const ack of acks) {
      const entry = this.#entries.get(ack.id);
      if (!entry) {
        this.stats.staleAcks++; // already acked (e.g. via another worker after a re-dispatch)
        continue;
      }
      if (!entry.holders.has(worker.key)) {
        forged++;
        continue;
      }
      this.#entries.delete(ack.id);
      this.#pool.done(worker.key, ack.id); // a good answer: its quarantine backoff resets
      if (entry.worker !== null) {
        const owner = this.#workers.get(entry.worker);
        owner?.inflight.delete(ack.id);
        if (owner?.draining && owner.inflight.size === 0) this.#forget(owner.key);
      }
      this.#recent.set(ack.id, { seq: ack.seq, hash: ack.hash });
      this.stats.acked++;
      const latency = now - entry.acceptedAt;
      this.#latencyMs = this.#latencyMs === 0 ? latency : this.#latencyMs * 0.9 + latency * 0.1;
      this.#reply(entry.envelope, {
        id: ack.id,
        status: "ok",
        seq: ack.seq,
        hash: ack.hash,
        ...(ack.duplicate ? { duplicate: true } : {}),
      });
    }
    if (forged > 0) {
      this.stats.forgedAcks += forged;
      this.#bad("worker", worker.key, "ACK for a record not dispatched to this worker");
    }
  }

  /** Hands queued records to the worker with the most free credit (least loaded). */
  #dispatch(): void {
    const now = this.#now();
    for (;;) {
      const id = this.#peek();
      if (id === undefined) return;
      const entry = this.#entries.get(id);
      if (!entry || entry.worker !== null) {
        this.#pop();
        continue;
      }
      const worker = this.#pickWorker(now);
      if (!worker) return;
      this.#pop();
      entry.worker = worker.key;
      entry.holders.add(worker.key);
      entry.dispatchedAt = now;
      entry.dispatches++;
      worker.inflight.add(id);
      worker.lastDispatch = now;
      // A send that throws (full queue) requeues the record: stop until the next event.
      if (!this.#toWorker(worker.identity, G_RECORD, entry.body, id)) return;
    }
  }

  #pickWorker(now: number): WorkerState | undefined {
    let best: WorkerState | undefined;
    let bestFree = 0;
    for (const worker of this.#workers.values()) {
      if (worker.draining || worker.quarantinedUntil > now) continue;
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

  #reply(envelope: Uint8Array[], reply: GatewayReply): void {
    try {
      this.#port.reply([...envelope, encodeReply(reply)]);
    } catch {
      this.stats.sendFailures++;
    }
  }

  #toWorker(
    worker: Uint8Array,
    command: typeof G_RECORD | typeof HEARTBEAT | typeof G_BYE_OK | typeof G_RESET,
    body?: Uint8Array,
    recordId?: string,
  ): boolean {
    try {
      this.#port.toWorker(gatewayFrames(worker, command, body), worker, recordId);
      return true;
    } catch {
      if (recordId !== undefined) this.recordNotSent(worker, recordId);
      else this.stats.sendFailures++;
      return false;
    }
  }

  #badClient(peer: string, reason: string): void {
    this.#bad("client", peer, reason, this.#clients);
  }

  #bad(from: string, peer: string, reason: string, budget?: PeerBudget): void {
    this.stats.badMessages++;
    this.#port.log.limited("warn", "bad_message", { from, peer, reason }, reasonKey(from, reason));
    if (budget?.bad(peer)) {
      this.stats.throttledPeers++;
      this.#port.log.limited("warn", "peer_throttled", {
        from,
        peer,
        for_ms: budget.penaltyMs,
      }, `peer_throttled:${from}`);
    }
  }
}
