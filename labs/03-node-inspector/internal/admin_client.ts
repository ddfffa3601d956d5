/**
 * The admin CLI's client library: one call = one Lazy Pirate request over a ZeroMQ REQ
 * socket (optionally CURVE), decoded into a protocol reply. The benchmark measures this
 * library against a raw REQ-REP echo.
 *
 * @module
 */

import { curveKeyPair, curvePublic, Request } from "@lib/zmq/mod.ts";
import {
  type ChannelFactory,
  LazyPirateClient,
  type ReqChannel,
  type RetryInfo,
} from "./lazy_pirate.ts";
import { decodeReply, encodeRequest, type Reply } from "./protocol.ts";

/** Largest reply the client accepts (bytes); a `ps` of 10,000 processes fits. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * The ZMTP handshake with the agent failed: wrong CURVE server key, CURVE on one side only,
 * or (`auth`) the agent's allow-list refused this client's key.
 */
export class HandshakeError extends Error {
  override name = "HandshakeError";
  constructor(
    readonly endpoint: string,
    readonly detail: string,
    curve: boolean,
    auth = false,
  ) {
    super(
      auth
        ? `CURVE handshake with ${endpoint} failed (${detail}): the agent does not allow ` +
          `this client's key: expected --client-secret whose public key is in its --allow-key`
        : curve
        ? `CURVE handshake with ${endpoint} failed (${detail}): ` +
          `expected --server-key to be the agent's public key`
        : `handshake with ${endpoint} failed (${detail}): ` +
          `the agent may require CURVE (--server-key <its public key>)`,
    );
  }
}

/**
 * Opens REQ sockets to `endpoint`. With `serverKey`, the socket is a CURVE client with the
 * keypair of `clientSecret` (for an agent with an allow-list), else an ephemeral one. A
 * socket monitor turns a failed handshake into a rejected receive
 * ({@linkcode HandshakeError}) instead of a wait for the timeout: retrying cannot help.
 *
 * @example
 * ```ts
 * const factory = zmqRequestFactory("tcp://127.0.0.1:5531");
 * const sock = factory(1);
 * ```
 */
export function zmqRequestFactory(
  endpoint: string,
  serverKey?: string,
  clientSecret?: string,
  onSocketEvent?: (type: string, detail: string | undefined) => void,
): ChannelFactory {
  const keys = !serverKey
    ? undefined
    : clientSecret
    ? { publicKey: curvePublic(clientSecret), secretKey: clientSecret }
    : curveKeyPair();
  return (): ReqChannel => {
    const sock = new Request({
      linger: 0,
      maxMessageSize: MAX_REPLY_BYTES,
      ...(keys
        ? {
          curveServerKey: serverKey,
          curvePublicKey: keys.publicKey,
          curveSecretKey: keys.secretKey,
        }
        : {}),
    });
    const events = sock.monitor();
    const failed = (async (): Promise<never> => {
      for await (const event of events) {
        onSocketEvent?.(event.type, event.error);
        if (event.type.startsWith("handshake:error")) {
          const detail = `${event.type} ${event.error ?? ""}`.trim();
          throw new HandshakeError(endpoint, detail, !!keys, event.type.endsWith(":auth"));
        }
      }
      return await new Promise<never>(() => {}); // the monitor ended with the socket
    })();
    failed.catch(() => {});
    sock.connect(endpoint);
    return {
      // A send can wait for a pipe that a failed handshake never brings: race it too.
      send: (frames) => Promise.race([sock.send(frames), failed]),
      receive: () => Promise.race([sock.receive(), failed]),
      close: () => sock.close({ linger: 0 }),
    };
  };
}

/** Options of {@linkcode AdminClient}. */
export interface AdminClientOptions {
  endpoint: string;
  /** ms per attempt. */
  timeout: number;
  /** Attempts in all (Lazy Pirate `REQUEST_RETRIES`). */
  retries: number;
  /** The agent's CURVE public key (Z85); enables CURVE. */
  serverKey?: string;
  /** This client's CURVE secret key (Z85), for an agent with `--allow-key`; else ephemeral. */
  clientSecret?: string;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  /** Socket factory (default: real ZeroMQ REQ sockets). */
  factory?: ChannelFactory;
  /** Each monitor event of the default factory's sockets (connect, handshake, ...). */
  onSocketEvent?: (type: string, detail: string | undefined) => void;
}

/** A reply with the round trip of the successful attempt. */
export interface CallResult {
  reply: Reply;
  /** ms from the last send to the reply (all attempts: see `elapsed`). */
  rtt: number;
  /** ms from the first send. */
  elapsed: number;
}

/**
 * Calls the agent's commands with Lazy Pirate reliability. Rejects with `NoReplyError`
 * (agent down), `HandshakeError` (wrong CURVE key), `AbortedError`, or the codec's
 * `BadMessageError` (the reply is not protocol version 1).
 *
 * @example
 * ```ts
 * const client = new AdminClient({ endpoint: "tcp://127.0.0.1:5531", timeout: 1000, retries: 3 });
 * const { reply } = await client.call("ps", { top: 5, sort: "mem" });
 * client.close();
 * ```
 */
export class AdminClient {
  readonly #pirate: LazyPirateClient;

  constructor(readonly options: AdminClientOptions) {
    this.#pirate = new LazyPirateClient({
      factory: options.factory ??
        zmqRequestFactory(
          options.endpoint,
          options.serverKey,
          options.clientSecret,
          options.onSocketEvent,
        ),
      timeout: options.timeout,
      retries: options.retries,
      signal: options.signal,
      onRetry: options.onRetry,
    });
  }

  /** Sends `{v, cmd, args}` and decodes the reply; `onSend` sees each attempt (from 1). */
  async call(
    cmd: string,
    args: Record<string, unknown> = {},
    onSend?: (attempt: number) => void,
  ): Promise<CallResult> {
    const started = performance.now();
    let lastSend = started;
    const frames = await this.#pirate.request([encodeRequest(cmd, args)], (attempt) => {
      lastSend = performance.now();
      onSend?.(attempt);
    });
    const now = performance.now();
    return { reply: decodeReply(frames), rtt: now - lastSend, elapsed: now - started };
  }

  /** Sockets opened so far (more than one means replies were lost). */
  get socketsOpened(): number {
    return this.#pirate.socketsOpened;
  }

  /** Closes the socket. */
  close(): void {
    this.#pirate.close();
  }
}
