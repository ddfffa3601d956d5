/**
 * A ZAP handler (ZeroMQ RFC 27) that authenticates CURVE clients by public key and PLAIN
 * clients by user name and password. It binds `inproc://zeromq.zap.01` in the process's
 * libzmq context, so it guards every socket of this process that has `curveServer` or
 * `plainServer` set (and a `zapDomain` when you filter by domain).
 *
 * @module
 */
import { z85Encode } from "./curve.ts";
import { Router } from "./socket_types.ts";
import { fingerprint } from "./zcert.ts";
import type { SocketEvent } from "./socket_events.ts";

/**
 * What the ZAP handler knows of a connecting peer.
 *
 * @example
 * ```ts
 * import type { ZapRequest } from "@lib/zmq/mod.ts";
 * const describe = (request: ZapRequest) => `${request.mechanism} from ${request.address}`;
 * ```
 */
export interface ZapRequest {
  requestId: Uint8Array;
  domain: string;
  address: string;
  identity: Uint8Array;
  mechanism: "NULL" | "PLAIN" | "CURVE" | string;
  /** CURVE: the client's public key in Z85. */
  publicKey?: string;
  /** PLAIN: user name and password. */
  username?: string;
  password?: string;
}

/**
 * The decision for one request.
 *
 * @example
 * ```ts
 * import type { ZapDecision } from "@lib/zmq/mod.ts";
 * const deny: ZapDecision = { status: 400, text: "unknown key" };
 * ```
 */
export interface ZapDecision {
  /** 200 allow, 300 temporary failure, 400 deny, 500 internal error. */
  status: 200 | 300 | 400 | 500;
  text?: string;
  /** The user id libzmq attaches to messages from this peer. */
  userId?: string;
}

/**
 * Decides a request; may be async.
 *
 * @example
 * ```ts
 * import type { ZapAuthorizer } from "@lib/zmq/mod.ts";
 * const allowAll: ZapAuthorizer = () => ({ status: 200 });
 * ```
 */
export type ZapAuthorizer = (request: ZapRequest) => ZapDecision | Promise<ZapDecision>;

/**
 * The RFC 27 endpoint.
 *
 * @example
 * ```ts
 * import { ZAP_ENDPOINT } from "@lib/zmq/mod.ts";
 * console.log(ZAP_ENDPOINT); // inproc://zeromq.zap.01
 * ```
 */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

const decoder = new TextDecoder();

/**
 * Runs a ZAP handler until `close()`.
 *
 * @example
 * ```ts
 * import { curveKeyPair, ZapHandler } from "@lib/zmq/mod.ts";
 * const allowed = new Set([curveKeyPair().publicKey]);
 * const zap = new ZapHandler(({ publicKey }) =>
 *   allowed.has(publicKey!)
 *     ? { status: 200, userId: publicKey }
 *     : { status: 400, text: "unknown key" }
 * );
 * await zap.start();
 * // ... sockets with curveServer: true are now authenticated ...
 * zap.close();
 * ```
 */
export class ZapHandler {
  #router = new Router({ linger: 0 });
  #authorize: ZapAuthorizer;
  #done: Promise<void> | undefined;
  /** Called for every decision (for logging). */
  onDecision?: (request: ZapRequest, decision: ZapDecision) => void;
  /** Called for every malformed request (which is answered 500 when possible). */
  onBadRequest?: (reason: string) => void;

  constructor(authorize: ZapAuthorizer) {
    this.#authorize = authorize;
  }

  /** Binds the ZAP endpoint and starts answering. */
  async start(): Promise<void> {
    await this.#router.bind(ZAP_ENDPOINT);
    this.#done = this.#serve();
  }

  async #serve(): Promise<void> {
    for await (const frames of this.#router) {
      const [peer, empty, version, requestId, domain, address, identity, mechanism, ...creds] =
        frames;
      if (!mechanism || empty.length !== 0 || decoder.decode(version) !== "1.0") {
        this.onBadRequest?.(`malformed ZAP request of ${frames.length} frames`);
        if (requestId) {
          await this.#reply(peer, requestId, { status: 500, text: "malformed request" });
        }
        continue;
      }
      const request: ZapRequest = {
        requestId,
        domain: decoder.decode(domain),
        address: decoder.decode(address),
        identity,
        mechanism: decoder.decode(mechanism),
      };
      if (request.mechanism === "CURVE") {
        if (creds.length !== 1 || creds[0].length !== 32) {
          this.onBadRequest?.("CURVE request without a 32-byte key");
          await this.#reply(peer, requestId, { status: 400, text: "bad credentials" });
          continue;
        }
        request.publicKey = z85Encode(creds[0]);
      } else if (request.mechanism === "PLAIN") {
        request.username = decoder.decode(creds[0] ?? new Uint8Array());
        request.password = decoder.decode(creds[1] ?? new Uint8Array());
      }
      let decision: ZapDecision;
      try {
        decision = await this.#authorize(request);
      } catch (error) {
        decision = { status: 500, text: (error as Error).message };
      }
      this.onDecision?.(request, decision);
      await this.#reply(peer, requestId, decision);
    }
  }

  async #reply(peer: Uint8Array, requestId: Uint8Array, decision: ZapDecision): Promise<void> {
    try {
      await this.#router.send([
        peer,
        "",
        "1.0",
        requestId,
        String(decision.status),
        decision.text ?? (decision.status === 200 ? "OK" : "denied"),
        decision.status === 200 ? decision.userId ?? "" : "",
        "",
      ]);
    } catch {
      // the socket that asked is gone
    }
  }

  /** Stops the handler (unbinds the ZAP endpoint). */
  close(): void {
    this.#router.close({ linger: 0 });
  }

  /** `await using` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#done;
  }
}

/** What {@linkcode logZapDecisions} needs of a logger (lib/role's `Logger` has it). */
export interface ZapDecisionLog {
  limited(
    level: "info" | "warn",
    event: string,
    fields: Record<string, unknown>,
    key: string,
  ): void;
}

/** Options of {@linkcode logZapDecisions}. */
export interface ZapDecisionLogOptions {
  /** Also log admitted keys (`client_allowed`), naming the peer in field `field`. */
  allowed?: { field: string; name: (publicKey: string) => string | undefined };
}

/**
 * Logs a ZAP handler's refusals as `client_denied` {status, reason, mechanism, fingerprint,
 * address} (and admissions as `client_allowed` when asked), rate-limited per mechanism and
 * key: a refused client retries its handshake for ever, so one line per key per period.
 * Keys appear only as fingerprints.
 *
 * @example
 * ```ts
 * import { logZapDecisions, ZapHandler } from "@lib/zmq/mod.ts";
 * const zap = new ZapHandler(() => ({ status: 400, text: "not on the list" }));
 * logZapDecisions(zap, { limited: (level, event, fields) => console.log(level, event, fields) });
 * ```
 */
export function logZapDecisions(
  zap: ZapHandler,
  log: ZapDecisionLog,
  options: ZapDecisionLogOptions = {},
): void {
  zap.onDecision = (request, decision) => {
    const fp = request.publicKey ? fingerprint(request.publicKey) : undefined;
    if (decision.status === 200) {
      if (!options.allowed || !request.publicKey) return;
      log.limited("info", "client_allowed", {
        fingerprint: fp,
        [options.allowed.field]: options.allowed.name(request.publicKey),
        address: request.address,
      }, `client_allowed:${fp}`);
      return;
    }
    log.limited("warn", "client_denied", {
      status: decision.status,
      reason: decision.text,
      mechanism: request.mechanism,
      fingerprint: fp,
      address: request.address,
    }, `client_denied:${request.mechanism}:${fp}`);
  };
}

/**
 * Logs a socket's failed handshakes as `handshake_failed` {type, reason (the error code),
 * status (ZAP's, for an auth failure), address}, rate-limited per kind (a refused or
 * misconfigured peer retries for ever); `onHandshake` counts the ones that succeed. Runs
 * until the socket closes.
 *
 * @example
 * ```ts
 * import { logHandshakeFailures, Reply } from "@lib/zmq/mod.ts";
 * const rep = new Reply();
 * logHandshakeFailures(rep, { limited: (level, event, fields) => console.log(level, event, fields) });
 * rep.close();
 * ```
 */
export function logHandshakeFailures(
  socket: { events: AsyncIterable<SocketEvent> },
  log: ZapDecisionLog,
  options: { onHandshake?: () => void } = {},
): void {
  void (async () => {
    for await (const event of socket.events) {
      if (event.type === "handshake") options.onHandshake?.();
      if (
        event.type !== "handshake:error:auth" && event.type !== "handshake:error:protocol" &&
        event.type !== "handshake:error:other"
      ) continue;
      const reason = event.error.code;
      const status = event.type === "handshake:error:auth" ? event.status : undefined;
      log.limited("warn", "handshake_failed", {
        type: event.type,
        reason,
        ...(status !== undefined ? { status } : {}),
        address: event.address,
      }, `handshake_failed:${event.type}:${status ?? reason}`);
    }
  })().catch(() => {});
}
