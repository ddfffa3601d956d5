/**
 * The process-wide reactor: one `poll(2)` (run as a `nonblocking` FFI call, so it waits on
 * a helper thread and never blocks the event loop) over the ZMQ_FD of the sockets that
 * have been waited on, plus one wake-up pipe.
 *
 * ZMQ_FD is edge-triggered: it only signals that libzmq has commands to process, not that
 * a message is ready. So after every wake the reactor lets every member socket re-read
 * ZMQ_EVENTS (and send/receive until EAGAIN), and a socket re-checks after its own
 * send/receive when other work is pending on it. The reactor polls only while some socket
 * still waits: a process with nothing pending runs no poll (and can exit); a process that
 * waits sits in poll(2) with no timeout: ~0 % CPU.
 *
 * Fairness: an operation that can complete at once resolves its promise at once, and a
 * `for await` over a busy socket then runs on microtasks only, starving timers, I/O and
 * signal handlers. So every synchronous completion takes one unit of a budget of
 * {@linkcode SYNC_COMPLETION_LIMIT}; when it is spent, operations queue instead and the
 * next pass runs in a `setImmediate` macrotask, after the event loop had its turn.
 *
 * Park (Linux, the default there): a wait first parks in a *synchronous* ppoll(2) on the
 * waiting sockets' fds, on the main thread, for an adaptive budget (doubled after a hit,
 * halved after a miss, capped by `parkMaxUs`, 0 below 25 us and re-armed when a pool poll
 * returns within the cap). A reply that comes within the budget is handled without the
 * round trip through a pool thread (~50-100 us of wake-ups). It holds the event loop for
 * at most the budget, and never when the loop had no turn for 1 ms, when the pass just
 * resolved something (its continuations run first), or while zero-copy frames are in
 * flight (their free callback needs this thread). See PERFORMANCE.md for the figures.
 *
 * Errors: an exception from a socket's processing rejects that socket's pending operations
 * (and reaches its `events` observer); a failed poll is retried up to
 * {@linkcode POLL_FAILURE_LIMIT} times in a row, then every socket's pending operations
 * reject with code `EIO` and the reactor starts afresh with the next operation.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { ZmqError } from "./errors.ts";
import { type Platform, platform as defaultPlatform } from "./libc.ts";

/**
 * Synchronous completions allowed between two turns of the event loop (zeromq.js caps its
 * synchronous operations at 512 too).
 *
 * @example
 * ```ts
 * import { SYNC_COMPLETION_LIMIT } from "@lib/zmq/mod.ts";
 * console.log(`the event loop gets a turn at least every ${SYNC_COMPLETION_LIMIT} messages`);
 * ```
 */
export const SYNC_COMPLETION_LIMIT = 512;

/**
 * Failed polls in a row after which every waiting operation rejects.
 *
 * @example
 * ```ts
 * import { POLL_FAILURE_LIMIT } from "@lib/zmq/mod.ts";
 * console.log(`a poll is retried ${POLL_FAILURE_LIMIT - 1} times`);
 * ```
 */
export const POLL_FAILURE_LIMIT = 5;

/**
 * What the reactor needs from a socket.
 *
 * @example
 * ```ts
 * import type { Pollable } from "./reactor.ts";
 * const idle: Pollable = { fd: 0, process: () => false, fail: (error) => console.error(error) };
 * console.log(idle.process());
 * ```
 */
export interface Pollable {
  /** The socket's ZMQ_FD. */
  readonly fd: number;
  /** Does as much pending work as ZMQ_EVENTS and the budget allow; true while work remains. */
  process(): boolean;
  /** Rejects the socket's pending operations with `error` (its processing failed). */
  fail(error: Error): void;
}

/**
 * How a wait is done: `park` (a bounded synchronous ppoll first, then the pool poll) or
 * `pool` (only the nonblocking poll on a helper thread).
 *
 * @example
 * ```ts
 * import { configureReactor, type ReactorMode } from "@lib/zmq/mod.ts";
 * const mode: ReactorMode = "pool";
 * configureReactor({ mode });
 * ```
 */
export type ReactorMode = "park" | "pool";

/**
 * Options of the process's reactor (see {@linkcode configureReactor}).
 *
 * @example
 * ```ts
 * import type { ReactorOptions } from "@lib/zmq/mod.ts";
 * const lowLatency: ReactorOptions = { mode: "park", parkMaxUs: 2000 };
 * console.log(lowLatency);
 * ```
 */
export interface ReactorOptions {
  /** `park` (default on Linux; elsewhere only `pool` exists) or `pool`. */
  mode?: ReactorMode;
  /**
   * Longest synchronous park in microseconds (default 1000): the most one park holds the
   * event loop. Higher catches slower replies without a pool round trip; lower keeps
   * timers more punctual.
   */
  parkMaxUs?: number;
}

/** Default cap of one park (us). */
const PARK_MAX_US = 1000;
/** A budget halved below this is 0 (parking off until a pool poll returns quickly). */
const PARK_FLOOR_US = 25;
/** Park only when the event loop had a turn within this many ms. */
const TURN_MS = 1;

/**
 * Test seam: faults injected into the reactor (module-internal, not exported by mod.ts).
 *
 * @example
 * ```ts
 * import { reactor, type ReactorFaults } from "./reactor.ts";
 * const faults: ReactorFaults = reactor().faults;
 * faults.poll = () => new Error("injected"); // the next poll fails
 * faults.poll = undefined;
 * ```
 */
export interface ReactorFaults {
  /** Runs before a socket's processing inside the reactor's guard; throw to fail it. */
  process?: (socket: Pollable) => void;
  /** Returns an error to make the next poll reject with it, or undefined for a real poll. */
  poll?: () => Error | undefined;
}

/** Poll timeout where there is no wake-up pipe (Windows). */
const WINDOWS_POLL_TIMEOUT_MS = 50;

/**
 * Schedules socket work and waits for readiness with poll(2).
 *
 * @example
 * ```ts
 * import { Reactor } from "./reactor.ts";
 * const r = new Reactor();
 * if (r.mayComplete()) console.log("an operation may resolve synchronously now");
 * ```
 */
export class Reactor {
  #platform: Platform;
  /** Faults a test injects (see {@linkcode ReactorFaults}). */
  readonly faults: ReactorFaults = {};
  /** Sockets whose fd is in the poll set (they stay until closed: no fd churn). */
  #members = new Set<Pollable>();
  /** Sockets with a pending send or receive. */
  #waiting = new Set<Pollable>();
  #polling = false;
  #pollStale = false;
  #wakePending = false;
  #scheduled = false;
  #completions = 0;
  /** Counts completions without ever resetting (a pass compares it to see progress). */
  #progress = 0;
  /** A pass waits for the event loop's next turn (a yield or a deferred park). */
  #turnPending = false;
  #pollFailures = 0;
  #mode: ReactorMode;
  #parkMaxUs = PARK_MAX_US;
  #budgetUs = PARK_MAX_US / 4;
  /** When a macrotask of ours last ran (the event loop had a turn). */
  #lastTurn = performance.now();
  #parkEntries = new Uint8Array(64);
  /** Parking is allowed only while this says so (no zero-copy frames in flight). */
  canPark: () => boolean = () => true;

  constructor(platform: Platform = defaultPlatform()) {
    this.#platform = platform;
    this.#mode = platform.pollNow ? "park" : "pool";
  }

  /**
   * Changes the mode or the park cap; returns the options now in force.
   *
   * @example
   * ```ts
   * import { reactor } from "./reactor.ts";
   * console.log(reactor().configure().mode);
   * ```
   */
  configure(options: ReactorOptions = {}): Required<ReactorOptions> {
    if (options.mode !== undefined) {
      if (options.mode !== "park" && options.mode !== "pool") {
        throw new TypeError(`reactor mode: expected "park" or "pool", got ${String(options.mode)}`);
      }
      // Without a microsecond synchronous poll (macOS, Windows) there is only the pool.
      this.#mode = this.#platform.pollNow ? options.mode : "pool";
    }
    if (options.parkMaxUs !== undefined) {
      const max = options.parkMaxUs;
      if (!(Number.isFinite(max) && max >= 0 && max <= 100_000)) {
        throw new TypeError(`reactor parkMaxUs: expected 0..100000 us, got ${String(max)}`);
      }
      this.#parkMaxUs = max;
      this.#budgetUs = Math.min(this.#budgetUs, max);
    }
    return { mode: this.#mode, parkMaxUs: this.#parkMaxUs };
  }

  /**
   * Takes one unit of the synchronous-completion budget: true when an operation may
   * complete (resolve) now, false when it must queue until the event loop had a turn.
   */
  mayComplete(): boolean {
    if (this.#completions < SYNC_COMPLETION_LIMIT) {
      this.#completions++;
      this.#progress++;
      return true;
    }
    this.#afterTurn();
    return false;
  }

  /** Registers a socket that has pending work and runs a pass soon. */
  watch(socket: Pollable): void {
    this.#waiting.add(socket);
    if (!this.#members.has(socket)) {
      this.#members.add(socket);
      if (this.#polling) this.#pollStale = true;
    }
    this.#schedule();
  }

  /** Forgets a socket (it closed); a running poll is woken so the fd leaves the set. */
  unwatch(socket: Pollable): void {
    this.#waiting.delete(socket);
    if (this.#members.delete(socket) && this.#polling) {
      this.#pollStale = true;
      this.#wake();
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      // With the budget spent the pass waits for the event loop's turn; a park deferred to
      // the next turn does not hold back this pass (an in-process peer may answer now).
      if (this.#completions >= SYNC_COMPLETION_LIMIT) this.#afterTurn();
      else this.#pass(this.#waiting);
    });
  }

  /**
   * Runs the next pass after the event loop had a turn (setImmediate: ~2 us a hop): when
   * the synchronous budget is spent, or before a park that would follow a busy stretch.
   */
  #afterTurn(): void {
    if (this.#turnPending) return;
    this.#turnPending = true;
    setImmediate(() => {
      this.#turnPending = false;
      this.#turn();
      this.#pass(this.#waiting);
    });
  }

  /** The event loop had a turn: a fresh synchronous budget. */
  #turn(): void {
    this.#completions = 0;
    this.#lastTurn = performance.now();
  }

  /**
   * Parks in a synchronous ppoll on the waiting sockets for the current budget: true when
   * one became readable (then the caller runs a pass at once).
   */
  #park(): boolean {
    const { pollEntrySize, setPollEntry } = this.#platform;
    const count = this.#waiting.size;
    if (this.#parkEntries.byteLength < count * pollEntrySize) {
      this.#parkEntries = new Uint8Array(count * pollEntrySize * 2);
    }
    const entries = new DataView(this.#parkEntries.buffer);
    let i = 0;
    for (const socket of this.#waiting) setPollEntry(entries, i++, socket.fd);
    const ready = this.#platform.pollNow!(this.#parkEntries, count, this.#budgetUs);
    if (ready > 0) {
      this.#budgetUs = Math.min(this.#parkMaxUs, this.#budgetUs * 2);
      return true;
    }
    const half = this.#budgetUs / 2;
    this.#budgetUs = half < PARK_FLOOR_US ? 0 : half;
    return false;
  }

  #wake(): void {
    const wake = this.#platform.wake;
    if (!wake || this.#wakePending) return; // without a pipe, the poll's timeout ends it
    this.#wakePending = true;
    wake.signal();
  }

  #pass(sockets: Iterable<Pollable>): void {
    for (let hits = 0;; hits++) {
      const progress = this.#progress;
      this.#processAll(sockets);
      if (this.#waiting.size === 0) {
        this.#pollFailures = 0; // nothing waits: failures so far no longer count as in a row
        if (this.#polling) this.#wake(); // end the poll so the process may exit
        return;
      }
      if (this.#turnPending) return; // the pass after the turn polls if still needed
      if (this.#polling) {
        if (this.#pollStale) this.#wake();
        return;
      }
      if (this.#mode === "park" && this.#budgetUs > 0 && this.canPark()) {
        // Continuations of what just resolved (or a loop that had no turn) go first.
        if (this.#progress !== progress || performance.now() - this.#lastTurn >= TURN_MS) {
          this.#afterTurn();
          return;
        }
        if (hits < 64 && this.#park()) {
          sockets = this.#waiting;
          continue;
        }
      }
      this.#poll();
      return;
    }
  }

  /** Lets each socket process; an exception rejects that socket's pending operations. */
  #processAll(sockets: Iterable<Pollable>): void {
    for (const socket of sockets) {
      let more: boolean;
      try {
        this.faults.process?.(socket);
        more = socket.process();
      } catch (error) {
        more = false;
        // Settle what waits on the socket: a swallowed error would leave it pending forever.
        socket.fail(error instanceof Error ? error : new Error(String(error)));
      }
      if (more) this.#waiting.add(socket);
      else this.#waiting.delete(socket);
    }
  }

  #poll(): void {
    const { pollEntrySize, setPollEntry, isReadable, wake } = this.#platform;
    const sockets = [...this.#members];
    const count = sockets.length + (wake ? 1 : 0);
    const bytes = new Uint8Array(count * pollEntrySize);
    const entries = new DataView(bytes.buffer);
    sockets.forEach((socket, i) => setPollEntry(entries, i, socket.fd));
    if (wake) setPollEntry(entries, sockets.length, wake.read);
    this.#polling = true;
    this.#pollStale = false;
    // Without a wake-up pipe (Windows) a bounded timeout picks up new sockets and lets an
    // idle process exit; 50 ms of sleep between checks is still ~0 % CPU.
    const timeout = wake ? -1 : WINDOWS_POLL_TIMEOUT_MS;
    let polled: Promise<number>;
    try {
      const fault = this.faults.poll?.();
      polled = fault ? Promise.reject(fault) : this.#platform.poll(bytes, count, timeout);
    } catch (error) {
      polled = Promise.reject(error);
    }
    const started = performance.now();
    polled.then(
      (ready) => {
        this.#polling = false;
        this.#turn(); // the event loop had its turn while we waited
        // A wait shorter than a park would have been: parking pays again.
        if (this.#budgetUs === 0 && (performance.now() - started) * 1000 < this.#parkMaxUs) {
          this.#budgetUs = Math.min(this.#parkMaxUs, PARK_FLOOR_US * 2);
        }
        if (wake && ready > 0 && isReadable(entries, sockets.length)) {
          wake.drain();
          this.#wakePending = false;
        }
        if (ready < 0) {
          // errno lives on the pool thread; a signal (EINTR) is the usual cause: retry.
          this.#pollFailed(new Error(`poll returned ${ready}`));
          return;
        }
        this.#pollFailures = 0;
        // Every member re-reads ZMQ_EVENTS: that also re-arms its edge-triggered fd.
        this.#pass(this.#members);
      },
      (error) => {
        this.#polling = false;
        this.#pollFailed(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** A poll failed: retry after a short backoff, or fail every socket once too many did. */
  #pollFailed(error: Error): void {
    this.#pollFailures++;
    if (this.#pollFailures >= POLL_FAILURE_LIMIT) {
      this.#pollFailures = 0;
      const failure = new ZmqError(
        "poll",
        "EIO",
        0,
        `the reactor's poll failed ${POLL_FAILURE_LIMIT} times in a row (${error.message})`,
      );
      const sockets = [...this.#members];
      this.#waiting.clear();
      for (const socket of sockets) socket.fail(failure);
      return;
    }
    // Every member re-reads ZMQ_EVENTS (the wait may have missed an edge), then polls again.
    setTimeout(() => this.#pass(this.#members), 2 ** this.#pollFailures);
  }
}

let instance: Reactor | undefined;

/**
 * The one reactor of this process, created on first use.
 *
 * @example
 * ```ts
 * import { reactor } from "./reactor.ts";
 * reactor().faults.poll = undefined; // no injected fault: real polls
 * ```
 */
export function reactor(): Reactor {
  return instance ??= new Reactor();
}

/**
 * Configures the process's reactor: `mode` (`park`, the default on Linux, or `pool`) and
 * `parkMaxUs` (the longest synchronous park, default 1000 us). Returns the options in force.
 * Park trades up to `parkMaxUs` of event-loop time per wait for ~50-100 us less latency per
 * round trip; `pool` never blocks the event loop. See `lib/zmq/PERFORMANCE.md`.
 *
 * @example
 * ```ts
 * import { configureReactor } from "@lib/zmq/mod.ts";
 * const { mode, parkMaxUs } = configureReactor({ parkMaxUs: 500 });
 * console.log(mode, parkMaxUs);
 * ```
 */
export function configureReactor(options: ReactorOptions = {}): Required<ReactorOptions> {
  return reactor().configure(options);
}
