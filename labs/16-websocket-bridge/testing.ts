/**
 * Lab 16 test helpers: a bridge on ephemeral ports, an in-process telemetry publisher
 * (Lab 04's frames on an XPUB, so a test can wait for the bridge's subscription), a Deno
 * WebSocket client that records what it gets, a raw TCP WebSocket client that can stop
 * reading its socket (the slow consumer), and headless Chromium.
 *
 * @module
 */

import { waitFor } from "@lib/testing/mod.ts";
import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { XPublisher } from "@lib/zmq/mod.ts";
import {
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
} from "../04-telemetry-lvc/internal/protocol.ts";
import type { Page } from "playwright-core";
import { withScreenshotOnFailure as screenshotOnFailure } from "@lib/testing/browser.ts";

/** The token the tests' bridges use. */
export const TOKEN = "test-token-16";

/** A running zmq_bridge. */
export interface BridgeProc extends AsyncDisposable {
  proc: RoleProcess;
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** The page's URL with the token (and `extra` fragment parameters). */
  pageUrl(extra?: string): string;
  /** The WebSocket URL with the token. */
  wsUrl(token?: string): string;
}

/**
 * Starts zmq_bridge subscribed to `upstream`, listening on `listen` (default any port),
 * with the test token; waits for its `listening` event.
 */
export async function startBridge(
  upstream: string,
  args: string[] = [],
  listen = "127.0.0.1:0",
): Promise<BridgeProc> {
  const proc = await spawnRole("16", "zmq_bridge", [
    "--listen",
    listen,
    "--connect",
    upstream,
    "--auth-secret",
    TOKEN,
    "--json",
    "--refresh",
    "500",
    ...args,
  ]);
  try {
    const url = String((await proc.event("listening", undefined, { timeout: 30_000 })).endpoint);
    const port = Number(new URL(url).port);
    return {
      proc,
      url,
      port,
      pageUrl: (extra = "") => `${url}#token=${TOKEN}${extra}`,
      wsUrl: (token = TOKEN) => `ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`,
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** An XPUB publishing Lab 04 updates, with per-topic source sequence numbers. */
export class TelemetryPublisher implements AsyncDisposable {
  readonly pub = new XPublisher({ sendHighWaterMark: 1_000_000, linger: 0 });
  readonly subscriptions: string[] = [];
  #seq = new Map<string, number>();
  #loop: Promise<void> | undefined;
  endpoint = "";

  /** Binds to an ephemeral port and starts reading subscriptions. */
  async start(): Promise<this> {
    await this.pub.bind("tcp://127.0.0.1:*");
    this.endpoint = this.pub.lastEndpoint!;
    this.#loop = (async () => {
      try {
        for await (const [frame] of this.pub) {
          const prefix = new TextDecoder().decode(frame.subarray(1));
          this.subscriptions.push(`${frame[0] === 1 ? "+" : "-"}${prefix}`);
        }
      } catch { /* closed */ }
    })();
    return this;
  }

  /** Waits until the bridge subscribed to `prefix` (its SUBSCRIBE reached this XPUB). */
  async subscribed(prefix: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `subscription "${prefix}" at the publisher`,
      () =>
        this.subscriptions.lastIndexOf(`+${prefix}`) > this.subscriptions.lastIndexOf(`-${prefix}`),
      { timeoutMs },
    );
  }

  /** Publishes one reading (or an opaque payload of `payloadBytes` with another schema). */
  async publish(topic: string, value: number, payloadBytes = 0): Promise<number> {
    const seq = (this.#seq.get(topic) ?? 0) + 1;
    this.#seq.set(topic, seq);
    const ts = performance.timeOrigin + performance.now();
    const schema = payloadBytes > 0 ? "test.blob.v1" : READING_SCHEMA;
    const payload = payloadBytes > 0
      ? new Uint8Array(payloadBytes).fill(value & 0xff)
      : encodeReading(value, new Uint8Array());
    await this.pub.send([
      new TextEncoder().encode(topic),
      encodeHeader({ seq, ts, units: "degC", schema }),
      payload,
    ]);
    return seq;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.pub.close();
    await this.#loop;
  }
}

/** A `data` frame as a client records it. */
export interface DataFrame {
  type: "data";
  seq: number;
  topic: string;
  src_seq: number;
  ts: number;
  value?: number;
  payload?: string;
  conflated?: boolean;
  skipped?: number;
}

/** A Deno WebSocket client that answers pings and records every frame. */
export class WsClient implements AsyncDisposable {
  readonly frames: Record<string, unknown>[] = [];
  readonly data: DataFrame[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(url: string, origin: string) {
    // Deno's WebSocket takes headers: a browser would send its page's Origin.
    this.ws = new WebSocket(url, { headers: { origin } } as unknown as string[]);
    const open = Promise.withResolvers<void>();
    this.opened = open.promise;
    this.ws.onopen = () => open.resolve();
    this.ws.onerror = () => open.reject(new Error(`websocket ${url} failed`));
    this.ws.onclose = (e) => this.closed = { code: e.code, reason: e.reason };
    this.ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "ping") this.send({ type: "pong", t: m.t });
      else if (m.type === "data") this.data.push(m);
      else this.frames.push(m);
    };
  }

  /** Sends a frame: a string as is, anything else as JSON. */
  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Waits for a non-data frame of `type`. */
  frame(type: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return waitFor(`a ${type} frame`, () => this.frames.find((f) => f.type === type), {
      timeoutMs,
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.ws.readyState <= WebSocket.OPEN) {
      const closed = new Promise((r) => this.ws.addEventListener("close", r));
      this.ws.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    }
  }
}

/** Opens a {@link WsClient}, sends `hello` for `topics`, waits for `welcome`. */
export async function wsClient(
  bridge: BridgeProc,
  topics: string[],
  origin = `http://127.0.0.1:${bridge.port}`,
): Promise<WsClient> {
  const client = new WsClient(bridge.wsUrl(), origin);
  await client.opened;
  client.send({ type: "hello", topics });
  await client.frame("welcome");
  return client;
}

/**
 * A WebSocket client on a raw TCP connection: the test decides when (and whether) it reads
 * its socket. A client that stops reading is the slow consumer: the kernel's buffers fill,
 * then the bridge's `bufferedAmount` grows. It masks what it sends (RFC 6455 §5.3) and
 * parses the bridge's unmasked frames (§5.2) when asked to read.
 */
export class RawWsClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  /** The HTTP status line and headers of the handshake answer. */
  readonly status: number;
  #buffer: Uint8Array = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn, status: number, rest: Uint8Array) {
    this.conn = conn;
    this.status = status;
    this.#buffer = rest;
  }

  /** Connects and sends the upgrade request; resolves with the HTTP status. */
  static async connect(
    port: number,
    options: { token?: string; origin?: string | null },
  ): Promise<RawWsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET /ws?token=${encodeURIComponent(options.token ?? TOKEN)} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
    ];
    const origin = options.origin === undefined ? `http://127.0.0.1:${port}` : options.origin;
    if (origin !== null) lines.push(`Origin: ${origin}`);
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    let head: Uint8Array = new Uint8Array(0);
    while (true) {
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed during the handshake");
      head = concat(head, chunk.subarray(0, n));
      const text = new TextDecoder().decode(head);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const status = Number(text.split(" ")[1]);
        const headBytes = new TextEncoder().encode(text.slice(0, end + 4)).length;
        return new RawWsClient(conn, status, head.subarray(headBytes));
      }
    }
  }

  /** Sends one masked text frame. */
  async sendText(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const len = payload.length;
    const header = len < 126 ? [0x81, 0x80 | len] : [0x81, 0x80 | 126, len >> 8, len & 0xff];
    const frame = new Uint8Array(header.length + 4 + len);
    frame.set(header);
    frame.set(mask, header.length);
    for (let i = 0; i < len; i++) frame[header.length + 4 + i] = payload[i] ^ mask[i % 4];
    await this.conn.write(frame);
  }

  /**
   * Reads frames until `until` says stop or the connection ends; text frames go to
   * `onText`, a close frame returns its code. Answers pings (text `ping` frames) with pongs.
   */
  async read(
    onText: (text: string) => boolean | void,
  ): Promise<{ close?: number; ended: boolean }> {
    while (true) {
      const frame = this.#parse();
      if (frame) {
        if (frame.opcode === 0x8) {
          const code = frame.payload.length >= 2
            ? (frame.payload[0] << 8) | frame.payload[1]
            : 1005;
          return { close: code, ended: false };
        }
        if (frame.opcode === 0x1) {
          const text = new TextDecoder().decode(frame.payload);
          const m = JSON.parse(text);
          if (m.type === "ping") await this.sendText(JSON.stringify({ type: "pong", t: m.t }));
          if (onText(text) === true) return { ended: false };
        }
        continue;
      }
      const chunk = new Uint8Array(256 * 1024);
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return { ended: true };
      this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
    }
  }

  #parse(): { opcode: number; payload: Uint8Array } | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    let len = b[1] & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = (b[2] << 8) | b[3];
      offset = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    if (b.length < offset + len) return undefined;
    const payload = b.slice(offset, offset + len);
    this.#buffer = b.subarray(offset + len);
    return { opcode: b[0] & 0x0f, payload };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await Promise.resolve();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export { browserUnavailable, CHROMIUM, launchBrowser } from "@lib/testing/browser.ts";

/** The test output directory (`TEST_OUTPUT_DIR`, else `test-output/lab16` under the cwd). */
export function testOutputDir(): string {
  return Deno.env.get("TEST_OUTPUT_DIR") ?? `${Deno.cwd()}/test-output/lab16`;
}

/**
 * Runs `body` with `page`; when it throws, saves a screenshot of the page to the test
 * output directory (named after `name`), says where, and rethrows.
 */
export function withScreenshotOnFailure<T>(
  page: Page,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  return screenshotOnFailure(page, testOutputDir(), name, body);
}
