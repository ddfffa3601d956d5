/**
 * A socket's event observer (`socket.events`): libzmq's monitor events (zmq_socket_monitor)
 * as an async iterable with zeromq.js names, one observer per socket.
 *
 * @module
 */
import { MonitorEvent, SocketType } from "./constants.ts";
import { libzmq } from "./context.ts";
import { errnoName, ZmqError } from "./errors.ts";
import { cstr } from "./ffi.ts";
import { Socket } from "./socket.ts";

/** An event about one endpoint, with no more detail. */
interface AddressEvent<T extends string> {
  type: T;
  /** The endpoint the event is about. */
  address: string;
}

/** An event about one endpoint that carries an error. */
interface ErrorEvent<T extends string> extends AddressEvent<T> {
  /** What failed: `code` is the errno name or the ZMTP protocol error name. */
  error: ZmqError;
}

/**
 * One socket event, as zeromq.js names it. `error` is not from libzmq: the reactor failed
 * while processing this socket (its pending operations rejected with that error).
 *
 * @example
 * ```ts
 * import type { SocketEvent } from "@lib/zmq/mod.ts";
 * function describe(event: SocketEvent): string {
 *   switch (event.type) {
 *     case "connect:retry": return `retry ${event.address} in ${event.interval} ms`;
 *     case "handshake:error:auth": return `denied (ZAP ${event.status})`;
 *     case "end": return "no more events";
 *     case "error": return event.error.message;
 *     default: return `${event.type} ${event.address}`;
 *   }
 * }
 * console.log(describe({ type: "bind", address: "tcp://127.0.0.1:5555" }));
 * ```
 */
export type SocketEvent =
  | AddressEvent<"connect">
  | AddressEvent<"connect:delay">
  | (AddressEvent<"connect:retry"> & { /** ms until the next attempt. */ interval: number })
  | AddressEvent<"bind">
  | ErrorEvent<"bind:error">
  | AddressEvent<"accept">
  | ErrorEvent<"accept:error">
  | AddressEvent<"close">
  | ErrorEvent<"close:error">
  | AddressEvent<"disconnect">
  | AddressEvent<"handshake">
  | ErrorEvent<"handshake:error:protocol">
  | (ErrorEvent<"handshake:error:auth"> & { /** The ZAP status code, e.g. 400. */ status: number })
  | ErrorEvent<"handshake:error:other">
  | AddressEvent<"unknown"> & {
    /** The raw libzmq event id and value. */ id: number;
    value: number;
  }
  | { type: "error"; error: Error }
  | { type: "end" };

/**
 * Events a consumer that does not read keeps before the oldest are dropped.
 *
 * @example
 * ```ts
 * import { EVENT_BUFFER_LIMIT } from "@lib/zmq/mod.ts";
 * console.log(`a consumer that does not read keeps the last ${EVENT_BUFFER_LIMIT} events`);
 * ```
 */
export const EVENT_BUFFER_LIMIT = 10_000;

const PROTOCOL_ERRORS: Record<number, string> = {
  0x10000000: "ZMTP_UNSPECIFIED",
  0x10000001: "ZMTP_UNEXPECTED_COMMAND",
  0x10000002: "ZMTP_INVALID_SEQUENCE",
  0x10000003: "ZMTP_KEY_EXCHANGE",
  0x10000011: "ZMTP_MALFORMED_COMMAND_UNSPECIFIED",
  0x10000012: "ZMTP_MALFORMED_COMMAND_MESSAGE",
  0x10000013: "ZMTP_MALFORMED_COMMAND_HELLO",
  0x10000014: "ZMTP_MALFORMED_COMMAND_INITIATE",
  0x10000015: "ZMTP_MALFORMED_COMMAND_ERROR",
  0x10000016: "ZMTP_MALFORMED_COMMAND_READY",
  0x10000017: "ZMTP_MALFORMED_COMMAND_WELCOME",
  0x10000018: "ZMTP_INVALID_METADATA",
  0x11000001: "ZMTP_CRYPTOGRAPHIC",
  0x11000002: "ZMTP_MECHANISM_MISMATCH",
  0x20000000: "ZAP_UNSPECIFIED",
  0x20000001: "ZAP_MALFORMED_REPLY",
  0x20000002: "ZAP_BAD_REQUEST_ID",
  0x20000003: "ZAP_BAD_VERSION",
  0x20000004: "ZAP_INVALID_STATUS_CODE",
  0x20000005: "ZAP_INVALID_METADATA",
};

const decoder = new TextDecoder();

function errnoError(operation: string, errno: number): ZmqError {
  return new ZmqError(operation, errnoName(errno), errno, `${operation} failed`);
}

/** Decodes one monitor message ([id u16 + value u32, endpoint]) into an event. */
function decodeEvent(frames: Uint8Array[]): SocketEvent {
  const head = frames[0];
  if (!head || head.byteLength < 6) {
    return { type: "unknown", address: "", id: 0, value: 0 };
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const id = view.getUint16(0, true);
  const value = view.getUint32(2, true);
  const address = decoder.decode(frames[1] ?? new Uint8Array());
  switch (id) {
    case MonitorEvent.CONNECTED:
      return { type: "connect", address };
    case MonitorEvent.CONNECT_DELAYED:
      return { type: "connect:delay", address };
    case MonitorEvent.CONNECT_RETRIED:
      return { type: "connect:retry", address, interval: value };
    case MonitorEvent.LISTENING:
      return { type: "bind", address };
    case MonitorEvent.BIND_FAILED:
      return { type: "bind:error", address, error: errnoError("bind", value) };
    case MonitorEvent.ACCEPTED:
      return { type: "accept", address };
    case MonitorEvent.ACCEPT_FAILED:
      return { type: "accept:error", address, error: errnoError("accept", value) };
    case MonitorEvent.CLOSED:
      return { type: "close", address };
    case MonitorEvent.CLOSE_FAILED:
      return { type: "close:error", address, error: errnoError("close", value) };
    case MonitorEvent.DISCONNECTED:
      return { type: "disconnect", address };
    case MonitorEvent.MONITOR_STOPPED:
      return { type: "end" };
    case MonitorEvent.HANDSHAKE_SUCCEEDED:
      return { type: "handshake", address };
    case MonitorEvent.HANDSHAKE_FAILED_NO_DETAIL:
      return { type: "handshake:error:other", address, error: errnoError("handshake", value) };
    case MonitorEvent.HANDSHAKE_FAILED_PROTOCOL: {
      const code = PROTOCOL_ERRORS[value] ?? `0x${value.toString(16)}`;
      return {
        type: "handshake:error:protocol",
        address,
        error: new ZmqError("handshake", code, value, "protocol error"),
      };
    }
    case MonitorEvent.HANDSHAKE_FAILED_AUTH:
      return {
        type: "handshake:error:auth",
        address,
        status: value,
        error: new ZmqError("handshake", String(value), value, `ZAP denied with status ${value}`),
      };
    default:
      return { type: "unknown", address, id, value };
  }
}

/**
 * A consumer of a socket's events that outlives a loop (see `SocketEvents.consumer()`).
 *
 * @example
 * ```ts
 * import { Request } from "@lib/zmq/mod.ts";
 * await using req = new Request();
 * using events = req.events.consumer(); // buffers from now on
 * req.connect("tcp://127.0.0.1:9");
 * for await (const event of events) if (event.type === "connect:retry") break;
 * ```
 */
export interface EventConsumer extends AsyncIterable<SocketEvent>, Disposable {
  /** Stops this consumer (the others go on). */
  close(): void;
}

/** One consumer's queue of events. */
class Consumer {
  #queue: SocketEvent[] = [];
  #waiter: ((result: IteratorResult<SocketEvent>) => void) | undefined;
  #done = false;
  #detach: () => void;

  constructor(detach: () => void) {
    this.#detach = detach;
  }

  /** Leaves the observer and ends at once (queued events are dropped). */
  close(): void {
    this.#detach();
    this.#queue.length = 0;
    this.end();
  }

  push(event: SocketEvent): void {
    if (this.#done) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: event, done: false });
      return;
    }
    if (this.#queue.length >= EVENT_BUFFER_LIMIT) this.#queue.shift();
    this.#queue.push(event);
  }

  /** Ends the iteration once the queued events are read. */
  end(): void {
    this.#done = true;
    if (this.#waiter && this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<SocketEvent>> {
    const event = this.#queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

let observerCount = 0;

/**
 * Module-internal: delivers an event to every consumer (the socket's own `error` events).
 *
 * @example
 * ```ts
 * import { Dealer } from "@lib/zmq/mod.ts";
 * import { emitEvent } from "./socket_events.ts";
 * await using dealer = new Dealer();
 * dealer.events[emitEvent]({ type: "error", error: new Error("processing failed") });
 * ```
 */
export const emitEvent: unique symbol = Symbol("zmq.events.emit");
/**
 * Module-internal: ends the observer (the socket calls it before it closes its handle).
 *
 * @example
 * ```ts
 * import { Dealer } from "@lib/zmq/mod.ts";
 * import { closeEvents } from "./socket_events.ts";
 * await using dealer = new Dealer();
 * dealer.events[closeEvents](); // what dealer.close() does first
 * ```
 */
export const closeEvents: unique symbol = Symbol("zmq.events.close");

/**
 * The event observer of one socket: `socket.events`, created on first access and ended when
 * the socket closes. Any number of consumers may iterate it at the same time; each gets every
 * event from the moment it started iterating (its `for await` began) until the socket closes
 * or it stops iterating. Stopping one consumer never ends another. A consumer that does not
 * read keeps the last {@linkcode EVENT_BUFFER_LIMIT} events.
 *
 * Once created, the observer reads events until the socket closes (libzmq's monitor blocks
 * its sender when nobody reads), so an open socket with an observer keeps the process alive.
 *
 * @example
 * ```ts
 * import { Request } from "@lib/zmq/mod.ts";
 * await using req = new Request();
 * const watching = (async () => {
 *   for await (const event of req.events) {
 *     if (event.type === "connect:retry") return event.interval; // nobody listens there
 *   }
 * })();
 * req.connect("tcp://127.0.0.1:9");
 * console.log(await watching);
 * ```
 */
export class SocketEvents implements AsyncIterable<SocketEvent> {
  #reader: Socket;
  #consumers = new Set<Consumer>();
  #ended = false;
  #stopMonitor: (() => void) | undefined;

  /**
   * Starts monitoring a socket handle; `Socket.events` calls this (use that).
   *
   * @param handle the libzmq socket being watched
   */
  constructor(handle: Deno.PointerObject) {
    const endpoint = `inproc://zmq-labs-events-${Deno.pid}-${++observerCount}`;
    const z = libzmq().symbols;
    if (z.zmq_socket_monitor(handle, cstr(endpoint), MonitorEvent.ALL) !== 0) {
      const errno = z.zmq_errno();
      throw new ZmqError("events", errnoName(errno), errno, "zmq_socket_monitor failed");
    }
    // Stop the monitor before its reader closes: libzmq sends monitor events with blocking
    // sends, so events for a reader that is gone would block libzmq's I/O thread for good.
    this.#stopMonitor = () => void z.zmq_socket_monitor(handle, null, 0);
    this.#reader = new Socket(SocketType.PAIR, { linger: 0 });
    this.#reader.connect(endpoint);
    void this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      let frames: Uint8Array[];
      try {
        frames = await this.#reader.receive();
      } catch {
        break; // the reader closed with the socket
      }
      const event = decodeEvent(frames);
      if (event.type === "end") break;
      this[emitEvent](event);
    }
    this.#end();
  }

  /** Delivers an event to every consumer (the socket reports its own `error` events here). */
  [emitEvent](event: SocketEvent): void {
    for (const consumer of this.#consumers) consumer.push(event);
  }

  /** Ends every consumer with an `end` event. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const consumer of this.#consumers) {
      consumer.push({ type: "end" });
      consumer.end();
    }
    this.#consumers.clear();
  }

  /**
   * A new consumer for one loop: gets every event from now on, until the socket closes
   * (after an `end` event) or the loop stops (`break` ends this consumer only).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<SocketEvent> {
    const consumer = this.#consumer();
    const iterator: AsyncIterableIterator<SocketEvent> = {
      next: () => consumer.next(),
      return: () => {
        consumer.close();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * A consumer that keeps every event from now on across any number of loops (leaving a
   * loop does not end it), until `close()` (or `using`) or the socket closes.
   *
   * @example
   * ```ts
   * import { Dealer, Router } from "@lib/zmq/mod.ts";
   * await using router = new Router();
   * using events = router.events.consumer();
   * await router.bind("tcp://127.0.0.1:*");
   * await using dealer = new Dealer();
   * dealer.connect(router.lastEndpoint!);
   * for await (const event of events) if (event.type === "accept") break;
   * for await (const event of events) if (event.type === "handshake") break; // none missed
   * ```
   */
  consumer(): EventConsumer {
    const consumer = this.#consumer();
    const loop = (): AsyncIterableIterator<SocketEvent> => {
      const iterator: AsyncIterableIterator<SocketEvent> = {
        next: () => consumer.next(),
        return: () => Promise.resolve({ value: undefined, done: true }),
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    };
    return {
      [Symbol.asyncIterator]: loop,
      close: () => consumer.close(),
      [Symbol.dispose]: () => consumer.close(),
    };
  }

  #consumer(): Consumer {
    const consumers = this.#consumers;
    const consumer = new Consumer(() => consumers.delete(consumer));
    if (this.#ended) consumer.end();
    else consumers.add(consumer);
    return consumer;
  }

  /** Ends the observer; the socket calls this before it closes its handle. */
  [closeEvents](): void {
    if (this.#stopMonitor) {
      this.#stopMonitor();
      this.#stopMonitor = undefined;
    }
    this.#reader.close({ linger: 0 });
    this.#end();
  }
}
