/**
 * The socket base class: bind/connect, promise-based send and receive driven by the
 * reactor, async iteration, typed options, monitor, close.
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
  ZMQ_SNDMORE,
} from "./constants.ts";
import { libzmq, trackSocket, untrackSocket, zmqContext } from "./context.ts";
import { EAGAIN, EINTR, errnoName, ZmqError } from "./errors.ts";
import { cstr, type ZmqSymbols } from "./ffi.ts";
import type { SocketMonitor } from "./monitor.ts";
import { platform } from "./libc.ts";
import { reactor } from "./reactor.ts";

/** One frame as the caller may pass it. `null` is an empty frame. */
export type Frame = string | Uint8Array | ArrayBuffer | null;
/** A message: one frame or several. */
export type Message = Frame | Frame[];

/** Frames at least this large are sent without copying (zmq_msg_init_data). */
export const ZERO_COPY_THRESHOLD = 64 * 1024;

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
  reject: (error: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

type OptionKind = "int" | "int64" | "bool" | "string" | "bytes" | "key";

/** [libzmq option id, value kind, write-only] */
type OptionSpec = readonly [number, OptionKind, boolean?];

/** Options every socket type has. Keys are the zeromq.js v6 property names. */
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

/** Socket options accepted by every constructor (plus `sendTimeout`, `receiveTimeout`). */
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
}

let monitorFactory: ((socket: Socket, events?: number) => SocketMonitor) | undefined;

/** @internal lets monitor.ts provide `Socket.monitor()` without an import cycle. */
export function setMonitorFactory(
  factory: (socket: Socket, events?: number) => SocketMonitor,
): void {
  monitorFactory = factory;
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
        zeroCopyFrames.delete(Number(Deno.UnsafePointer.value(hint)));
      },
    );
    freeCallback.unref();
  }
  return freeCallback.pointer;
}

/** How many zero-copy frames libzmq still holds (for tests). */
export function zeroCopyFramesInFlight(): number {
  return zeroCopyFrames.size;
}

/** Received frames up to this size are views into a shared slab (see allocateFrame). */
export const SLAB_FRAME_LIMIT = 4096;
const SLAB_SIZE = 64 * 1024;
/** BigInt sizes for memcpy, made once (a BigInt per frame shows up in GC profiles). */
const SIZES = Array.from({ length: SLAB_FRAME_LIMIT + 1 }, (_, i) => BigInt(i));
let slab = new Uint8Array(SLAB_SIZE);
let slabOffset = 0;

/**
 * Memory for one received frame. Creating an ArrayBuffer costs about 0.5 us in Deno, more
 * than receiving a small message, so small frames are views into a shared 64 KiB slab (as
 * Node's Buffer pool does): the caller owns the view, but `frame.buffer` is shared, so
 * always honour `byteOffset`/`byteLength`.
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
 * await using push = new Push({ sendHighWaterMark: 1000 });
 * await push.bind("tcp://127.0.0.1:*");
 * await push.send(["topic", payload]);
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
  #monitors = new Set<{ close(): void }>();
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
    return this.#handle;
  }

  /**
   * Binds to an endpoint (`tcp://127.0.0.1:*` picks a free port; see `lastEndpoint`).
   *
   * @example
   * ```ts
   * await rep.bind("tcp://127.0.0.1:*");
   * console.log(rep.lastEndpoint); // tcp://127.0.0.1:41234
   * ```
   */
  bind(endpoint: string): Promise<void> {
    try {
      if (this.#z.zmq_bind(this.#live("bind"), cstr(endpoint)) !== 0) {
        throw lastError(this.#z, `bind ${endpoint}`);
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops listening on an endpoint bound before. */
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

  /** Connects to an endpoint (returns at once; libzmq connects and reconnects in the background). */
  connect(endpoint: string): void {
    if (this.#z.zmq_connect(this.#live("connect"), cstr(endpoint)) !== 0) {
      throw lastError(this.#z, `connect ${endpoint}`);
    }
  }

  /** Disconnects from an endpoint connected before. */
  disconnect(endpoint: string): void {
    if (this.#z.zmq_disconnect(this.#live("disconnect"), cstr(endpoint)) !== 0) {
      throw lastError(this.#z, `disconnect ${endpoint}`);
    }
  }

  /**
   * Queues a message (one frame or several) and resolves once libzmq accepted it. Sends
   * queue in order; none fails with EBUSY. Frames of 64 KiB or more are handed to libzmq
   * without copying: do not modify such a buffer after sending it.
   *
   * @example
   * ```ts
   * await router.send([clientId, "", "reply"]);
   * ```
   */
  send(message: Message): Promise<void> {
    if (this.#handle === null) return Promise.reject(closedError("send"));
    let frames: Uint8Array[];
    try {
      frames = Array.isArray(message) ? message.map(toBytes) : [toBytes(message)];
      if (frames.length === 0) throw new TypeError("a message needs at least one frame, got 0");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#sends.length === 0) {
      const pending = { frames, next: 0 } as PendingSend;
      try {
        if (this.#trySend(pending)) {
          // The send may have consumed the fd's edge that a waiting receive needs.
          if (this.#receives.length > 0) reactor().watch(this);
          return Promise.resolve();
        }
      } catch (error) {
        return Promise.reject(error);
      }
      frames = pending.frames;
      return this.#queueSend(pending);
    }
    return this.#queueSend({ frames, next: 0 } as PendingSend);
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
      reactor().watch(this);
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
      if (frame.byteLength >= ZERO_COPY_THRESHOLD) {
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
        rc = z.zmq_msg_send(msg, handle, flags);
        if (rc < 0) {
          const errno = z.zmq_errno();
          const error = errno === EAGAIN || errno === EINTR ? null : lastError(z, "send");
          z.zmq_msg_close(msg); // releases the frame through the free callback
          if (error === null) return false;
          throw error;
        }
      } else {
        rc = z.zmq_send(handle, frame, BigInt(frame.byteLength), flags);
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
   * Resolves with the next message's frames (each a Uint8Array the caller owns).
   * Receives queue in order.
   *
   * @example
   * ```ts
   * const [identity, empty, body] = await router.receive();
   * ```
   */
  receive(): Promise<Uint8Array[]> {
    if (this.#handle === null) return Promise.reject(closedError("receive"));
    if (this.#receives.length === 0) {
      try {
        const frames = this.#tryReceive();
        if (frames) {
          if (this.#sends.length > 0) reactor().watch(this);
          return Promise.resolve(frames);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const pending: PendingReceive = { resolve, reject };
      if (this.receiveTimeout >= 0) {
        pending.timer = setTimeout(() => {
          const index = this.#receives.indexOf(pending);
          if (index >= 0) {
            this.#receives.splice(index, 1);
            reject(new ZmqError("receive", "EAGAIN", EAGAIN, "receive timed out"));
          }
        }, this.receiveTimeout);
      }
      this.#receives.push(pending);
      reactor().watch(this);
    });
  }

  /** Receives one whole message without blocking, or returns null (EAGAIN). */
  #tryReceive(): Uint8Array[] | null {
    const handle = this.#live("receive");
    const z = this.#z;
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
      const frame = allocateFrame(size);
      if (size > 0) {
        memcpy(frame, z.zmq_msg_data(msg), size <= SLAB_FRAME_LIMIT ? SIZES[size] : BigInt(size));
      }
      const more = z.zmq_msg_more(msg);
      if (size >= ZERO_COPY_THRESHOLD) {
        // Do not keep a large buffer of libzmq's alive until the next receive.
        z.zmq_msg_close(msg);
        z.zmq_msg_init(msg);
      }
      frames.push(frame);
      if (!more) return frames;
    }
  }

  /** Reactor callback: completes queued sends and receives while ZMQ_EVENTS allows. */
  process(): boolean {
    if (this.#handle === null) return false;
    for (;;) {
      const events = this.#getInt(ZMQ_EVENTS, "events");
      let progressed = false;
      if ((events & ZMQ_POLLOUT) && this.#sends.length > 0) {
        while (this.#sends.length > 0) {
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
          let frames: Uint8Array[] | null;
          try {
            frames = this.#tryReceive();
          } catch (error) {
            const pending = this.#receives.shift()!;
            clearTimeout(pending.timer);
            pending.reject(error);
            progressed = true;
            continue;
          }
          if (!frames) break;
          const pending = this.#receives.shift()!;
          clearTimeout(pending.timer);
          pending.resolve(frames);
          progressed = true;
        }
      }
      if (!progressed) return this.#sends.length > 0 || this.#receives.length > 0;
    }
  }

  /**
   * Iterates over received messages until the socket is closed.
   *
   * @example
   * ```ts
   * for await (const [topic, body] of sub) console.log(new TextDecoder().decode(topic));
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
   */
  close(options: { linger?: number } = {}): void {
    if (this.#handle === null) return;
    if (options.linger !== undefined) this.setOption("linger", options.linger);
    for (const monitor of this.#monitors) monitor.close();
    const handle = this.#handle;
    this.#handle = null;
    reactor().unwatch(this);
    untrackSocket(this);
    this.#z.zmq_close(handle);
    this.#z.zmq_msg_close(this.#recvMsg);
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
   * Monitor events of this socket (zeromq.js names) as an async iterable.
   *
   * @example
   * ```ts
   * for await (const event of sock.monitor()) console.log(event.type, event.address);
   * ```
   */
  monitor(events?: number): SocketMonitor {
    if (!monitorFactory) throw new Error("import @lib/zmq/mod.ts to use monitor()");
    return monitorFactory(this, events);
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

  /** @internal registers a monitor so it closes with the socket. */
  _addMonitor(monitor: { close(): void }): () => void {
    this.#monitors.add(monitor);
    return () => this.#monitors.delete(monitor);
  }

  /** @internal the raw libzmq socket handle (for zmq_socket_monitor). */
  _handle(operation: string): Deno.PointerObject {
    return this.#live(operation);
  }

  #getInt(option: number, name: string): number {
    sizeBuffer[0] = 4n;
    if (
      this.#z.zmq_getsockopt(
        this.#live(name),
        option,
        new Uint8Array(intBuffer.buffer),
        sizeBytes,
      ) !== 0
    ) {
      throw lastError(this.#z, `get ${name}`);
    }
    return intBuffer[0];
  }

  #getInt64(option: number, name: string): number {
    sizeBuffer[0] = 8n;
    if (
      this.#z.zmq_getsockopt(
        this.#live(name),
        option,
        new Uint8Array(int64Buffer.buffer),
        sizeBytes,
      ) !==
        0
    ) {
      throw lastError(this.#z, `get ${name}`);
    }
    return Number(int64Buffer[0]);
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

  /** Sets an option by its zeromq.js name. */
  setOption(name: keyof typeof SOCKET_OPTIONS, value: unknown): void {
    const [id, kind] = SOCKET_OPTIONS[name] as OptionSpec;
    this.setRaw(name, id, kind, value);
  }
}

/**
 * Defines typed option properties on a socket class prototype from an option table
 * (`{ name: [id, kind, writeOnly?] }`).
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
