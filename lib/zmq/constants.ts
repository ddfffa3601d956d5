/**
 * libzmq 4.3 constants used by the binding (zmq.h). Socket types, option ids, flags,
 * poll events, context options and monitor events.
 *
 * @module
 */

/** Socket type ids from zmq.h. */
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

/** Send/receive flags. */
export const ZMQ_DONTWAIT = 1;
/** Send flag: more frames follow. */
export const ZMQ_SNDMORE = 2;

/** ZMQ_EVENTS bits. */
export const ZMQ_POLLIN = 1;
/** ZMQ_EVENTS bit: the socket can send. */
export const ZMQ_POLLOUT = 2;

/** Context options. */
export const ZMQ_IO_THREADS = 1;
/** Context option: maximum sockets. */
export const ZMQ_MAX_SOCKETS = 2;
/** Context option: whether zmq_ctx_term blocks on lingering sockets by default. */
export const ZMQ_BLOCKY = 70;

/** Socket option ids used internally. */
export const ZMQ_RCVMORE = 13;
/** The socket's signalling file descriptor. */
export const ZMQ_FD = 14;
/** The socket's readiness bits (ZMQ_POLLIN / ZMQ_POLLOUT). */
export const ZMQ_EVENTS = 15;

/** Monitor event bits (zmq_socket_monitor). */
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

/** libzmq's own error numbers start here (ZMQ_HAUSNUMERO). */
export const ZMQ_HAUSNUMERO = 156384712;
