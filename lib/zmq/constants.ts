/**
 * libzmq 4.3 constants used by the binding (zmq.h). Socket types, option ids, flags,
 * poll events, context options and monitor events.
 *
 * @module
 */

/**
 * Socket type ids from zmq.h.
 *
 * @example
 * ```ts
 * import { SocketType } from "@lib/zmq/mod.ts";
 * console.log(SocketType.ROUTER); // 6
 * ```
 */
export const SocketType = {
  PAIR: 0,
  PUB: 1,
  SUB: 2,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
  PULL: 7,
  PUSH: 8,
  XPUB: 9,
  XSUB: 10,
  STREAM: 11,
} as const;

/**
 * Send/receive flag: do not block (EAGAIN instead).
 *
 * @example
 * ```ts
 * import { ZMQ_DONTWAIT, ZMQ_SNDMORE } from "./constants.ts";
 * console.log(ZMQ_DONTWAIT | ZMQ_SNDMORE); // 3
 * ```
 */
export const ZMQ_DONTWAIT = 1;
/**
 * Send flag: more frames of this message follow.
 *
 * @example
 * ```ts
 * import { ZMQ_SNDMORE } from "./constants.ts";
 * console.log(ZMQ_SNDMORE); // 2
 * ```
 */
export const ZMQ_SNDMORE = 2;

/**
 * ZMQ_EVENTS bit: a message can be received.
 *
 * @example
 * ```ts
 * import { ZMQ_POLLIN } from "./constants.ts";
 * const readable = (events: number) => (events & ZMQ_POLLIN) !== 0;
 * console.log(readable(3));
 * ```
 */
export const ZMQ_POLLIN = 1;
/**
 * ZMQ_EVENTS bit: a message can be sent.
 *
 * @example
 * ```ts
 * import { ZMQ_POLLOUT } from "./constants.ts";
 * const writable = (events: number) => (events & ZMQ_POLLOUT) !== 0;
 * console.log(writable(2));
 * ```
 */
export const ZMQ_POLLOUT = 2;

/**
 * Socket option: 1 while the last frame received has more frames after it.
 *
 * @example
 * ```ts
 * import { ZMQ_RCVMORE } from "./constants.ts";
 * console.log(`getsockopt(${ZMQ_RCVMORE}) is 1 inside a multipart message`);
 * ```
 */
export const ZMQ_RCVMORE = 13;
/**
 * Socket option: the socket's signalling file descriptor (edge-triggered).
 *
 * @example
 * ```ts
 * import { ZMQ_FD } from "./constants.ts";
 * console.log(`getsockopt(${ZMQ_FD}) gives the fd the reactor polls`);
 * ```
 */
export const ZMQ_FD = 14;
/**
 * Socket option: the socket's readiness bits (ZMQ_POLLIN / ZMQ_POLLOUT).
 *
 * @example
 * ```ts
 * import { ZMQ_EVENTS, ZMQ_POLLIN, ZMQ_POLLOUT } from "./constants.ts";
 * console.log(`getsockopt(${ZMQ_EVENTS}) gives ZMQ_POLLIN | ZMQ_POLLOUT bits`);
 * ```
 */
export const ZMQ_EVENTS = 15;

/**
 * Monitor event bits (zmq_socket_monitor); `socket.events` decodes them.
 *
 * @example
 * ```ts
 * import { MonitorEvent } from "@lib/zmq/mod.ts";
 * const mask = MonitorEvent.CONNECTED | MonitorEvent.DISCONNECTED;
 * console.log(mask.toString(16)); // 201
 * ```
 */
export const MonitorEvent = {
  CONNECTED: 0x0001,
  CONNECT_DELAYED: 0x0002,
  CONNECT_RETRIED: 0x0004,
  LISTENING: 0x0008,
  BIND_FAILED: 0x0010,
  ACCEPTED: 0x0020,
  ACCEPT_FAILED: 0x0040,
  CLOSED: 0x0080,
  CLOSE_FAILED: 0x0100,
  DISCONNECTED: 0x0200,
  MONITOR_STOPPED: 0x0400,
  HANDSHAKE_FAILED_NO_DETAIL: 0x0800,
  HANDSHAKE_SUCCEEDED: 0x1000,
  HANDSHAKE_FAILED_PROTOCOL: 0x2000,
  HANDSHAKE_FAILED_AUTH: 0x4000,
  ALL: 0xffff,
} as const;

/**
 * libzmq's own error numbers start here (ZMQ_HAUSNUMERO).
 *
 * @example
 * ```ts
 * import { ZMQ_HAUSNUMERO } from "./constants.ts";
 * const isZmqErrno = (errno: number) => errno > ZMQ_HAUSNUMERO;
 * console.log(isZmqErrno(ZMQ_HAUSNUMERO + 53)); // ETERM
 * ```
 */
export const ZMQ_HAUSNUMERO = 156384712;
