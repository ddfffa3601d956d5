/**
 * Typed errors of the ZeroMQ binding.
 *
 * @module
 */
import { ZMQ_HAUSNUMERO } from "./constants.ts";

const LINUX_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  32: "EPIPE",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  95: "ENOTSUP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  115: "EINPROGRESS",
};

const DARWIN_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  32: "EPIPE",
  35: "EAGAIN",
  36: "EINPROGRESS",
  38: "ENOTSOCK",
  40: "EMSGSIZE",
  43: "EPROTONOSUPPORT",
  45: "ENOTSUP",
  47: "EAFNOSUPPORT",
  48: "EADDRINUSE",
  49: "EADDRNOTAVAIL",
  50: "ENETDOWN",
  53: "ECONNABORTED",
  54: "ECONNRESET",
  55: "ENOBUFS",
  57: "ENOTCONN",
  60: "ETIMEDOUT",
  61: "ECONNREFUSED",
  65: "EHOSTUNREACH",
};

const ZMQ_ERRNO: Record<number, string> = {
  [ZMQ_HAUSNUMERO + 1]: "ENOTSUP",
  [ZMQ_HAUSNUMERO + 2]: "EPROTONOSUPPORT",
  [ZMQ_HAUSNUMERO + 3]: "ENOBUFS",
  [ZMQ_HAUSNUMERO + 4]: "ENETDOWN",
  [ZMQ_HAUSNUMERO + 5]: "EADDRINUSE",
  [ZMQ_HAUSNUMERO + 6]: "EADDRNOTAVAIL",
  [ZMQ_HAUSNUMERO + 7]: "ECONNREFUSED",
  [ZMQ_HAUSNUMERO + 8]: "EINPROGRESS",
  [ZMQ_HAUSNUMERO + 9]: "ENOTSOCK",
  [ZMQ_HAUSNUMERO + 10]: "EMSGSIZE",
  [ZMQ_HAUSNUMERO + 11]: "EAFNOSUPPORT",
  [ZMQ_HAUSNUMERO + 12]: "ENETUNREACH",
  [ZMQ_HAUSNUMERO + 13]: "ECONNABORTED",
  [ZMQ_HAUSNUMERO + 14]: "ECONNRESET",
  [ZMQ_HAUSNUMERO + 15]: "ENOTCONN",
  [ZMQ_HAUSNUMERO + 16]: "ETIMEDOUT",
  [ZMQ_HAUSNUMERO + 17]: "EHOSTUNREACH",
  [ZMQ_HAUSNUMERO + 18]: "ENETRESET",
  [ZMQ_HAUSNUMERO + 51]: "EFSM",
  [ZMQ_HAUSNUMERO + 52]: "ENOCOMPATPROTO",
  [ZMQ_HAUSNUMERO + 53]: "ETERM",
  [ZMQ_HAUSNUMERO + 54]: "EMTHREAD",
};

/**
 * The errno value of EAGAIN on this platform.
 *
 * @example
 * ```ts
 * import { EAGAIN, errnoName } from "./errors.ts";
 * console.log(errnoName(EAGAIN)); // "EAGAIN"
 * ```
 */
export const EAGAIN: number = Deno.build.os === "darwin" ? 35 : 11;
/**
 * The errno value of EINTR on this platform.
 *
 * @example
 * ```ts
 * import { EINTR, errnoName } from "./errors.ts";
 * console.log(errnoName(EINTR)); // "EINTR"
 * ```
 */
export const EINTR = 4;

/**
 * The symbolic name of an errno value as libzmq reports it (e.g. `EHOSTUNREACH`).
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * console.log(errnoName(11)); // "EAGAIN" on Linux
 * ```
 */
export function errnoName(errno: number): string {
  const table = Deno.build.os === "darwin" ? DARWIN_ERRNO : LINUX_ERRNO;
  return ZMQ_ERRNO[errno] ?? table[errno] ?? `E${errno}`;
}

/**
 * An error from libzmq or from the binding. `code` is the errno name (`EAGAIN`,
 * `EHOSTUNREACH`, `ENOTSOCK` for a closed socket, `EADDRINUSE`, ...), `errno` the number
 * when libzmq reported one, `operation` what was attempted and `reason` libzmq's text.
 * The message is `<operation>: <reason> (<code>)`, or one given line (a failed `bind`
 * says `cannot bind tcp://127.0.0.1:5551: address already in use`).
 *
 * @example
 * ```ts
 * import { Router, ZmqError } from "@lib/zmq/mod.ts";
 * await using router = new Router({ mandatory: true });
 * try {
 *   await router.send(["nobody", "x"]);
 * } catch (e) {
 *   if (e instanceof ZmqError && e.code === "EHOSTUNREACH") console.log("gone");
 * }
 * ```
 */
export class ZmqError extends Error {
  /** Errno name, e.g. `EAGAIN`. */
  readonly code: string;
  /** Errno number, or 0 when the binding raised it itself. */
  readonly errno: number;
  /** The operation that failed, e.g. `bind tcp://127.0.0.1:5551`. */
  readonly operation: string;
  /** What went wrong, in libzmq's or the binding's words. */
  readonly reason: string;

  constructor(
    operation: string,
    code: string,
    errno: number,
    reason: string,
    options: { message?: string } = {},
  ) {
    super(options.message ?? `${operation}: ${reason} (${code})`);
    this.name = "ZmqError";
    this.code = code;
    this.errno = errno;
    this.operation = operation;
    this.reason = reason;
  }
}
