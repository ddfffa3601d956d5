/**
 * The socket base class: bind/connect, promise-based send and receive driven by the
 * reactor, async iteration, typed options, events, close.
 *
 * @module
 */
import {
  SocketType,
  ZMQ_DONTWAIT,
  ZMQ_EVENTS,
  ZMQ_FD,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZMQ_RCVMORE,
  ZMQ_SNDMORE,
} from "./constants.ts";
import { libzmq, trackSocket, untrackSocket, zmqContext } from "./context.ts";
import { EAGAIN, EINTR, errnoName, ZmqError } from "./errors.ts";
import { cstr, type ZmqSymbols } from "./ffi.ts";
import { platform } from "./libc.ts";
import { createLentFrames, type LentFrames } from "./lent_frames.ts";
import { type Pollable, reactor } from "./reactor.ts";
import { closeEvents, emitEvent, SocketEvents } from "./socket_events.ts";

/**
 * One frame as the caller may pass it. `null` is an empty frame.
 *
 * @example
 * ```ts
 * import type { Frame } from "@lib/zmq/mod.ts";
 * const frames: Frame[] = ["text", new Uint8Array([1]), new ArrayBuffer(2), null];
 * console.log(frames.length);
 * ```
 */
export type Frame = string | Uint8Array | ArrayBuffer | null;
/**
 * A message: one frame or several.
 *
 * @example
 * ```ts
 * import type { Message } from "@lib/zmq/mod.ts";
 * const one: Message = "ping";
 * const multipart: Message = ["topic", new Uint8Array(8)];
 * console.log(one, multipart);
 * ```
 */
export type Message = Frame | Frame[];

/**
 * Frames at least this large (16 KiB) are sent without copying: libzmq reads the caller's
 * buffer until it is done with it, so **do not modify such a frame after sending it**
 * while {@linkcode zeroCopyHeld} says libzmq holds it. Smaller frames are copied by
 * zmq_send. On Linux a lent frame's release is seen without any callback (see
 * lent_frames.ts: copying costs more from ~16 KiB on); elsewhere a lent frame is freed
 * through a thread-safe callback that holds libzmq's I/O thread, so there only frames of
 * 1 MiB or more are lent. `receiveView` lends received frames from the same size.
 *
 * @example
 * ```ts
 * import { ZERO_COPY_THRESHOLD } from "@lib/zmq/mod.ts";
 * const frame = new Uint8Array(1 << 20);
 * console.log(frame.byteLength >= ZERO_COPY_THRESHOLD); // true: do not modify it after send
 * ```
 */
export const ZERO_COPY_THRESHOLD = 16 * 1024;
/** Where a lent frame needs the callback (no native release): lend only from this size. */
const CALLBACK_ZERO_COPY_THRESHOLD = 1024 * 1024;
/** A received frame this large has libzmq's buffer released at once, not at the next receive. */
const RELEASE_AFTER_RECEIVE = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface PendingSend {
  frames: Uint8Array[];
  next: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

interface PendingReceive {
  resolve: (frames: Uint8Array[]) => void;
  /** `receiveWithMetadata`: read these connection properties and resolve here. */
  properties?: readonly string[];
  resolveWithMetadata?: (message: MessageWithMetadata) => void;
  /** A `receiveInto` buffer: the next frame goes there and `resolveInto` gets its size. */
  into?: Uint8Array;
  /** `receiveView`: large frames are views of libzmq's buffers. */
  views?: boolean;
  resolveInto?: (size: number) => void;
  reject: (error: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * A message and the properties of the connection it came on, as libzmq's
 * `zmq_msg_gets` reports them (ZMQ 4.1+): `User-Id` (the ZAP handler's user id, for
 * CURVE the id the handler chose, e.g. the client's Z85 public key), `Peer-Address`,
 * `Socket-Type`, `Routing-Id`, and any `X-...` metadata the ZAP handler or the peer set.
 * A property the connection does not have is absent.
 *
 * @example
 * ```ts
 * import type { MessageWithMetadata } from "@lib/zmq/mod.ts";
 * const userOf = (m: MessageWithMetadata) => m.metadata["User-Id"] ?? "(anonymous)";
 * ```
 */
export interface MessageWithMetadata {
  frames: Uint8Array[];
  metadata: Record<string, string>;
}

/** The properties `receiveWithMetadata()` reads unless told otherwise. */
export const DEFAULT_MESSAGE_PROPERTIES: readonly string[] = ["User-Id", "Peer-Address"];

const propertyNames = new Map<string, Uint8Array>();

type OptionKind = "int" | "int64" | "bool" | "string" | "bytes" | "key";

/** [libzmq option id, value kind, write-only] */
type OptionSpec = readonly [number, OptionKind, boolean?];

/**
 * Options every socket type has: zeromq.js v6 property name → [libzmq id, kind, write-only].
 *
 * @example
 * ```ts
 * import { SOCKET_OPTIONS } from "./socket.ts";
 * const [id, kind] = SOCKET_OPTIONS.linger;
 * console.log(id, kind); // 17 "int"
 * ```
 */
export const SOCKET_OPTIONS = {
  routingId: [5, "string"],
  rate: [8, "int"],
  recoveryInterval: [9, "int"],
  sendBufferSize: [11, "int"],
  receiveBufferSize: [12, "int"],
  linger: [17, "int"],
  reconnectInterval: [18, "int"],
  backlog: [19, "int"],
  reconnectMaxInterval: [21, "int"],
  maxMessageSize: [22, "int64"],
  sendHighWaterMark: [23, "int"],
  receiveHighWaterMark: [24, "int"],
  multicastHops: [25, "int"],
  lastEndpoint: [32, "string"],
  tcpKeepalive: [34, "int"],
  tcpKeepaliveCount: [35, "int"],
  tcpKeepaliveIdle: [36, "int"],
  tcpKeepaliveInterval: [37, "int"],
  immediate: [39, "bool"],
  ipv6: [42, "bool"],
  plainServer: [44, "bool"],
  plainUsername: [45, "string"],
  plainPassword: [46, "string"],
  curveServer: [47, "bool"],
  curvePublicKey: [48, "key"],
  curveSecretKey: [49, "key"],
  curveServerKey: [50, "key"],
  zapDomain: [55, "string"],
  typeOfService: [57, "int"],
  connectRoutingId: [61, "string", true],
  handshakeInterval: [66, "int"],
  socksProxy: [68, "string"],
  invertMatching: [74, "bool"],
  heartbeatInterval: [75, "int", true],
  heartbeatTimeToLive: [76, "int", true],
  heartbeatTimeout: [77, "int", true],
  connectTimeout: [79, "int"],
  tcpMaxRetransmitTimeout: [80, "int"],
  multicastMaxTransportDataUnitSize: [84, "int"],
  bindToDevice: [92, "string"],
} as const satisfies Record<string, OptionSpec>;

/**
 * Socket options accepted by every constructor: the libzmq options by their zeromq.js names,
 * plus the binding's own `sendTimeout`, `receiveTimeout` and `sendQueueLimit`.
 *
 * @example
 * ```ts
 * import { Dealer, type SocketOptions } from "@lib/zmq/mod.ts";
 * const options: SocketOptions = { linger: 0, sendHighWaterMark: 100, sendQueueLimit: 10 };
 * await using dealer = new Dealer(options);
 * ```
 */
export interface SocketOptions {
  routingId?: string;
  rate?: number;
  recoveryInterval?: number;
  sendBufferSize?: number;
  receiveBufferSize?: number;
  /** ms to keep unsent messages after close (default 1000, 0 for SUB and PULL; -1 forever). */
  linger?: number;
  reconnectInterval?: number;
  backlog?: number;
  reconnectMaxInterval?: number;
  /** Largest inbound message in bytes (-1 = no limit); larger ones drop the peer. */
  maxMessageSize?: number;
  sendHighWaterMark?: number;
  receiveHighWaterMark?: number;
  multicastHops?: number;
  tcpKeepalive?: number;
  tcpKeepaliveCount?: number;
  tcpKeepaliveIdle?: number;
  tcpKeepaliveInterval?: number;
  immediate?: boolean;
  ipv6?: boolean;
  plainServer?: boolean;
  plainUsername?: string;
  plainPassword?: string;
  curveServer?: boolean;
  curvePublicKey?: string | Uint8Array;
  curveSecretKey?: string | Uint8Array;
  curveServerKey?: string | Uint8Array;
  zapDomain?: string;
  typeOfService?: number;
  connectRoutingId?: string;
  handshakeInterval?: number;
  socksProxy?: string;
  invertMatching?: boolean;
  heartbeatInterval?: number;
  heartbeatTimeToLive?: number;
  heartbeatTimeout?: number;
  connectTimeout?: number;
  tcpMaxRetransmitTimeout?: number;
  multicastMaxTransportDataUnitSize?: number;
  bindToDevice?: string;
  /** ms a send may wait for room (-1 forever): then it rejects with EAGAIN. */
  sendTimeout?: number;
  /** ms a receive may wait (-1 forever): then it rejects with EAGAIN. */
  receiveTimeout?: number;
  /**
   * Sends that may wait in this socket's queue (for room in libzmq) before `send` rejects
   * with EAGAIN at once; default: `sendHighWaterMark` (1000 when that is 0, unlimited).
   */
  sendQueueLimit?: number;
}

let nextFreeId = 1;
const zeroCopyFrames = new Map<number, Uint8Array>();
let freeCallback:
  | Deno.UnsafeCallback<{ parameters: ["pointer", "pointer"]; result: "void" }>
  | undefined;

function zeroCopyFree(): Deno.PointerValue {
  if (!freeCallback) {
    freeCallback = Deno.UnsafeCallback.threadSafe(
      { parameters: ["pointer", "pointer"], result: "void" },
      (_data, hint) => {
        const id = Number(Deno.UnsafePointer.value(hint));
        const frame = zeroCopyFrames.get(id);
        zeroCopyFrames.delete(id);
        if (frame) releaseHold(frame);
      },
    );
    freeCallback.unref();
  }
  return freeCallback.pointer;
}

/**
 * How many zero-copy frames libzmq still holds (for tests).
 *
 * @example
 * ```ts
 * import { zeroCopyFramesInFlight } from "@lib/zmq/mod.ts";
 * console.log(zeroCopyFramesInFlight()); // 0 when libzmq released every sent large frame
 * ```
 */
export function zeroCopyFramesInFlight(): number {
  return zeroCopyFrames.size + (lentRegistry()?.size ?? 0);
}

/** libzmq let go of one zero-copy send of `frame`. */
function releaseHold(frame: Uint8Array): void {
  const n = (zeroCopyHolds.get(frame) ?? 1) - 1;
  if (n > 0) zeroCopyHolds.set(frame, n);
  else zeroCopyHolds.delete(frame);
}

/** Zero-copy sends without a callback (see lent_frames.ts), or null: the callback path. */
function lentRegistry(): LentFrames | null {
  if (lent === undefined) {
    lent = createLentFrames(libzmq().symbols, platform().noopFunction, releaseHold);
  }
  return lent;
}
let lent: LentFrames | null | undefined;

/** Zero-copy sends libzmq still holds, per frame object (the free callback counts down). */
const zeroCopyHolds = new WeakMap<Uint8Array, number>();

/**
 * Whether libzmq still holds a zero-copy send of this exact frame object (a frame of
 * `ZERO_COPY_THRESHOLD` bytes or more, once `send` resolved): the frame must not be
 * modified or reused until this is false. A PUB sending to several subscribers holds it
 * until the last one has it; libzmq frees frames in any order, this tells which.
 *
 * @example
 * ```ts
 * import { Pull, Push, zeroCopyHeld, ZERO_COPY_THRESHOLD } from "@lib/zmq/mod.ts";
 * await using pull = new Pull();
 * await pull.bind("tcp://127.0.0.1:*");
 * await using push = new Push();
 * push.connect(pull.lastEndpoint!);
 * const frame = new Uint8Array(ZERO_COPY_THRESHOLD);
 * await push.send(frame);
 * await pull.receive();
 * console.log(zeroCopyHeld(frame)); // false once libzmq let go of it
 * ```
 */
export function zeroCopyHeld(frame: Uint8Array): boolean {
  return zeroCopyHolds.has(frame);
}

let reactorReady = false;
/** The reactor, made on first use (not at import: a role without --allow-ffi must get to say so). */
function socketReactor(): ReturnType<typeof reactor> {
  const r = reactor();
  if (!reactorReady) {
    // A park holds this thread, which the free callback of a zero-copy frame needs.
    r.canPark = () => zeroCopyFrames.size === 0;
    reactorReady = true;
  }
  return r;
}

/** Received frames up to this size are views into a shared slab (see `allocateFrame`). */
const SLAB_FRAME_LIMIT = 4096;
const SLAB_SIZE = 64 * 1024;
/** BigInt sizes for memcpy, made once (a BigInt per frame shows up in GC profiles). */
const SIZES = Array.from({ length: SLAB_FRAME_LIMIT + 1 }, (_, i) => BigInt(i));
let slab = new Uint8Array(SLAB_SIZE);
let slabOffset = 0;

/**
 * Memory for one received frame. Creating an ArrayBuffer costs about 0.5 us in Deno, more
 * than receiving a small message, so small frames are views into a 64 KiB slab (as Node's
 * Buffer pool does). A slab is filled once and never reused: a frame is never overwritten,
 * the caller owns its bytes, but `frame.buffer` holds other frames too (honour
 * `byteOffset`/`byteLength`), and a kept frame keeps its slab alive.
 */
function allocateFrame(size: number): Uint8Array {
  if (size > SLAB_FRAME_LIMIT) return new Uint8Array(size);
  if (slabOffset + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOffset = 0;
  }
  const frame = slab.subarray(slabOffset, slabOffset + size);
  slabOffset += (size + 7) & ~7; // keep views 8-byte aligned for DataView/typed-array users
  return frame;
}

function toBytes(frame: Frame): Uint8Array {
  if (frame === null) return new Uint8Array(0);
  if (typeof frame === "string") return encoder.encode(frame);
  if (frame instanceof Uint8Array) return frame;
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame);
  throw new TypeError(
    `a frame must be a string, Uint8Array, ArrayBuffer or null, got ${typeof frame}`,
  );
}

function lastError(z: ZmqSymbols, operation: string): ZmqError {
  const errno = z.zmq_errno();
  const text = Deno.UnsafePointerView.getCString(z.zmq_strerror(errno)!);
  return new ZmqError(operation, errnoName(errno), errno, text);
}

function closedError(operation: string): ZmqError {
  return new ZmqError(operation, "ENOTSOCK", 0, "socket is closed");
}

/** One settled promise for every send that completed at once (awaiting it allocates nothing). */
const RESOLVED: Promise<void> = Promise.resolve();

const intBuffer = new Int32Array(1);
const int64Buffer = new BigInt64Array(1);
const sizeBuffer = new BigUint64Array(1);
const sizeBytes = new Uint8Array(sizeBuffer.buffer);
const stringBuffer = new Uint8Array(1024);

/**
 * Base class of every socket type. Use the subclasses (`Push`, `Router`, ...).
 *
 * @example
 * ```ts
 * import { Push, type Socket } from "@lib/zmq/mod.ts";
 * await using push = new Push({ sendHighWaterMark: 1000 });
 * await push.bind("tcp://127.0.0.1:*");
 * const sockets: Socket[] = [push]; // every socket type is a Socket
 * console.log(sockets.map((s) => s.lastEndpoint));
 * ```
 */
export class Socket implements AsyncIterable<Uint8Array[]> {
  /** The libzmq socket type id. */
  readonly type: number;
  /** The socket's ZMQ_FD (used by the reactor). */
  readonly fd: number;
  #z: ZmqSymbols;
  #handle: Deno.PointerObject | null;
  #sends: PendingSend[] = [];
  #receives: PendingReceive[] = [];
  // zmq_msg_t buffers: off-heap (an ArrayBuffer of their own) so they never move.
  #msg = new Uint8Array(new ArrayBuffer(64));
  #recvMsg = new Uint8Array(new ArrayBuffer(64));
  #memcpy = platform().memcpy;
  #written = new Map<string, unknown>();
  #events: SocketEvents | undefined;
  #reactor = socketReactor();
  #pollable: Pollable;
  #sendQueueLimit: number | undefined;
  #defaultSendQueueLimit: number | undefined;
  /** ms a send may wait before rejecting with EAGAIN (-1 = forever). */
  sendTimeout = -1;
  /** ms a receive may wait before rejecting with EAGAIN (-1 = forever). */
  receiveTimeout = -1;

  constructor(type: number, options: SocketOptions = {}) {
    this.#z = libzmq().symbols;
    const handle = this.#z.zmq_socket(zmqContext(), type);
    if (handle === null) throw lastError(this.#z, "socket");
    this.#handle = handle;
    this.type = type;
    this.fd = platform().fdSize === 8 ? this.#getInt64(ZMQ_FD, "fd") : this.#getInt(ZMQ_FD, "fd");
    this.#pollable = {
      fd: this.fd,
      process: () => this.#process(),
      fail: (error) => this.#fail(error),
    };
    this.#z.zmq_msg_init(this.#recvMsg);
    trackSocket(this);
    // Sockets that only receive have nothing to flush on close; the others keep unsent
    // messages for a second so a clean shutdown loses nothing (terminate() waits for it).
    this.setOption("linger", type === SocketType.SUB || type === SocketType.PULL ? 0 : 1000);
    for (const [name, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (!(name in this)) {
        this.close({ linger: 0 });
        throw new TypeError(`unknown socket option "${name}" for ${this.constructor.name}`);
      }
      (this as unknown as Record<string, unknown>)[name] = value;
    }
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#handle === null;
  }

  #live(operation: string): Deno.PointerObject {
    if (this.#handle === null) throw closedError(operation);
    // Every call into libzmq may process its commands (bind, connect, send, options...):
    // after one, ZMQ_FD may have lost its edge, so the reactor must read ZMQ_EVENTS again.
    this.#fresh = false;
    return this.#handle;
  }

  /**
   * Binds to an endpoint (`tcp://127.0.0.1:*` picks a free port; see `lastEndpoint`).
   *
   * A failure rejects with a `ZmqError` whose message is one line, e.g.
   * `cannot bind tcp://127.0.0.1:5551: address already in use` (code `EADDRINUSE`).
   *
   * @example
   * ```ts
   * import { Reply } from "@lib/zmq/mod.ts";
   * await using rep = new Reply();
   * await rep.bind("tcp://127.0.0.1:*");
   * console.log(rep.lastEndpoint); // tcp://127.0.0.1:41234
   * ```
   */
  bind(endpoint: string): Promise<void> {
    try {
      if (this.#z.zmq_bind(this.#live("bind"), cstr(endpoint)) !== 0) {
        const error = lastError(this.#z, `bind ${endpoint}`);
        // One line a role can print as is: "cannot bind <endpoint>: address already in use".
        const reason = error.reason.charAt(0).toLowerCase() + error.reason.slice(1);
        throw new ZmqError(error.operation, error.code, error.errno, reason, {
          message: `cannot bind ${endpoint}: ${reason}`,
        });
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stops listening on an endpoint bound before.
   *
   * @example
   * ```ts
   * import { Reply } from "@lib/zmq/mod.ts";
   * await using rep = new Reply();
   * await rep.bind("tcp://127.0.0.1:*");
   * await rep.unbind(rep.lastEndpoint!);
   * ```
   */
  unbind(endpoint: string): Promise<void> {
    try {
      if (this.#z.zmq_unbind(this.#live("unbind"), cstr(endpoint)) !== 0) {
        throw lastError(this.#z, `unbind ${endpoint}`);
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Connects to an endpoint (returns at once; libzmq connects and reconnects in the
   * background).
   *
   * @example
   * ```ts
   * import { Request } from "@lib/zmq/mod.ts";
   * await using req = new Request();
   * req.connect("tcp://127.0.0.1:5555"); // no peer needed yet
   * ```
   */
  connect(endpoint: string): void {
    if (this.#z.zmq_connect(this.#live("connect"), cstr(endpoint)) !== 0) {
      throw lastError(this.#z, `connect ${endpoint}`);
    }
  }

  /**
   * Disconnects from an endpoint connected before.
   *
   * @example
   * ```ts
   * import { Dealer } from "@lib/zmq/mod.ts";
   * await using dealer = new Dealer();
   * dealer.connect("tcp://127.0.0.1:5555");
   * dealer.disconnect("tcp://127.0.0.1:5555");
   * ```
   */
  disconnect(endpoint: string): void {
    if (this.#z.zmq_disconnect(this.#live("disconnect"), cstr(endpoint)) !== 0) {
      throw lastError(this.#z, `disconnect ${endpoint}`);
    }
  }

  /**
   * Queues a message (one frame or several) and resolves once libzmq accepted it. Frames
   * of `ZERO_COPY_THRESHOLD` (16 KiB) or more are handed to libzmq without copying: do not
   * modify such a buffer after sending it.
   *
   * Sends queue in order while libzmq has no room (HWM reached, no peer yet), up to
   * `sendQueueLimit` of them; past that, `send` rejects at once with code `EAGAIN` (as it
   * does when `sendTimeout` expires). zeromq.js instead refuses a second send while one is
   * pending, with `EBUSY`. Fire-and-forget callers (`void sock.send(...)`) must handle that
   * rejection: drop and count, or await.
   *
   * @example
   * ```ts
   * import { Pull, Push, ZmqError } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * await pull.bind("tcp://127.0.0.1:*");
   * await using push = new Push({ sendQueueLimit: 100 });
   * push.connect(pull.lastEndpoint!);
   * let dropped = 0;
   * push.send(["job", new Uint8Array(8)]).catch((error) => {
   *   if (error instanceof ZmqError && error.code === "EAGAIN") dropped++; // queue full
   *   else throw error;
   * });
   * await pull.receive();
   * console.log({ dropped });
   * ```
   */
  send(message: Message): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return Promise.reject(closedError("send"));
    const now = this.#sends.length === 0 && this.#reactor.mayComplete();
    if (now && message instanceof Uint8Array && message.byteLength < ZERO_COPY_THRESHOLD) {
      // The hot case, one copied frame that libzmq takes at once: no array, no pending
      // record, no new promise (see `deno task bench:zmq --breakdown`).
      this.#fresh = false; // a send may process libzmq's commands (and take the fd's edge)
      const size = message.byteLength;
      const rc = this.#z.zmq_send(
        handle,
        message,
        size <= SLAB_FRAME_LIMIT ? SIZES[size] : BigInt(size),
        ZMQ_DONTWAIT,
      );
      if (rc >= 0) {
        // The send may have consumed the fd's edge that a waiting receive needs.
        if (this.#receives.length > 0) this.#reactor.watch(this.#pollable);
        return RESOLVED;
      }
      const errno = this.#z.zmq_errno();
      if (errno !== EAGAIN && errno !== EINTR) return Promise.reject(lastError(this.#z, "send"));
      return this.#queueSend({ frames: [message], next: 0 } as PendingSend);
    }
    let frames: Uint8Array[];
    try {
      frames = Array.isArray(message) ? message.map(toBytes) : [toBytes(message)];
      if (frames.length === 0) throw new TypeError("a message needs at least one frame, got 0");
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = { frames, next: 0 } as PendingSend;
    if (now) {
      try {
        if (this.#trySend(pending)) {
          // The send may have consumed the fd's edge that a waiting receive needs.
          if (this.#receives.length > 0) this.#reactor.watch(this.#pollable);
          return RESOLVED;
        }
      } catch (error) {
        return Promise.reject(error);
      }
    } else if (this.#sends.length >= this.sendQueueLimit) {
      return Promise.reject(
        new ZmqError(
          "send",
          "EAGAIN",
          EAGAIN,
          `send queue full: ${this.#sends.length} sends wait for room (sendQueueLimit)`,
        ),
      );
    }
    return this.#queueSend(pending);
  }

  /**
   * Sends that may wait in this socket's queue before `send` rejects with `EAGAIN` (an
   * integer >= 1, or Infinity). Default: `sendHighWaterMark`, or 1000 when that is 0.
   *
   * @example
   * ```ts
   * import { Dealer } from "@lib/zmq/mod.ts";
   * await using dealer = new Dealer({ sendHighWaterMark: 50 });
   * console.log(dealer.sendQueueLimit); // 50
   * dealer.sendQueueLimit = 10;
   * ```
   */
  get sendQueueLimit(): number {
    if (this.#sendQueueLimit !== undefined) return this.#sendQueueLimit;
    if (this.#defaultSendQueueLimit === undefined) {
      const hwm = this.#getInt(SOCKET_OPTIONS.sendHighWaterMark[0], "sendHighWaterMark");
      this.#defaultSendQueueLimit = hwm > 0 ? hwm : 1000;
    }
    return this.#defaultSendQueueLimit;
  }

  set sendQueueLimit(limit: number) {
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
      throw new TypeError(
        `option sendQueueLimit: expected an integer >= 1 or Infinity, got ${String(limit)}`,
      );
    }
    this.#sendQueueLimit = limit;
  }

  /**
   * Sends a message now if libzmq has room, without a promise: true when it was accepted,
   * false (nothing sent) when it would have to wait (HWM reached, no peer yet, or earlier
   * `send`s still queued, which keeps the order). Throws a `ZmqError` on other errors. The
   * allocation-free path for hot loops; fall back to `await send(...)` on false.
   *
   * @example
   * ```ts
   * import { Pull, Push } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * await pull.bind("tcp://127.0.0.1:*");
   * await using push = new Push();
   * push.connect(pull.lastEndpoint!);
   * const frame = new Uint8Array(16);
   * for (let i = 0; i < 1000; i++) if (!push.sendSync(frame)) await push.send(frame);
   * ```
   */
  sendSync(message: Message): boolean {
    if (this.#handle === null) throw closedError("send");
    if (this.#sends.length > 0) return false;
    const frames = Array.isArray(message) ? message.map(toBytes) : [toBytes(message)];
    if (frames.length === 0) throw new TypeError("a message needs at least one frame, got 0");
    const pending = { frames, next: 0 } as PendingSend;
    const done = this.#trySend(pending);
    if (!done && pending.next > 0) {
      // libzmq took the first frames: the rest must follow, so they queue (accepted).
      void this.#queueSend(pending).catch(() => {});
      return true;
    }
    // The send may have consumed the fd's edge that a waiting receive needs.
    if (this.#receives.length > 0) this.#reactor.watch(this.#pollable);
    return done;
  }

  #queueSend(pending: PendingSend): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      if (this.sendTimeout >= 0) {
        pending.timer = setTimeout(() => {
          const index = this.#sends.indexOf(pending);
          if (index > 0 || (index === 0 && pending.next === 0)) {
            this.#sends.splice(index, 1);
            reject(new ZmqError("send", "EAGAIN", EAGAIN, "send timed out"));
          }
        }, this.sendTimeout);
      }
      this.#sends.push(pending);
      this.#reactor.watch(this.#pollable);
    });
  }

  /** Sends what it can without blocking; true when the whole message went out. */
  #trySend(pending: PendingSend): boolean {
    const handle = this.#live("send");
    const z = this.#z;
    const { frames } = pending;
    while (pending.next < frames.length) {
      const i = pending.next;
      const frame = frames[i];
      const flags = ZMQ_DONTWAIT | (i < frames.length - 1 ? ZMQ_SNDMORE : 0);
      let rc: number;
      const lender = frame.byteLength >= ZERO_COPY_THRESHOLD ? lentRegistry() : null;
      if (lender !== null) {
        // Lent: libzmq reads the caller's bytes; released when its count says so.
        zeroCopyHolds.set(frame, (zeroCopyHolds.get(frame) ?? 0) + 1);
        rc = lender.send(frame, handle, flags, this.#msg);
        if (rc < 0) {
          releaseHold(frame);
          const errno = -rc;
          if (errno === EAGAIN || errno === EINTR) return false;
          const text = Deno.UnsafePointerView.getCString(z.zmq_strerror(errno)!);
          throw new ZmqError("send", errnoName(errno), errno, text);
        }
      } else if (frame.byteLength >= CALLBACK_ZERO_COPY_THRESHOLD) {
        const id = nextFreeId++;
        zeroCopyFrames.set(id, frame);
        const msg = this.#msg;
        if (
          z.zmq_msg_init_data(
            msg,
            Deno.UnsafePointer.of(frame as Uint8Array<ArrayBuffer>),
            BigInt(frame.byteLength),
            zeroCopyFree(),
            Deno.UnsafePointer.create(BigInt(id)),
          ) !== 0
        ) {
          zeroCopyFrames.delete(id);
          throw lastError(z, "send");
        }
        // libzmq owns it now, until the free callback (also after a failed send's close).
        zeroCopyHolds.set(frame, (zeroCopyHolds.get(frame) ?? 0) + 1);
        rc = z.zmq_msg_send(msg, handle, flags);
        if (rc < 0) {
          const errno = z.zmq_errno();
          const error = errno === EAGAIN || errno === EINTR ? null : lastError(z, "send");
          z.zmq_msg_close(msg); // releases the frame through the free callback
          if (error === null) return false;
          throw error;
        }
      } else {
        const size = frame.byteLength;
        rc = z.zmq_send(
          handle,
          frame,
          size <= SLAB_FRAME_LIMIT ? SIZES[size] : BigInt(size),
          flags,
        );
        if (rc < 0) {
          const errno = z.zmq_errno();
          if (errno === EAGAIN || errno === EINTR) return false;
          throw lastError(z, "send");
        }
      }
      pending.next++;
    }
    return true;
  }

  /**
   * Resolves with the next message's frames. Receives queue in order.
   *
   * The caller owns each frame: it is never overwritten or reused later. Frames up to
   * 4 KiB are views into a 64 KiB slab shared with other frames, so honour
   * `byteOffset`/`byteLength` when you use `frame.buffer`, and `frame.slice()` a small
   * frame you keep for long (a kept view keeps its whole slab alive).
   *
   * @example
   * ```ts
   * import { Dealer, Router } from "@lib/zmq/mod.ts";
   * await using router = new Router();
   * await router.bind("tcp://127.0.0.1:*");
   * await using dealer = new Dealer();
   * dealer.connect(router.lastEndpoint!);
   * await dealer.send("hello");
   * const [identity, body] = await router.receive();
   * await router.send([identity, body]);
   * ```
   */
  receive(): Promise<Uint8Array[]> {
    return this.#receiveFrames(false);
  }

  /** `receive()` and `receiveView()`: now when a message is ready, else queued in order. */
  #receiveFrames(views: boolean): Promise<Uint8Array[]> {
    if (this.#handle === null) return Promise.reject(closedError("receive"));
    if (this.#receives.length === 0 && this.#reactor.mayComplete()) {
      try {
        const frames = this.#tryReceive(undefined, views);
        if (frames) {
          if (this.#sends.length > 0) this.#reactor.watch(this.#pollable);
          return Promise.resolve(frames);
        }
        this.#fresh = true;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<Uint8Array[]>((resolve, reject) =>
      this.#queueReceive({ resolve, reject, views })
    );
  }

  /**
   * Like `receive()`, and also reads the connection properties libzmq attached to the
   * message (`zmq_msg_gets`): the security layer's `User-Id` tells a server which
   * authenticated key sent it, whatever routing id the peer claims. Opt-in: plain
   * `receive()` never pays for it. Queues in order with `receive()`.
   *
   * @example
   * ```ts
   * import { Dealer, Router } from "@lib/zmq/mod.ts";
   * await using router = new Router();
   * await router.bind("tcp://127.0.0.1:*");
   * await using dealer = new Dealer();
   * dealer.connect(router.lastEndpoint!);
   * await dealer.send("hello");
   * const { frames, metadata } = await router.receiveWithMetadata();
   * console.log(metadata["Peer-Address"]); // "127.0.0.1"
   * ```
   */
  receiveWithMetadata(
    properties: readonly string[] = DEFAULT_MESSAGE_PROPERTIES,
  ): Promise<MessageWithMetadata> {
    if (this.#handle === null) return Promise.reject(closedError("receive"));
    if (this.#receives.length === 0 && this.#reactor.mayComplete()) {
      try {
        const frames = this.#tryReceive(properties);
        if (frames) {
          if (this.#sends.length > 0) this.#reactor.watch(this.#pollable);
          return Promise.resolve({ frames, metadata: this.#takeMetadata() });
        }
        this.#fresh = true;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<MessageWithMetadata>((resolveWithMetadata, reject) =>
      this.#queueReceive({ resolve: () => {}, resolveWithMetadata, properties, reject })
    );
  }

  /**
   * Like `receive()`, but frames of `ZERO_COPY_THRESHOLD` (16 KiB) or more are not copied:
   * each is a view of libzmq's own buffer, **valid until the next receive on this socket**
   * (any receive method) or its close. Then the view is detached (its length becomes 0):
   * reading it later gives nothing, never freed memory; `slice()` what you keep. Do not
   * transfer (`postMessage`, `buffer.transfer()`) a view: its memory is then never freed.
   * Smaller frames are copies you own, as with `receive()`. Memory stays bounded: a socket
   * lends out one message at a time. Queues in order with `receive()`.
   *
   * @example
   * ```ts
   * import { Pull, Push } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * await pull.bind("tcp://127.0.0.1:*");
   * await using push = new Push();
   * push.connect(pull.lastEndpoint!);
   * await push.send(new Uint8Array(4 * 1024 * 1024));
   * const [frame] = await pull.receiveView(); // no copy of the 4 MiB
   * const checksum = frame.reduce((sum, byte) => sum + byte, 0); // use it now
   * console.log(checksum, frame.byteLength); // after the next receive: byteLength 0
   * ```
   */
  receiveView(): Promise<Uint8Array[]> {
    return this.#receiveFrames(true);
  }

  #metadata: Record<string, string> = {};

  #takeMetadata(): Record<string, string> {
    const metadata = this.#metadata;
    this.#metadata = {};
    return metadata;
  }

  /** Reads `properties` of the message in `msg` into `#metadata`. */
  #readMetadata(msg: Uint8Array, properties: readonly string[]): void {
    const metadata: Record<string, string> = {};
    for (const property of properties) {
      let name = propertyNames.get(property);
      if (!name) {
        name = cstr(property);
        if (propertyNames.size < 256) propertyNames.set(property, name);
      }
      const value = this.#z.zmq_msg_gets(msg, name);
      if (value !== null) metadata[property] = Deno.UnsafePointerView.getCString(value);
    }
    this.#metadata = metadata;
  }

  /** Queues a receive (with its `receiveTimeout`) for the reactor. */
  #queueReceive(pending: PendingReceive): void {
    if (this.receiveTimeout >= 0) {
      pending.timer = setTimeout(() => {
        const index = this.#receives.indexOf(pending);
        if (index >= 0) {
          this.#receives.splice(index, 1);
          pending.reject(new ZmqError("receive", "EAGAIN", EAGAIN, "receive timed out"));
        }
      }, this.receiveTimeout);
    }
    this.#receives.push(pending);
    this.#reactor.watch(this.#pollable);
  }

  /**
   * Receives the next frame into `buffer` (no allocation) and resolves with the frame's
   * size; a frame larger than `buffer` is truncated (compare the size). One frame, not one
   * message: `more` then says whether more frames of the same message follow. Queues in
   * order with `receive()`; do not mix the two in the middle of a multipart message.
   *
   * @example
   * ```ts
   * import { Pull, Push } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * await pull.bind("tcp://127.0.0.1:*");
   * await using push = new Push();
   * push.connect(pull.lastEndpoint!);
   * await push.send("hello");
   * const buffer = new Uint8Array(64 * 1024); // reused for every frame
   * const size = await pull.receiveInto(buffer);
   * console.log(new TextDecoder().decode(buffer.subarray(0, size)), pull.more);
   * ```
   */
  receiveInto(buffer: Uint8Array): Promise<number> {
    if (this.#handle === null) return Promise.reject(closedError("receive"));
    if (this.#receives.length === 0 && this.#reactor.mayComplete()) {
      try {
        const size = this.#tryReceiveInto(buffer);
        if (size >= 0) {
          if (this.#sends.length > 0) this.#reactor.watch(this.#pollable);
          return Promise.resolve(size);
        }
        this.#fresh = true;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<number>((resolve, reject) =>
      this.#queueReceive({ resolve: () => {}, reject, into: buffer, resolveInto: resolve })
    );
  }

  /**
   * Receives the next frame into `buffer` now, without a promise: its size, or -1 when no
   * frame is ready (or `receive`s are queued, which keeps the order). Throws a `ZmqError`
   * on other errors. See {@linkcode Socket.receiveInto} for truncation and `more`.
   *
   * @example
   * ```ts
   * import { Pull, Push } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * await pull.bind("tcp://127.0.0.1:*");
   * await using push = new Push();
   * push.connect(pull.lastEndpoint!);
   * await push.send("x");
   * const buffer = new Uint8Array(256);
   * let size = pull.receiveSyncInto(buffer);
   * if (size < 0) size = await pull.receiveInto(buffer); // nothing ready yet: wait
   * ```
   */
  receiveSyncInto(buffer: Uint8Array): number {
    if (this.#handle === null) throw closedError("receive");
    if (this.#receives.length > 0) return -1;
    const size = this.#tryReceiveInto(buffer);
    // A receive attempt may consume the fd's edge that a waiting send needs.
    if (this.#sends.length > 0) this.#reactor.watch(this.#pollable);
    return size;
  }

  /**
   * True when the last frame received by `receiveInto`/`receiveSyncInto` has more frames
   * of the same message after it (ZMQ_RCVMORE).
   *
   * @example
   * ```ts
   * import { Pull } from "@lib/zmq/mod.ts";
   * await using pull = new Pull();
   * console.log(pull.more); // false: nothing received yet
   * ```
   */
  get more(): boolean {
    return this.#getInt(ZMQ_RCVMORE, "more") !== 0;
  }

  /** libzmq messages lent out by `receiveView`, with the ArrayBuffer over each. */
  #views: { msg: Uint8Array; buffer: ArrayBuffer }[] = [];

  /** Moves the frame in `msg` into a message of its own and returns a view of its data. */
  #view(msg: Uint8Array, size: number): Uint8Array {
    const z = this.#z;
    const held = new Uint8Array(new ArrayBuffer(64));
    z.zmq_msg_init(held);
    z.zmq_msg_move(held, msg); // `msg` is left empty, ready for the next frame
    const buffer = Deno.UnsafePointerView.getArrayBuffer(z.zmq_msg_data(held)!, size);
    this.#views.push({ msg: held, buffer });
    return new Uint8Array(buffer);
  }

  /** Ends the views `receiveView` lent out: detached first, so no view reads freed memory. */
  #releaseViews(): void {
    for (const { msg, buffer } of this.#views) {
      // Detached by the caller (transferred): its new owner may still read it, so it is
      // never freed (documented: do not transfer a view).
      if (buffer.detached) continue;
      buffer.transfer(0); // every view of it now has length 0
      this.#z.zmq_msg_close(msg);
    }
    this.#views.length = 0;
  }

  #intoBuffer: Uint8Array | undefined;
  #intoLength = 0n;

  /** Receives one frame into `buffer` without blocking: its size, or -1 (EAGAIN). */
  #tryReceiveInto(buffer: Uint8Array): number {
    const handle = this.#live("receive");
    const z = this.#z;
    if (this.#views.length > 0) this.#releaseViews();
    if (buffer !== this.#intoBuffer) {
      this.#intoBuffer = buffer;
      this.#intoLength = BigInt(buffer.byteLength); // a BigInt per call would be garbage
    }
    for (;;) {
      const size = z.zmq_recv(handle, buffer, this.#intoLength, ZMQ_DONTWAIT);
      if (size >= 0) return size;
      const errno = z.zmq_errno();
      if (errno === EAGAIN) return -1;
      if (errno === EINTR) continue;
      throw lastError(z, "receive");
    }
  }

  /**
   * Receives one whole message without blocking, or returns null (EAGAIN). With `views`,
   * frames of `ZERO_COPY_THRESHOLD` bytes or more are views of libzmq's buffers.
   */
  #tryReceive(properties?: readonly string[], views = false): Uint8Array[] | null {
    const handle = this.#live("receive");
    const z = this.#z;
    if (this.#views.length > 0) this.#releaseViews();
    // One zmq_msg_t stays initialised for the socket's life: zmq_msg_recv releases its
    // previous content itself, which saves two FFI calls a frame.
    const msg = this.#recvMsg;
    const memcpy = this.#memcpy;
    const frames: Uint8Array[] = [];
    for (;;) {
      const size = z.zmq_msg_recv(msg, handle, ZMQ_DONTWAIT);
      if (size < 0) {
        const errno = z.zmq_errno();
        if (frames.length === 0 && (errno === EAGAIN || errno === EINTR)) return null;
        // A signal (SIGTERM, a profiler's SIGPROF) interrupted libzmq's command processing
        // mid-message: no frame was taken, the rest of the message is still there.
        if (errno === EINTR) continue;
        throw lastError(z, "receive");
      }
      const more = z.zmq_msg_more(msg);
      // Connection properties are the same on every frame: read them off the first.
      if (properties !== undefined && frames.length === 0) this.#readMetadata(msg, properties);
      if (views && size >= ZERO_COPY_THRESHOLD) {
        frames.push(this.#view(msg, size));
        if (!more) return frames;
        continue;
      }
      const frame = allocateFrame(size);
      if (size > 0) {
        memcpy(frame, z.zmq_msg_data(msg), size <= SLAB_FRAME_LIMIT ? SIZES[size] : BigInt(size));
      }
      if (size >= RELEASE_AFTER_RECEIVE) {
        // Do not keep a large buffer of libzmq's alive until the next receive.
        z.zmq_msg_close(msg);
        z.zmq_msg_init(msg);
      }
      frames.push(frame);
      if (!more) return frames;
    }
  }

  /**
   * Reactor callback: completes queued sends and receives while ZMQ_EVENTS and the
   * reactor's synchronous-completion budget allow; true while work remains.
   */
  #process(): boolean {
    if (this.#handle === null) return false;
    const reactor = this.#reactor;
    if (this.#fresh) {
      this.#fresh = false;
      // A receive just failed with EAGAIN, and libzmq processed its commands then: ZMQ_EVENTS
      // would tell nothing new (a syscall) and ZMQ_FD is armed. Wait on it.
      if (this.#sends.length === 0 && this.#receives.length > 0) return true;
    }
    for (;;) {
      const events = this.#getInt(ZMQ_EVENTS, "events");
      let progressed = false;
      if ((events & ZMQ_POLLOUT) && this.#sends.length > 0) {
        while (this.#sends.length > 0) {
          if (!reactor.mayComplete()) return true;
          const pending = this.#sends[0];
          let done: boolean;
          try {
            done = this.#trySend(pending);
          } catch (error) {
            this.#sends.shift();
            clearTimeout(pending.timer);
            pending.reject(error);
            progressed = true;
            continue;
          }
          if (!done) break;
          this.#sends.shift();
          clearTimeout(pending.timer);
          pending.resolve();
          progressed = true;
        }
      }
      if ((events & ZMQ_POLLIN) && this.#receives.length > 0) {
        while (this.#receives.length > 0) {
          if (!reactor.mayComplete()) return true;
          const { into, properties, views } = this.#receives[0];
          let result: Uint8Array[] | number | null;
          try {
            result = into ? this.#tryReceiveInto(into) : this.#tryReceive(properties, views);
          } catch (error) {
            const pending = this.#receives.shift()!;
            clearTimeout(pending.timer);
            pending.reject(error);
            progressed = true;
            continue;
          }
          if (result === null || result === -1) break; // EAGAIN
          const pending = this.#receives.shift()!;
          clearTimeout(pending.timer);
          if (typeof result === "number") pending.resolveInto!(result);
          else if (pending.resolveWithMetadata) {
            pending.resolveWithMetadata({ frames: result, metadata: this.#takeMetadata() });
          } else pending.resolve(result);
          progressed = true;
        }
      }
      if (!progressed) return this.#sends.length > 0 || this.#receives.length > 0;
      // Nothing waits: no need to read ZMQ_EVENTS again (the next operation tries first).
      if (this.#sends.length === 0 && this.#receives.length === 0) return false;
    }
  }

  /**
   * A receive just failed with EAGAIN and no other call into libzmq on this socket came
   * since (a send or option may process commands and take ZMQ_FD's edge): see `#process`.
   */
  #fresh = false;

  /** Reactor callback: processing failed; rejects every pending operation with `error`. */
  #fail(error: Error): void {
    const sends = this.#sends.splice(0);
    const receives = this.#receives.splice(0);
    for (const pending of sends) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    for (const pending of receives) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#events?.[emitEvent]({ type: "error", error });
  }

  /**
   * Iterates over received messages until the socket is closed.
   *
   * @example
   * ```ts
   * import { Subscriber } from "@lib/zmq/mod.ts";
   * const sub = new Subscriber();
   * sub.connect("tcp://127.0.0.1:5556");
   * sub.subscribe("weather.");
   * setTimeout(() => sub.close(), 100); // ends the loop
   * for await (const [topic] of sub) console.log(new TextDecoder().decode(topic));
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array[]> {
    while (this.#handle !== null) {
      try {
        yield await this.receive();
      } catch (error) {
        if (this.#handle === null) return;
        throw error;
      }
    }
  }

  /**
   * Closes the socket. Pending sends and receives reject with code `ENOTSOCK`. Unsent
   * messages linger for `linger` ms (default 1000) in the background.
   *
   * @example
   * ```ts
   * import { Pull } from "@lib/zmq/mod.ts";
   * const pull = new Pull();
   * const pending = pull.receive().catch((error) => error.code); // "ENOTSOCK"
   * pull.close({ linger: 0 });
   * console.log(await pending);
   * ```
   */
  close(options: { linger?: number } = {}): void {
    if (this.#handle === null) return;
    if (options.linger !== undefined) this.setOption("linger", options.linger);
    this.#events?.[closeEvents]();
    const handle = this.#handle;
    this.#handle = null;
    this.#reactor.unwatch(this.#pollable);
    untrackSocket(this);
    this.#z.zmq_close(handle);
    this.#z.zmq_msg_close(this.#recvMsg);
    this.#releaseViews();
    const sends = this.#sends.splice(0);
    const receives = this.#receives.splice(0);
    for (const pending of sends) {
      clearTimeout(pending.timer);
      pending.reject(closedError("send"));
    }
    for (const pending of receives) {
      clearTimeout(pending.timer);
      pending.reject(closedError("receive"));
    }
  }

  /**
   * This socket's events (libzmq's monitor, zeromq.js names) as an async iterable: one
   * observer per socket, created on first access, ended (after an `end` event) when the
   * socket closes. Several consumers may iterate it; each gets every event from the moment
   * its iteration started. See {@linkcode SocketEvents}.
   *
   * @example
   * ```ts
   * import { Dealer, Router } from "@lib/zmq/mod.ts";
   * await using router = new Router();
   * await router.bind("tcp://127.0.0.1:*");
   * await using dealer = new Dealer();
   * const connected = (async () => {
   *   for await (const event of dealer.events) if (event.type === "handshake") return event.address;
   * })();
   * dealer.connect(router.lastEndpoint!);
   * console.log("connected to", await connected);
   * ```
   */
  get events(): SocketEvents {
    return this.#events ??= new SocketEvents(this.#live("events"));
  }

  /** `await using` support: closes the socket. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** `using` support: closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }

  #getInt(option: number, name: string): number {
    this.#getOption(option, name, intBuffer.buffer, 4n);
    return intBuffer[0];
  }

  #getInt64(option: number, name: string): number {
    this.#getOption(option, name, int64Buffer.buffer, 8n);
    return Number(int64Buffer[0]);
  }

  /**
   * zmq_getsockopt into `buffer`. ZMQ_EVENTS processes pending commands and can fail with
   * EINTR when a signal (a SIGTERM to stop the role) lands meanwhile: that is retried, as
   * for send and receive, never reported as a socket error.
   */
  #getOption(option: number, name: string, buffer: ArrayBufferLike, size: bigint): void {
    for (let attempt = 0;; attempt++) {
      sizeBuffer[0] = size;
      const rc = this.#z.zmq_getsockopt(
        this.#live(name),
        option,
        new Uint8Array(buffer),
        sizeBytes,
      );
      if (rc === 0) return;
      if (this.#z.zmq_errno() !== EINTR || attempt >= 100) throw lastError(this.#z, `get ${name}`);
    }
  }

  /** Sets a raw option by zeromq.js name with the kind from the option table. */
  protected setRaw(name: string, id: number, kind: OptionKind, value: unknown): void {
    const handle = this.#live(`set ${name}`);
    let bytes: Uint8Array;
    switch (kind) {
      case "int":
      case "bool": {
        const n = kind === "bool" ? (value ? 1 : 0) : Number(value);
        if (!Number.isInteger(n)) {
          throw new TypeError(`option ${name}: expected an integer, got ${String(value)}`);
        }
        bytes = new Uint8Array(new Int32Array([n]).buffer);
        break;
      }
      case "int64":
        bytes = new Uint8Array(new BigInt64Array([BigInt(value as number)]).buffer);
        break;
      case "string":
      case "bytes":
        bytes = value === null || value === undefined ? new Uint8Array(0) : toBytes(value as Frame);
        break;
      case "key": {
        bytes = typeof value === "string" ? encoder.encode(value) : (value as Uint8Array);
        if (!(bytes.length === 32 || bytes.length === 40)) {
          throw new TypeError(
            `option ${name}: expected a 40-character Z85 key or 32 bytes, got ${bytes.length} bytes`,
          );
        }
        if (bytes.length === 40) bytes = cstr(value as string);
        break;
      }
    }
    if (this.#z.zmq_setsockopt(handle, id, bytes, BigInt(bytes.byteLength)) !== 0) {
      throw lastError(this.#z, `set ${name}`);
    }
    this.#written.set(name, value);
    if (name === "sendHighWaterMark") this.#defaultSendQueueLimit = undefined;
  }

  /** Reads a raw option by zeromq.js name with the kind from the option table. */
  protected getRaw(name: string, id: number, kind: OptionKind, writeOnly = false): unknown {
    if (writeOnly) return this.#written.get(name);
    const handle = this.#live(`get ${name}`);
    switch (kind) {
      case "int":
      case "bool": {
        const n = this.#getInt(id, name);
        return kind === "bool" ? n !== 0 : n;
      }
      case "int64":
        return this.#getInt64(id, name);
      case "string":
      case "bytes":
      case "key": {
        sizeBuffer[0] = BigInt(kind === "key" ? 41 : stringBuffer.length);
        if (this.#z.zmq_getsockopt(handle, id, stringBuffer, sizeBytes) !== 0) {
          throw lastError(this.#z, `get ${name}`);
        }
        let length = Number(sizeBuffer[0]);
        if (kind === "bytes") return stringBuffer.slice(0, length);
        if (length > 0 && stringBuffer[length - 1] === 0) length--;
        const text = decoder.decode(stringBuffer.subarray(0, length));
        return text === "" ? null : text;
      }
    }
  }

  /** ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE for each prefix; no prefix means "everything" (""). */
  protected setSubscriptions(kind: "subscribe" | "unsubscribe", prefixes: Frame[]): void {
    const id = kind === "subscribe" ? 6 : 7;
    for (const prefix of prefixes.length === 0 ? [""] : prefixes) {
      this.setRaw(kind, id, "bytes", prefix);
    }
  }

  /**
   * Sets an option by its zeromq.js name.
   *
   * @example
   * ```ts
   * import { Dealer } from "@lib/zmq/mod.ts";
   * await using dealer = new Dealer();
   * dealer.setOption("linger", 0); // the same as dealer.linger = 0
   * ```
   */
  setOption(name: keyof typeof SOCKET_OPTIONS, value: unknown): void {
    const [id, kind] = SOCKET_OPTIONS[name] as OptionSpec;
    this.setRaw(name, id, kind, value);
  }
}

/**
 * Defines typed option properties on a socket class prototype from an option table
 * (`{ name: [id, kind, writeOnly?] }`).
 *
 * @example
 * ```ts
 * import { SocketType } from "@lib/zmq/mod.ts";
 * import { defineOptions, Socket } from "./socket.ts";
 * class Conflating extends Socket {
 *   constructor() {
 *     super(SocketType.PULL);
 *   }
 * }
 * interface Conflating {
 *   conflate: boolean;
 * }
 * defineOptions(Conflating, { conflate: [54, "bool", true] });
 * ```
 */
export function defineOptions(
  target: { prototype: object },
  table: Record<string, OptionSpec>,
): void {
  for (const [name, [id, kind, writeOnly]] of Object.entries(table)) {
    Object.defineProperty(target.prototype, name, {
      configurable: true,
      enumerable: true,
      get(this: Socket) {
        // deno-lint-ignore no-explicit-any
        return (this as any).getRaw(name, id, kind, writeOnly ?? false);
      },
      set(this: Socket, value: unknown) {
        // deno-lint-ignore no-explicit-any
        (this as any).setRaw(name, id, kind, value);
      },
    });
  }
}

defineOptions(Socket, SOCKET_OPTIONS);

export interface Socket extends Required<Omit<SocketOptions, "sendTimeout" | "receiveTimeout">> {}

/** Read-only options of every socket. */
export interface Socket {
  /** The endpoint of the last bind or connect (with the real port after binding `:*`). */
  readonly lastEndpoint: string | null;
}
