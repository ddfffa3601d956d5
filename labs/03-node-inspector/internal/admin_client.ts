/**
 * The admin CLI's client library: one call = one Lazy Pirate request over a ZeroMQ REQ
 * socket (optionally CURVE), decoded into a protocol reply. The benchmark measures this
 * library against a raw REQ-REP echo.
 *
 * @module
 */

import {
  HandshakeError,
  LazyPirateClient,
  type ReqChannelFactory,
  type RetryInfo,
  zmqReqFactory,
} from "@lib/patterns/mod.ts";
import { type Clock, systemClock } from "@lib/async/mod.ts";
import { curveKeyPair, curvePublic } from "@lib/zmq/mod.ts";
import { decodeReply, encodeRequest, type Reply } from "./protocol.ts";

/** Largest reply the client accepts (bytes); a `ps` of 10,000 processes fits. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** What is known when explaining a failed handshake. */
export interface HandshakeContext {
  /** The client uses CURVE (`--server-key` given). */
  curve: boolean;
  /** The agent's mechanism from its greeting (`probeMechanism`), when it could be read. */
  agentMechanism?: string;
}

/**
 * Says in the CLI's words why a handshake with the agent failed, and what to change. A
 * mechanism mismatch (CURVE on one side only) is named as such, not taken for a wrong key:
 * libzmq reports it as `ZMTP_MECHANISM_MISMATCH` when it sees it first, else only as a
 * closed connection, so the agent's own greeting settles it.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@lib/patterns/mod.ts";
 * import { explainHandshake } from "./admin_client.ts";
 * const err = new HandshakeError("tcp://127.0.0.1:5531", "other", "EPIPE");
 * explainHandshake(err, { curve: true, agentMechanism: "NULL" }); // "... mechanism mismatch ..."
 * ```
 */
export function explainHandshake(err: HandshakeError, context: HandshakeContext): string {
  const where = `handshake with ${err.endpoint} failed`;
  const detail = `${err.failure}${err.code ? ` ${err.code}` : ""}`;
  const ours = context.curve ? "CURVE" : "NULL";
  const theirs = context.agentMechanism;
  if (err.mechanismMismatch || (theirs !== undefined && theirs !== ours)) {
    const agent = theirs ?? (context.curve ? "NULL" : "CURVE");
    if (agent !== "NULL" && agent !== "CURVE") {
      return `${where}: security mechanism mismatch: the agent uses ${agent}, this client ` +
        `${ours}: expected an agent with NULL or CURVE (--curve-secret)`;
    }
    return context.curve
      ? `${where}: security mechanism mismatch: this client uses CURVE (--server-key) and the ` +
        `agent uses ${agent}: expected an agent started with --curve-secret, or no --server-key`
      : `${where}: security mechanism mismatch: the agent requires ${agent} and this client ` +
        `uses NULL: expected --server-key <the agent's public key>`;
  }
  if (err.failure === "auth") {
    return `CURVE ${where} (${detail}): the agent does not allow this client's key: ` +
      `expected --client-secret whose public key is in its --allow-key`;
  }
  return context.curve
    ? `CURVE ${where} (${detail}): expected --server-key to be the agent's public key`
    : `${where} (${detail})`;
}

/**
 * Opens REQ sockets to `endpoint` (Lazy Pirate's factory from lib/patterns). With
 * `serverKey`, each socket is a CURVE client with the keypair of `clientSecret` (for an
 * agent with an allow-list), else an ephemeral one.
 *
 * @example
 * ```ts
 * import { agentSocketFactory } from "./admin_client.ts";
 * const connect = agentSocketFactory("tcp://127.0.0.1:5531");
 * ```
 */
export function agentSocketFactory(
  endpoint: string,
  serverKey?: string,
  clientSecret?: string,
  onSocketEvent?: (type: string, detail: string | undefined) => void,
): ReqChannelFactory {
  const keys = !serverKey
    ? undefined
    : clientSecret
    ? { publicKey: curvePublic(clientSecret), secretKey: clientSecret }
    : curveKeyPair();
  return zmqReqFactory({
    endpoint,
    socket: {
      maxMessageSize: MAX_REPLY_BYTES,
      ...(keys
        ? {
          curveServerKey: serverKey,
          curvePublicKey: keys.publicKey,
          curveSecretKey: keys.secretKey,
        }
        : {}),
    },
    onEvent: onSocketEvent,
  });
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
  factory?: ReqChannelFactory;
  /** Time for timeouts and round trips (default: the system clock). */
  clock?: Clock;
  /** Each event of the default factory's sockets (connect, handshake, ...). */
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
 * (agent down), `HandshakeError` (see {@linkcode explainHandshake}), `AbortedError`, or the codec's
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
  readonly #clock: Clock;

  constructor(readonly options: AdminClientOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#pirate = new LazyPirateClient({
      clock: this.#clock,
      connect: options.factory ??
        agentSocketFactory(
          options.endpoint,
          options.serverKey,
          options.clientSecret,
          options.onSocketEvent,
        ),
      timeoutMs: options.timeout,
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
    const started = this.#clock.now();
    let lastSend = started;
    const frames = await this.#pirate.request([encodeRequest(cmd, args)], (attempt) => {
      lastSend = this.#clock.now();
      onSend?.(attempt);
    });
    const now = this.#clock.now();
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
