/**
 * titanic_broker's side of the storage protocol, sans-IO: numbered calls over a DEALER, each
 * answer matched by id, each call failing after `timeoutMs` (the storage service may be
 * down or restarting: the caller answers 500 or retries later), at most `maxPending` at once.
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import type { Frames, Pattern, PatternPort } from "@lib/patterns/mod.ts";
import {
  decodeStorageAnswer,
  encodeStorage,
  type StorageAnswer,
  type StorageRequest,
} from "./storage_protocol.ts";

/** Distributes `Omit` over the request union. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
/** A storage request before it is numbered. */
export type StorageCall = WithoutId<StorageRequest>;

/** Counters of a {@linkcode StorageClient}. */
export interface StorageClientStats {
  calls: number;
  answered: number;
  failed: number;
  timeouts: number;
  refused: number;
  unmatched: number;
  pending: number;
}

/** A call that failed: a timeout, a full window, a refused send or the store's own error. */
export class StorageError extends Error {
  override name = "StorageError";
}

interface Pending {
  op: string;
  resolve(answer: StorageAnswer): void;
  reject(error: Error): void;
  deadline: number;
}

/**
 * Storage calls with ids and deadlines.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { StorageClient } from "./storage_client.ts";
 * const clock = new ManualClock();
 * const client = new StorageClient(
 *   { clock, log: createMemoryLogger(), send: () => {} },
 *   { timeoutMs: 1000 },
 * );
 * const call = client.call({ op: "get", uuid: "0".repeat(32) });
 * client.tick(clock.now() + 1000);
 * await call.catch((e) => console.log(e.message)); // storage get: no answer within 1000 ms
 * ```
 */
export class StorageClient implements Pattern<StorageClientStats> {
  readonly #port: PatternPort;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #stats = { calls: 0, answered: 0, failed: 0, timeouts: 0, refused: 0, unmatched: 0 };

  constructor(port: PatternPort, options: { timeoutMs: number; maxPending?: number }) {
    if (!(options.timeoutMs > 0)) {
      throw new RangeError(`expected timeoutMs > 0, got ${options.timeoutMs}`);
    }
    this.#port = port;
    this.#timeoutMs = options.timeoutMs;
    this.#maxPending = options.maxPending ?? 10_000;
  }

  /** Sends one call; resolves with an `ok` answer, rejects with {@linkcode StorageError}. */
  call(request: StorageCall): Promise<StorageAnswer> {
    this.#stats.calls++;
    if (this.#pending.size >= this.#maxPending) {
      this.#stats.refused++;
      return Promise.reject(
        new StorageError(`storage ${request.op}: ${this.#maxPending} calls already pending`),
      );
    }
    const id = this.#nextId++;
    try {
      this.#port.send([encodeStorage({ ...request, id } as StorageRequest)]);
    } catch (error) {
      this.#stats.refused++;
      return Promise.reject(new StorageError(`storage ${request.op}: send refused: ${error}`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        op: request.op,
        deadline: this.#port.clock.now() + this.#timeoutMs,
        resolve: (answer) => {
          if (answer.ok) return resolve(answer);
          this.#stats.failed++;
          reject(new StorageError(`storage ${request.op}: ${answer.error ?? "failed"}`));
        },
        reject: (error) => reject(error),
      });
    });
  }

  /** Feeds one message from the DEALER: `[answer]`. Throws `BadMessageError`. */
  onMessage(frames: Frames): void {
    if (frames.length !== 1) {
      throw new BadMessageError(`storage answer: expected 1 frame, got ${frames.length}`);
    }
    const answer = decodeStorageAnswer(frames[0]);
    const pending = this.#pending.get(answer.id);
    if (!pending) {
      this.#stats.unmatched++; // late, after its timeout
      return;
    }
    this.#pending.delete(answer.id);
    this.#stats.answered++;
    pending.resolve(answer);
  }

  /** Fails calls past their deadline. */
  tick(now: number): void {
    for (const [id, pending] of this.#pending) {
      if (now < pending.deadline) continue;
      this.#pending.delete(id);
      this.#stats.timeouts++;
      pending.reject(
        new StorageError(`storage ${pending.op}: no answer within ${this.#timeoutMs} ms`),
      );
    }
  }

  /** Fails every pending call (on stop). */
  abandon(reason: string): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new StorageError(reason));
    }
  }

  /** Counters. */
  stats(): StorageClientStats {
    return { ...this.#stats, pending: this.#pending.size };
  }

  /** True when no call is pending. */
  settled(): boolean {
    return this.#pending.size === 0;
  }
}
