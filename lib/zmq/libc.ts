/**
 * The few C library functions the binding needs, per platform: a poll over socket
 * descriptors for the reactor (poll(2) on Linux/macOS, WSAPoll on Windows), a wake-up pipe
 * where the platform has one, and memcpy (a fast FFI call, cheaper than Deno's copyInto op
 * for small frames).
 *
 * @module
 */

const UNIX_SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  pipe: { parameters: ["buffer"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

const LINUX_SYMBOLS = {
  ppoll: { parameters: ["buffer", "u64", "buffer", "pointer"], result: "i32" },
  // In the C library itself since glibc 2.34 (and in musl); optional for older ones.
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

const WINSOCK_SYMBOLS = {
  WSAPoll: { parameters: ["buffer", "u32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

const CRT_SYMBOLS = {
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * A wake-up pipe: writing to `write` makes `read` readable.
 *
 * @example
 * ```ts
 * import { platform, type WakePipe } from "./libc.ts";
 * const wake: WakePipe | null = platform().wake;
 * wake?.signal(); // a poll(2) that includes wake.read returns
 * ```
 */
export interface WakePipe {
  read: number;
  write: number;
  /** Makes the read end readable. */
  signal(): void;
  /** Empties the read end (call only when poll said it is readable). */
  drain(): void;
}

/**
 * What the reactor and the sockets use of the platform.
 *
 * @example
 * ```ts
 * import { platform, type Platform } from "./libc.ts";
 * const p: Platform = platform();
 * console.log(p.pollEntrySize, p.fdSize);
 * ```
 */
export interface Platform {
  /** Bytes of one poll entry, and where its fields are. */
  pollEntrySize: number;
  /** Writes entry `i` (descriptor, POLLIN) into a poll array. */
  setPollEntry(entries: DataView, i: number, fd: number): void;
  /** True when entry `i` came back readable (or in error). */
  isReadable(entries: DataView, i: number): boolean;
  /** Polls `count` entries on a helper thread (a nonblocking FFI call). */
  poll(entries: Uint8Array, count: number, timeoutMs: number): Promise<number>;
  /**
   * Polls `count` entries on this thread (it blocks the event loop) for at most
   * `timeoutUs` microseconds: ppoll(2) on Linux; null where only millisecond timeouts exist.
   */
  pollNow: ((entries: Uint8Array, count: number, timeoutUs: number) => number) | null;
  /** A wake-up pipe, or null where the reactor polls with a timeout instead (Windows). */
  wake: WakePipe | null;
  /** Copies `length` bytes from `source` into `destination`. */
  memcpy(destination: Uint8Array, source: Deno.PointerValue, length: bigint): void;
  /** Size in bytes of ZMQ_FD's value (a SOCKET is 8 bytes on 64-bit Windows). */
  fdSize: 4 | 8;
  /**
   * A C function that does nothing with its arguments (the C library's `abs`), to hand
   * libzmq as the free function of a frame whose release we track otherwise; null where
   * it cannot be looked up (then zero-copy sends use a JavaScript callback).
   */
  noopFunction: Deno.PointerValue;
}

function open<S extends Deno.ForeignLibraryInterface>(
  names: string[],
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const errors: string[] = [];
  for (const name of names) {
    try {
      return Deno.dlopen(name, symbols).symbols;
    } catch (error) {
      errors.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(`lib/zmq needs the C library's poll and memcpy: ${errors.join("; ")}`);
}

const POLLIN = 0x0001;
const POLLERR = 0x0008;
const POLLHUP = 0x0010;
const POLLNVAL = 0x0020;
const WSA_POLLRDNORM = 0x0100;
const WSA_POLLRDBAND = 0x0200;

function unix(): Platform {
  const c = open(
    Deno.build.os === "darwin"
      ? ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"]
      : ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
    UNIX_SYMBOLS,
  );
  const fds = new Int32Array(2);
  if (c.pipe(fds) !== 0) throw new Error("pipe() failed: cannot create the reactor's wake-up pipe");
  const one = new Uint8Array(1);
  const drainBuffer = new Uint8Array(256);
  let pollNow: Platform["pollNow"] = null;
  let noopFunction: Deno.PointerValue = null;
  if (Deno.build.os === "linux") {
    const linux = open(
      ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
      LINUX_SYMBOLS,
    );
    const timespec = new BigInt64Array(2); // struct timespec { tv_sec; tv_nsec; }
    const timespecBytes = new Uint8Array(timespec.buffer);
    const counts: bigint[] = Array.from({ length: 65 }, (_, i) => BigInt(i));
    pollNow = (entries, count, timeoutUs) => {
      timespec[0] = BigInt(Math.floor(timeoutUs / 1e6));
      timespec[1] = BigInt(Math.round((timeoutUs % 1e6) * 1000));
      return linux.ppoll(entries, counts[count] ?? BigInt(count), timespecBytes, null);
    };
    // RTLD_DEFAULT is the null handle on Linux: search every loaded library.
    noopFunction = linux.dlsym?.(null, new TextEncoder().encode("abs\0")) ?? null;
  }
  // struct pollfd { int fd; short events; short revents; }
  return {
    pollEntrySize: 8,
    setPollEntry: (entries, i, fd) => {
      entries.setInt32(i * 8, fd, true);
      entries.setInt16(i * 8 + 4, POLLIN, true);
      entries.setInt16(i * 8 + 6, 0, true);
    },
    isReadable: (entries, i) =>
      (entries.getInt16(i * 8 + 6, true) & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) !== 0,
    poll: (entries, count, timeoutMs) => c.poll(entries, BigInt(count), timeoutMs),
    pollNow,
    wake: {
      read: fds[0],
      write: fds[1],
      signal: () => void c.write(fds[1], one, 1n),
      drain: () => void c.read(fds[0], drainBuffer, BigInt(drainBuffer.length)),
    },
    memcpy: (destination, source, length) => void c.memcpy(destination, source, length),
    fdSize: 4,
    noopFunction,
  };
}

function windows(): Platform {
  const ws = open(["ws2_32.dll"], WINSOCK_SYMBOLS);
  const crt = open(["msvcrt.dll", "ucrtbase.dll"], CRT_SYMBOLS);
  // struct WSAPOLLFD { SOCKET fd; SHORT events; SHORT revents; } (16 bytes on 64-bit)
  return {
    pollEntrySize: 16,
    setPollEntry: (entries, i, fd) => {
      entries.setBigUint64(i * 16, BigInt(fd), true);
      entries.setInt16(i * 16 + 8, WSA_POLLRDNORM | WSA_POLLRDBAND, true);
      entries.setInt16(i * 16 + 10, 0, true);
    },
    isReadable: (entries, i) => entries.getInt16(i * 16 + 10, true) !== 0,
    poll: (entries, count, timeoutMs) => ws.WSAPoll(entries, count, timeoutMs),
    pollNow: null,
    wake: null,
    memcpy: (destination, source, length) => void crt.memcpy(destination, source, length),
    fdSize: 8,
    noopFunction: null,
  };
}

let loaded: Platform | undefined;

/**
 * The platform layer, opened once.
 *
 * @example
 * ```ts
 * import { platform } from "./libc.ts";
 * const source = new Uint8Array([1, 2, 3]);
 * const destination = new Uint8Array(3);
 * platform().memcpy(destination, Deno.UnsafePointer.of(source), 3n);
 * ```
 */
export function platform(): Platform {
  return loaded ??= Deno.build.os === "windows" ? windows() : unix();
}
