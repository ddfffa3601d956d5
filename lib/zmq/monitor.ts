/**
 * Socket monitor events (zmq_socket_monitor) as an async iterable, with zeromq.js names.
 *
 * @module
 */
import { MonitorEvent } from "./constants.ts";
import { libzmq } from "./context.ts";
import { errnoName, ZmqError } from "./errors.ts";
import { cstr } from "./ffi.ts";
import { setMonitorFactory, type Socket } from "./socket.ts";
import { Pair } from "./socket_types.ts";

/** One monitor event. */
export interface MonitorEventRecord {
  /** zeromq.js event name, e.g. `accept`, `handshake:error:auth`. */
  type: string;
  /** The endpoint the event is about. */
  address: string;
  /** The raw numeric value (fd, interval, errno or status code). */
  value: number;
  /** For error events: the errno name or the ZAP/protocol status. */
  error?: string;
}

const NAMES: Record<number, string> = {
  [MonitorEvent.CONNECTED]: "connect",
  [MonitorEvent.CONNECT_DELAYED]: "connect:delay",
  [MonitorEvent.CONNECT_RETRIED]: "connect:retry",
  [MonitorEvent.LISTENING]: "bind",
  [MonitorEvent.BIND_FAILED]: "bind:error",
  [MonitorEvent.ACCEPTED]: "accept",
  [MonitorEvent.ACCEPT_FAILED]: "accept:error",
  [MonitorEvent.CLOSED]: "close",
  [MonitorEvent.CLOSE_FAILED]: "close:error",
  [MonitorEvent.DISCONNECTED]: "disconnect",
  [MonitorEvent.MONITOR_STOPPED]: "end",
  [MonitorEvent.HANDSHAKE_FAILED_NO_DETAIL]: "handshake:error:other",
  [MonitorEvent.HANDSHAKE_SUCCEEDED]: "handshake",
  [MonitorEvent.HANDSHAKE_FAILED_PROTOCOL]: "handshake:error:protocol",
  [MonitorEvent.HANDSHAKE_FAILED_AUTH]: "handshake:error:auth",
};

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

let monitorCount = 0;
const decoder = new TextDecoder();

/**
 * Monitor events of one socket. Iterate it; it ends when the socket or the monitor closes.
 *
 * @example
 * ```ts
 * const events = new SocketMonitor(server);
 * for await (const event of events) if (event.type === "handshake:error:protocol") break;
 * events.close();
 * ```
 */
export class SocketMonitor implements AsyncIterable<MonitorEventRecord> {
  #pair: Pair;
  #forget: () => void;
  #socket: Socket;

  constructor(socket: Socket, events: number = MonitorEvent.ALL) {
    const endpoint = `inproc://zmq-labs-monitor-${Deno.pid}-${++monitorCount}`;
    const z = libzmq().symbols;
    if (z.zmq_socket_monitor(socket._handle("monitor"), cstr(endpoint), events) !== 0) {
      const errno = z.zmq_errno();
      throw new ZmqError("monitor", errnoName(errno), errno, "zmq_socket_monitor failed");
    }
    this.#socket = socket;
    this.#pair = new Pair({ linger: 0 });
    this.#pair.connect(endpoint);
    this.#forget = socket._addMonitor(this);
  }

  /** Waits for the next event; resolves null when the monitor has ended. */
  async next(): Promise<MonitorEventRecord | null> {
    if (this.#pair.closed) return null;
    let frames: Uint8Array[];
    try {
      frames = await this.#pair.receive();
    } catch {
      return null;
    }
    const view = new DataView(frames[0].buffer, frames[0].byteOffset, frames[0].byteLength);
    const id = view.getUint16(0, true);
    const value = view.getUint32(2, true);
    const type = NAMES[id] ?? "unknown";
    const event: MonitorEventRecord = {
      type,
      address: decoder.decode(frames[1] ?? new Uint8Array()),
      value,
    };
    if (id === MonitorEvent.HANDSHAKE_FAILED_PROTOCOL) {
      event.error = PROTOCOL_ERRORS[value] ?? `0x${value.toString(16)}`;
    } else if (id === MonitorEvent.HANDSHAKE_FAILED_AUTH) {
      event.error = String(value); // the ZAP status code, e.g. 400
    } else if (type.endsWith(":error") || id === MonitorEvent.HANDSHAKE_FAILED_NO_DETAIL) {
      event.error = errnoName(value);
    }
    if (id === MonitorEvent.MONITOR_STOPPED) this.close();
    return event;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MonitorEventRecord> {
    for (;;) {
      const event = await this.next();
      if (event === null) return;
      yield event;
      if (event.type === "end") return;
    }
  }

  /** `using` support: stops listening. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Stops listening for events. */
  close(): void {
    if (this.#pair.closed) return;
    this.#forget();
    // Stop the monitor before closing its reader: libzmq sends monitor events with blocking
    // sends, so events for a reader that is gone would block libzmq's I/O thread for good.
    if (!this.#socket.closed) {
      libzmq().symbols.zmq_socket_monitor(this.#socket._handle("monitor"), null, 0);
    }
    this.#pair.close({ linger: 0 });
  }
}

/**
 * Starts monitoring a socket.
 *
 * @example
 * ```ts
 * const events = monitor(sock);
 * ```
 */
export function monitor(socket: Socket, events?: number): SocketMonitor {
  return new SocketMonitor(socket, events);
}

setMonitorFactory((socket, events) => new SocketMonitor(socket, events));
