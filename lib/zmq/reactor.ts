/**
 * The process-wide reactor: one `poll(2)` (run as a `nonblocking` FFI call, so it waits on
 * a helper thread and never blocks the event loop) over the ZMQ_FD of every socket that
 * has a pending send or receive, plus one wake-up pipe.
 *
 * ZMQ_FD is edge-triggered: it only signals that libzmq has commands to process, not that
 * a message is ready. So the reactor always asks each socket to re-check ZMQ_EVENTS (and
 * to send/receive until EAGAIN) before it polls and after every wake; it polls only while
 * some socket still waits. An idle process (nothing pending) runs no poll at all; a
 * process that only waits sits in poll(2) with no timeout: ~0 % CPU.
 *
 * @module
 */

/** What the reactor needs from a socket. */
export interface Pollable {
  /** The socket's ZMQ_FD. */
  readonly fd: number;
  /** Does as much pending work as ZMQ_EVENTS allows; returns true while work remains. */
  process(): boolean;
}

const LIBC_SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  pipe: { parameters: ["buffer"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
} as const satisfies Deno.ForeignLibraryInterface;

const POLLIN = 0x0001;

function openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> {
  const names = Deno.build.os === "darwin"
    ? ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"]
    : ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
  const errors: string[] = [];
  for (const name of names) {
    try {
      return Deno.dlopen(name, LIBC_SYMBOLS);
    } catch (error) {
      errors.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    `the ZeroMQ reactor needs poll(2) from the C library (${Deno.build.os} is not supported yet): ` +
      errors.join("; "),
  );
}

/**
 * Schedules socket work and waits for readiness with poll(2).
 *
 * @example
 * ```ts
 * reactor.watch(socket); // socket.process() runs now and again whenever its fd signals
 * ```
 */
export class Reactor {
  #libc = openLibc();
  #watched = new Set<Pollable>();
  #polling = false;
  #polledFds = new Set<number>();
  #wakeRead: number;
  #wakeWrite: number;
  #wakePending = false;
  #scheduled = false;
  #wakeByte = new Uint8Array(1);
  #drainBuffer = new Uint8Array(256);

  constructor() {
    const fds = new Int32Array(2);
    if (this.#libc.symbols.pipe(fds) !== 0) {
      throw new Error("pipe() failed: cannot create the reactor");
    }
    this.#wakeRead = fds[0];
    this.#wakeWrite = fds[1];
  }

  /** Registers a socket that has pending work and runs a pass soon. */
  watch(socket: Pollable): void {
    if (!this.#watched.has(socket)) {
      this.#watched.add(socket);
      if (this.#polling && !this.#polledFds.has(socket.fd)) this.#wake();
    }
    this.#schedule();
  }

  /** Forgets a socket (it closed); a running poll is woken so the fd leaves the set. */
  unwatch(socket: Pollable): void {
    if (this.#watched.delete(socket) && this.#polling) this.#wake();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pass();
    });
  }

  #wake(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    this.#libc.symbols.write(this.#wakeWrite, this.#wakeByte, 1n);
  }

  #pass(): void {
    for (const socket of this.#watched) {
      let more: boolean;
      try {
        more = socket.process();
      } catch {
        more = false;
      }
      if (!more) this.#watched.delete(socket);
    }
    if (this.#watched.size > 0 && !this.#polling) this.#poll();
  }

  #poll(): void {
    const sockets = [...this.#watched];
    const fds = new Int32Array((sockets.length + 1) * 2);
    const view = new Int16Array(fds.buffer);
    this.#polledFds = new Set();
    sockets.forEach((socket, i) => {
      fds[i * 2] = socket.fd;
      view[i * 4 + 2] = POLLIN;
      this.#polledFds.add(socket.fd);
    });
    const last = sockets.length;
    fds[last * 2] = this.#wakeRead;
    view[last * 4 + 2] = POLLIN;
    this.#polling = true;
    const bytes = new Uint8Array(fds.buffer);
    this.#libc.symbols.poll(bytes, BigInt(sockets.length + 1), -1).then(() => {
      this.#polling = false;
      if (view[last * 4 + 3] & POLLIN) {
        this.#libc.symbols.read(
          this.#wakeRead,
          this.#drainBuffer,
          BigInt(this.#drainBuffer.length),
        );
        this.#wakePending = false;
      }
      // Keep `bytes` alive until the call is done.
      bytes.byteLength;
      this.#pass();
    });
  }
}

let instance: Reactor | undefined;

/** The one reactor of this process, created on first use. */
export function reactor(): Reactor {
  return instance ??= new Reactor();
}
