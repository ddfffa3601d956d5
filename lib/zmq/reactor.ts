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
 * @module
 */

import { platform } from "./libc.ts";

/** What the reactor needs from a socket. */
export interface Pollable {
  /** The socket's ZMQ_FD. */
  readonly fd: number;
  /** Does as much pending work as ZMQ_EVENTS allows; returns true while work remains. */
  process(): boolean;
}

/** Poll timeout where there is no wake-up pipe (Windows). */
const WINDOWS_POLL_TIMEOUT_MS = 50;

/**
 * Schedules socket work and waits for readiness with poll(2).
 *
 * @example
 * ```ts
 * reactor().watch(socket); // socket.process() runs soon and again whenever its fd signals
 * ```
 */
export class Reactor {
  #platform = platform();
  /** Sockets whose fd is in the poll set (they stay until closed: no fd churn). */
  #members = new Set<Pollable>();
  /** Sockets with a pending send or receive. */
  #waiting = new Set<Pollable>();
  #polling = false;
  #pollStale = false;
  #wakePending = false;
  #scheduled = false;

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
      this.#pass(this.#waiting);
    });
  }

  #wake(): void {
    const wake = this.#platform.wake;
    if (!wake || this.#wakePending) return; // without a pipe, the poll's timeout ends it
    this.#wakePending = true;
    wake.signal();
  }

  #pass(sockets: Iterable<Pollable>): void {
    for (const socket of sockets) {
      let more: boolean;
      try {
        more = socket.process();
      } catch {
        more = false;
      }
      if (more) this.#waiting.add(socket);
      else this.#waiting.delete(socket);
    }
    if (this.#waiting.size > 0) {
      if (!this.#polling) this.#poll();
      else if (this.#pollStale) this.#wake();
    } else if (this.#polling) {
      this.#wake(); // nothing waits: end the poll so the process may exit
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
    this.#platform.poll(bytes, count, timeout).then(() => {
      this.#polling = false;
      if (wake && isReadable(entries, sockets.length)) {
        wake.drain();
        this.#wakePending = false;
      }
      // Every member re-reads ZMQ_EVENTS: that also re-arms its edge-triggered fd.
      this.#pass(this.#members);
    });
  }
}

let instance: Reactor | undefined;

/** The one reactor of this process, created on first use. */
export function reactor(): Reactor {
  return instance ??= new Reactor();
}
