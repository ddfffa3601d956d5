/**
 * The archival worker's logic, without sockets: registration with a credit, a bounded
 * queue of received records, batched durable appends (group commit: one fsync per batch),
 * acks, heartbeats, re-registration when the gateway goes silent, and the BYE handshake.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import type { StoredAck, StoreItem } from "./chain_store.ts";
import {
  BadMessageError,
  decodeGatewayMessage,
  workerFrames,
  type WorkerMessage,
} from "./protocol.ts";

/**
 * What the session needs from the outside: the `@lib/patterns` port shape (clock, the
 * role's logger, a send that may throw) plus the durable append.
 */
export interface WorkerIo {
  /** Time and timers (ManualClock in tests). */
  clock: Clock;
  /** The role's logger. */
  log: Logger;
  /** Sends frames to the gateway (the DEALER adds the routing id); may throw (full queue). */
  send(frames: (string | Uint8Array)[]): void;
  /** Appends a batch durably (ChainStore.append). */
  append(items: StoreItem[]): Promise<StoredAck[]>;
}

/** Worker settings. */
export interface WorkerConfig {
  /** Records the gateway may hand over unacknowledged (credit). */
  capacity: number;
  /** Largest batch per append/fsync. */
  batchMax: number;
  /** Heartbeat interval (ms). */
  heartbeatMs: number;
  /** The gateway is considered gone after this much silence (ms): register again. */
  gatewayTimeoutMs: number;
  /** Extra delay per batch (ms; demo/test knob for a slow worker). */
  delayMs: number;
}

/**
 * One worker's session with the gateway.
 *
 * @example
 * ```ts
 * const session = new WorkerSession(config, io);
 * session.start();                       // READY
 * const storing = session.run(signal);   // appends + acks until stopped
 * for await (const frames of dealer) session.onMessage(frames);
 * await storing;
 * await session.finish(1000);            // BYE, BYE_OK, store what it holds
 * ```
 */
export class WorkerSession {
  /** Records stored (new) and acked as duplicates. */
  readonly stats = { stored: 0, duplicates: 0, batches: 0, badMessages: 0, sendFailures: 0 };
  #config: WorkerConfig;
  #io: WorkerIo;
  #queue: StoreItem[] = [];
  #wake: (() => void) | null = null;
  #lastHeard: number;
  #lastSent = 0;
  #byeOk = false;
  #stopping = false;
  #byeWaiter: (() => void) | null = null;

  constructor(config: WorkerConfig, io: WorkerIo) {
    this.#config = config;
    this.#io = io;
    this.#lastHeard = io.clock.now();
  }

  /** Records received and not yet acked. */
  get pending(): number {
    return this.#queue.length;
  }

  /** True once the gateway answered BYE with BYE_OK (it is alive and sends nothing more). */
  get byeAcknowledged(): boolean {
    return this.#byeOk;
  }

  /** Registers with the gateway. */
  start(): void {
    this.#lastHeard = this.#io.clock.now();
    this.#send({ command: "READY", capacity: this.#config.capacity });
  }

  #send(message: WorkerMessage): void {
    this.#lastSent = this.#io.clock.now();
    try {
      this.#io.send(workerFrames(message));
    } catch {
      this.stats.sendFailures++;
    }
  }

  /** Handles one message from the gateway. */
  onMessage(frames: Uint8Array[]): void {
    let message;
    try {
      message = decodeGatewayMessage(frames);
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      this.stats.badMessages++;
      this.#io.log.limited("warn", "bad_message", {
        from: "gateway",
        reason: error.reason,
      }, `bad_message:gateway:${error.reason.replace(/\d+/g, "N").slice(0, 120)}`);
      return;
    }
    this.#lastHeard = this.#io.clock.now();
    switch (message.command) {
      case "REC":
        if (this.#byeOk || this.#queue.length >= this.#config.capacity * 2) {
          // More than the credit allows (or after BYE_OK): hand it back, never grow unbounded.
          this.#send({ command: "NACK", ids: [message.request.id] });
          return;
        }
        this.#queue.push(message.request);
        this.#wake?.();
        return;
      case "RESET":
        this.#io.log.info("gateway_reset", { pending: this.#queue.length });
        if (!this.#stopping) this.start();
        return;
      case "BYE_OK":
        this.#byeOk = true;
        this.#byeWaiter?.();
        this.#wake?.();
        return;
      case "HB":
        return;
    }
  }

  /** Timer: heartbeats, and re-registration after gateway silence. */
  tick(): void {
    const now = this.#io.clock.now();
    if (!this.#stopping && now - this.#lastHeard > this.#config.gatewayTimeoutMs) {
      this.#io.log.warn("gateway_silent", { silent_ms: Math.round(now - this.#lastHeard) });
      this.start();
      return;
    }
    if (now - this.#lastSent >= this.#config.heartbeatMs) this.#send({ command: "HB" });
  }

  /** Stores and acks queued records until `signal` aborts (then call {@link finish}). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener("abort", done);
            this.#wake = null;
            resolve();
          };
          this.#wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      await this.#storeBatch();
    }
  }

  /**
   * The drain: says BYE, waits up to `byeWaitMs` for BYE_OK (after which no record can
   * arrive), then stores and acks what it holds, batch by batch, until done or `signal`
   * aborts (what is left unacked the gateway re-dispatches).
   */
  async finish(byeWaitMs: number, signal?: AbortSignal): Promise<void> {
    this.#stopping = true;
    this.#send({ command: "BYE" });
    if (!this.#byeOk) {
      await new Promise<void>((resolve) => {
        const timer = this.#io.clock.setTimer(byeWaitMs, resolve);
        this.#byeWaiter = () => {
          timer.cancel();
          resolve();
        };
      });
    }
    while (this.#queue.length > 0 && !signal?.aborted) await this.#storeBatch();
  }

  async #storeBatch(): Promise<void> {
    const batch = this.#queue.slice(0, this.#config.batchMax);
    if (this.#config.delayMs > 0) await this.#io.clock.sleep(this.#config.delayMs);
    const acks = await this.#io.append(batch);
    this.#queue.splice(0, batch.length);
    this.stats.batches++;
    for (const ack of acks) ack.duplicate ? this.stats.duplicates++ : this.stats.stored++;
    this.#send({ command: "ACK", acks });
    this.#io.log.debug("batch_stored", { count: batch.length, last_seq: acks.at(-1)?.seq });
  }
}
