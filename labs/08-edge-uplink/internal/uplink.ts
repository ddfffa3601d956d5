/**
 * The device side of the uplink, sans-IO: which receiver to talk to (failover in list
 * order, a circuit breaker per receiver, fail-back to a preferred receiver), and the
 * sending of queued readings as batches (a bounded window of batches in flight, cumulative
 * acks, go-back-N on a timeout or a `rewind`).
 *
 * The 6/PPP session itself (READY, heartbeats, liveness, reconnect backoff) is
 * `ParanoidPirateWorker` from `@lib/patterns`; the role tells this class when a session
 * starts (`sessionStarted`), when the receiver was heard (`heard`), and when the worker
 * declared it dead (`sessionLost`).
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { CircuitBreaker, RetransmitWindow } from "@lib/patterns/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { type Ack, encodeBatch, type Reading } from "./protocol.ts";

/** What the uplink needs from the on-disk queue. */
export interface ReadingQueue {
  /** Lowest seq held (or the next seq when empty). */
  readonly floor: number;
  /** Readings held. */
  readonly size: number;
  read(from: number, limit: number): Reading[];
  ackUpTo(seq: number): number;
}

/** Options of {@link Uplink}. */
export interface UplinkOptions {
  clock: Clock;
  log: Logger;
  device: string;
  epoch: string;
  /** Receiver endpoints in order of preference. */
  receivers: string[];
  queue: ReadingQueue;
  /** Sends one message on the current session's socket; throws when it cannot. */
  send(frames: Uint8Array[]): void;
  /** Batches in flight at once. */
  window: number;
  /** Readings per batch. */
  batchSize: number;
  /** No ack for a batch this long: go back and send again from the oldest unacked. */
  ackTimeoutMs: number;
  /** Heartbeat interval (to express the failover time in heartbeats). */
  heartbeatIntervalMs: number;
  /** Consecutive lost sessions that open a receiver's breaker. */
  breakerFailures: number;
  /** First open period of a breaker (doubles per failed trial, up to 8×). */
  breakerCooldownMs: number;
  /** On a backup receiver, try the preferred ones again every this many ms (0: never). */
  failbackAfterMs: number;
}

/** Counters. */
export interface UplinkStats {
  sessions: number;
  failovers: number;
  failbacks: number;
  batchesSent: number;
  readingsSent: number;
  acked: number;
  rewinds: number;
  timeouts: number;
  sendFailed: number;
  badAcks: number;
  inFlight: number;
  queued: number;
}

/**
 * The uplink core.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { Uplink } from "./uplink.ts";
 * const uplink = new Uplink({
 *   clock: new ManualClock(), log: createMemoryLogger(), device: "d1", epoch: "e1",
 *   receivers: ["tcp://127.0.0.1:5581"], send: () => {},
 *   queue: { floor: 0, size: 0, read: () => [], ackUpTo: () => 0 },
 *   window: 4, batchSize: 100, ackTimeoutMs: 3000, heartbeatIntervalMs: 1000,
 *   breakerFailures: 2, breakerCooldownMs: 10_000, failbackAfterMs: 0,
 * });
 * uplink.sessionStarted(uplink.choose()!);
 * ```
 */
export class Uplink {
  readonly #o: UplinkOptions;
  readonly #breakers: CircuitBreaker[];
  readonly #window: RetransmitWindow<{ first: number; count: number }>;
  /** Keys (last seq of each batch) in flight, oldest first. */
  #keys: number[] = [];
  #cursor = 0;
  #current: number | null = null;
  #live = false;
  #lastHeardAt: number | null = null;
  #lostFrom: number | null = null;
  #sessionStart = 0;
  #failbackAt = Infinity;
  #stats = {
    sessions: 0,
    failovers: 0,
    failbacks: 0,
    batchesSent: 0,
    readingsSent: 0,
    acked: 0,
    rewinds: 0,
    timeouts: 0,
    sendFailed: 0,
    badAcks: 0,
  };

  constructor(options: UplinkOptions) {
    if (options.receivers.length === 0) {
      throw new RangeError("expected at least one receiver");
    }
    this.#o = options;
    this.#breakers = options.receivers.map((receiver) =>
      new CircuitBreaker({
        clock: options.clock,
        failureThreshold: options.breakerFailures,
        cooldownMs: options.breakerCooldownMs,
        onChange: (c) =>
          options.log.info("breaker", {
            receiver,
            from: c.from,
            to: c.to,
            failures: c.failures,
            ...(c.cooldownMs === undefined ? {} : { cooldown_ms: c.cooldownMs }),
          }),
      })
    );
    this.#window = new RetransmitWindow({
      capacity: options.window,
      ackTimeoutMs: options.ackTimeoutMs,
      maxTimeoutMs: options.ackTimeoutMs,
      clock: options.clock,
    });
  }

  /** The receiver of the current session (null between sessions). */
  get current(): string | null {
    return this.#current === null ? null : this.#o.receivers[this.#current];
  }

  /** Whether the current receiver has answered in this session. */
  get live(): boolean {
    return this.#live;
  }

  /** Breaker state per receiver. */
  breakers(): { receiver: string; state: string }[] {
    return this.#breakers.map((b, i) => ({
      receiver: this.#o.receivers[i],
      state: b.state,
    }));
  }

  /**
   * The receiver for a new session: after a lost one, the next in the list (wrapping)
   * whose breaker lets a call through; at the start, the first such. Undefined when every
   * breaker is open.
   */
  choose(): string | undefined {
    const n = this.#o.receivers.length;
    const start = this.#lostFrom === null ? 0 : (this.#lostFrom + 1) % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.#breakers[i].allow()) return this.#o.receivers[i];
    }
    return undefined;
  }

  /** A session to `receiver` was opened (READY sent). Nothing is sent until it answers. */
  sessionStarted(receiver: string): void {
    const index = this.#o.receivers.indexOf(receiver);
    if (index < 0) {
      throw new RangeError(`expected a listed receiver, got ${receiver}`);
    }
    this.#clearWindow();
    this.#current = index;
    this.#live = false;
    this.#stats.sessions++;
    this.#sessionStart = this.#o.clock.now();
    this.#failbackAt = index > 0 && this.#o.failbackAfterMs > 0
      ? this.#sessionStart + this.#o.failbackAfterMs
      : Infinity;
    this.#o.log.info("session_started", {
      receiver,
      session: this.#stats.sessions,
      queued: this.#o.queue.size,
    });
  }

  /** Any message from the current receiver. The first of a session closes its breaker. */
  heard(): void {
    if (this.#current === null) return;
    const now = this.#o.clock.now();
    if (!this.#live) {
      this.#live = true;
      this.#breakers[this.#current].success();
      const receiver = this.#o.receivers[this.#current];
      if (this.#lostFrom !== null && this.#lastHeardAt !== null) {
        const ms = Math.round(now - this.#lastHeardAt);
        const failover = this.#lostFrom !== this.#current;
        if (failover) this.#stats.failovers++;
        this.#o.log.info(failover ? "failover" : "reconnected", {
          from: this.#o.receivers[this.#lostFrom],
          to: receiver,
          ms,
          heartbeats: Number((ms / this.#o.heartbeatIntervalMs).toFixed(1)),
        });
      }
      this.#o.log.info("receiver_up", { receiver, queued: this.#o.queue.size });
      this.#lostFrom = null;
    }
    this.#lastHeardAt = now;
    this.pump();
  }

  /** The worker declared the current receiver dead (or no receiver could be chosen). */
  sessionLost(): void {
    if (this.#current !== null) {
      this.#breakers[this.#current].failure();
      this.#lostFrom = this.#current;
      this.#o.log.warn("receiver_lost", {
        receiver: this.#o.receivers[this.#current],
        queued: this.#o.queue.size,
      });
    }
    this.#clearWindow();
    this.#current = null;
    this.#live = false;
  }

  /**
   * Ends the current session without blaming the receiver (a fail-back, or a stop):
   * returns the preferred receiver to switch to, taking its breaker's trial.
   */
  failbackTarget(now: number = this.#o.clock.now()): string | undefined {
    if (this.#current === null || now < this.#failbackAt) return undefined;
    this.#failbackAt = now + this.#o.failbackAfterMs;
    for (let i = 0; i < this.#current; i++) {
      if (this.#breakers[i].wouldAllow(now) && this.#breakers[i].allow(now)) {
        this.#stats.failbacks++;
        this.#o.log.info("failback", {
          from: this.#o.receivers[this.#current],
          to: this.#o.receivers[i],
          after_ms: Math.round(now - this.#sessionStart),
        });
        // Not a loss: no failure counts against the backup, and if the preferred
        // receiver does not answer, the next choice after it is the backup again.
        this.#lostFrom = null;
        return this.#o.receivers[i];
      }
    }
    return undefined;
  }

  /** An ACK from the receiver (already parsed). */
  onAck(ack: Ack): void {
    if (ack.device !== this.#o.device || ack.epoch !== this.#o.epoch) {
      this.#stats.badAcks++;
      this.#o.log.limited("warn", "bad_ack", {
        expected: `${this.#o.device}/${this.#o.epoch}`,
        got: `${ack.device}/${ack.epoch}`,
      });
      return;
    }
    const removed = this.#o.queue.ackUpTo(ack.upto);
    this.#stats.acked += removed;
    while (this.#keys.length > 0 && this.#keys[0] <= ack.upto) {
      this.#window.ack(this.#keys.shift()!);
    }
    if (removed > 0) this.#o.log.debug("acked", { upto: ack.upto, removed });
    if (ack.status === "rewind") {
      this.#stats.rewinds++;
      this.#rewind(ack.upto + 1);
    }
    this.pump();
  }

  /** Sends batches while the window has room and readings wait; only to a live receiver. */
  pump(): void {
    if (this.#current === null || !this.#live) return;
    if (this.#cursor < this.#o.queue.floor) this.#cursor = this.#o.queue.floor;
    while (!this.#window.full) {
      const readings = this.#o.queue.read(this.#cursor, this.#o.batchSize);
      if (readings.length === 0) return;
      const batch = {
        device: this.#o.device,
        epoch: this.#o.epoch,
        floor: this.#o.queue.floor,
        readings,
      };
      try {
        this.#o.send(encodeBatch(batch));
      } catch {
        this.#stats.sendFailed++;
        return; // the next tick or ack tries again
      }
      const last = readings.at(-1)!.seq;
      this.#window.add(last, {
        first: readings[0].seq,
        count: readings.length,
      });
      this.#keys.push(last);
      this.#cursor = last + 1;
      this.#stats.batchesSent++;
      this.#stats.readingsSent += readings.length;
    }
  }

  /** Time-driven work: ack timeouts (go back to the oldest unacked), then sending. */
  tick(): void {
    if (this.#current !== null && this.#window.due().length > 0) {
      this.#stats.timeouts++;
      this.#o.log.limited("warn", "ack_timeout", {
        receiver: this.#o.receivers[this.#current],
        in_flight: this.#keys.length,
      });
      this.#rewind(this.#o.queue.floor);
    }
    for (const b of this.#breakers) b.tick();
    this.pump();
  }

  /** True when nothing is in flight. */
  settled(): boolean {
    return this.#keys.length === 0;
  }

  /** Counters and gauges. */
  stats(): UplinkStats {
    return {
      ...this.#stats,
      inFlight: this.#keys.length,
      queued: this.#o.queue.size,
    };
  }

  #rewind(from: number): void {
    this.#clearWindow();
    this.#cursor = Math.max(from, this.#o.queue.floor);
  }

  #clearWindow(): void {
    for (const key of this.#keys) this.#window.ack(key);
    this.#keys = [];
    this.#cursor = this.#o.queue.floor;
  }
}
