/**
 * One load-generating client's logic, without sockets: sends its records with at most
 * `window` outstanding, resends on timeout or after `busy` (same id: idempotent), counts
 * the first ok ack per id, and notices duplicate or inconsistent acks.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import type { JsonValue } from "./canonical_json.ts";
import { BadMessageError, decodeReply, encodeRequest } from "./protocol.ts";

/** A record to send. */
export interface ClientRecord {
  id: string;
  record: JsonValue;
}

/** The ack a client got for one id. */
export interface ClientAck {
  id: string;
  seq: number;
  hash: string;
  /** ms from the first send to the ack (busy waits and resends included). */
  latencyMs: number;
}

/** Client settings. */
export interface ClientConfig {
  /** Records outstanding at most. */
  window: number;
  /** Resend when no reply came within this many ms. */
  timeoutMs: number;
  /** Give a record up after this many sends. */
  maxAttempts: number;
}

/** What the session needs from the outside. */
export interface ClientIo {
  /**
   * Sends a request body (the role wraps it as `['', body]`). May throw (a full queue):
   * the record then counts as sent and its timeout resends it.
   */
  send(body: Uint8Array): void;
  /** Time (monotonic ms). */
  clock: Clock;
  /** Called for an unreadable reply (the role logs `bad_message`); it is dropped. */
  bad?(reason: string): void;
}

interface Pending {
  record: ClientRecord;
  body: Uint8Array;
  firstSent: number;
  /** When to (re)send: after a timeout or a busy reply. */
  due: number;
  attempts: number;
  /** A deliberate resend of an acked id (idempotency check). */
  repeat: boolean;
}

/**
 * A client session.
 *
 * @example
 * ```ts
 * const session = new ClientSession(records, config, { send, clock: systemClock });
 * session.start();
 * session.onReply(frames.at(-1)!); // for each reply
 * session.tick();                  // on a timer: resends
 * ```
 */
export class ClientSession {
  /** First ok ack of every acked id. */
  readonly acks = new Map<string, ClientAck>();
  /** Ids given up (max attempts reached or `invalid`). */
  readonly failed = new Map<string, string>();
  readonly stats = {
    sent: 0,
    resends: 0,
    busy: 0,
    duplicateAcks: 0,
    mismatches: 0,
    bad: 0,
    sendFailures: 0,
  };
  #records: ClientRecord[];
  #next = 0;
  #pending = new Map<string, Pending>();
  #config: ClientConfig;
  #io: ClientIo;

  constructor(records: ClientRecord[], config: ClientConfig, io: ClientIo) {
    this.#records = records;
    this.#config = config;
    this.#io = io;
  }

  /** True when every record is acked or given up. */
  get done(): boolean {
    return this.#next >= this.#records.length && this.#pending.size === 0;
  }

  /** Sends the first window of records. */
  start(): void {
    this.#fill();
  }

  #fill(): void {
    while (this.#pending.size < this.#config.window && this.#next < this.#records.length) {
      const record = this.#records[this.#next++];
      const now = this.#io.clock.now();
      const pending: Pending = {
        record,
        body: encodeRequest(record),
        firstSent: now,
        due: now + this.#config.timeoutMs,
        attempts: 1,
        repeat: false,
      };
      this.#pending.set(record.id, pending);
      this.stats.sent++;
      this.#send(pending.body);
    }
  }

  #send(body: Uint8Array): void {
    try {
      this.#io.send(body);
    } catch {
      this.stats.sendFailures++;
    }
  }

  /** Handles one reply body. */
  onReply(body: Uint8Array): void {
    let reply;
    try {
      reply = decodeReply(body);
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      this.stats.bad++;
      this.#io.bad?.(error.reason);
      return;
    }
    const now = this.#io.clock.now();
    const pending = this.#pending.get(reply.id);
    if (reply.status === "ok") {
      const first = this.acks.get(reply.id);
      if (first) {
        this.stats.duplicateAcks++;
        if (first.seq !== reply.seq || first.hash !== reply.hash) this.stats.mismatches++;
        if (pending?.repeat) this.#pending.delete(reply.id);
        return;
      }
      if (!pending) return;
      this.#pending.delete(reply.id);
      this.acks.set(reply.id, {
        id: reply.id,
        seq: reply.seq,
        hash: reply.hash,
        latencyMs: now - pending.firstSent,
      });
      this.#fill();
      return;
    }
    if (!pending) return;
    if (reply.status === "busy") {
      this.stats.busy++;
      pending.due = now + reply.retry_after_ms;
      return;
    }
    this.#pending.delete(reply.id);
    this.failed.set(reply.id, reply.reason);
    this.#fill();
  }

  /**
   * Sends every acked id once more (same id and record): each should come back `ok` with
   * the original seq and hash (counted in `stats.duplicateAcks`, differences in
   * `stats.mismatches`). `done` turns false until all are answered.
   */
  repeatAcked(): void {
    const byId = new Map(this.#records.map((r) => [r.id, r]));
    const now = this.#io.clock.now();
    for (const id of this.acks.keys()) {
      const record = byId.get(id)!;
      const pending: Pending = {
        record,
        body: encodeRequest(record),
        firstSent: now,
        due: now + this.#config.timeoutMs,
        attempts: 1,
        repeat: true,
      };
      this.#pending.set(id, pending);
      this.#send(pending.body);
    }
  }

  /** Resends records whose timeout or busy wait is over; gives up after max attempts. */
  tick(): void {
    const now = this.#io.clock.now();
    for (const pending of this.#pending.values()) {
      if (pending.due > now) continue;
      if (pending.attempts >= this.#config.maxAttempts) {
        this.#pending.delete(pending.record.id);
        this.failed.set(pending.record.id, `no ack after ${pending.attempts} attempts`);
        continue;
      }
      pending.attempts++;
      pending.due = now + this.#config.timeoutMs;
      this.stats.resends++;
      this.#send(pending.body);
    }
    this.#fill();
  }
}
