/**
 * The socket side of lock_client: a DEALER to lock_server carrying one {@link LockSession}
 * at a time (a lost session is replaced by a new one on the same socket), and a DEALER to
 * resource_guard with one request in flight. Kept out of `cmd/` so the subcommands stay thin.
 *
 * @module
 */
import { deadline, systemClock } from "@lib/async/mod.ts";
import type { RoleContext } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import {
  decodeGuardReply,
  decodeReply,
  encodeGuard,
  encodeRequest,
  type GuardReply,
  type GuardRequest,
} from "./protocol.ts";
import { LockSession } from "./session_client.ts";

/** Connection settings. */
export interface LockConnectionOptions {
  server: string;
  margin: number;
  requestTimeoutMs: number;
}

/**
 * A new random session id (`c-` and 16 hex digits).
 *
 * @example
 * ```ts
 * import { newSessionId } from "./client_io.ts";
 * newSessionId().length; // 18
 * ```
 */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `c-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A DEALER to lock_server and the current session on it.
 *
 * @example
 * ```ts ignore
 * const conn = new LockConnection(ctx, { server, margin: 0.2, requestTimeoutMs: 5000 });
 * const session = await conn.openSession();
 * const grant = await session.acquire("a", "exclusive", 10_000);
 * ```
 */
export class LockConnection {
  readonly dealer: Dealer;
  readonly #ctx: RoleContext;
  readonly #options: LockConnectionOptions;
  #session: LockSession | null = null;
  #generation = 0;
  #leaseLost: Promise<string> = new Promise(() => {});

  constructor(ctx: RoleContext, options: LockConnectionOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.dealer = new Dealer({ linger: 1000, sendHighWaterMark: 1000 });
    ctx.defer(() => this.dealer.close());
    this.dealer.connect(options.server);
    const serving = ctx.serve(this.dealer, (frames) => {
      this.#session?.onReply(decodeReply(frames));
    }, { name: "lock_server", untilClosed: true });
    serving.catch(() => {}); // a socket error is logged by serve(); requests then time out
    ctx.every(20, () => this.#session?.tick());
  }

  /** The current session, if any. */
  get session(): LockSession | null {
    return this.#session;
  }

  /** Resolves (with why) when the current session's lease must be assumed lost. */
  get leaseLost(): Promise<string> {
    return this.#leaseLost;
  }

  /** A session object for `id` that is not opened (e.g. to release another's lock). */
  attach(id: string): LockSession {
    return this.#install(id);
  }

  /** Opens a new session (replacing the current one). */
  async openSession(id: string = newSessionId()): Promise<LockSession> {
    const session = this.#install(id);
    const opened = await session.open();
    this.#ctx.log.info("session_opened", {
      session: id,
      ttl_ms: opened.ttl_ms,
      lock_delay_ms: opened.lock_delay_ms,
      margin: this.#options.margin,
    });
    return session;
  }

  #install(id: string): LockSession {
    this.#session?.abandon("session replaced");
    const log = this.#ctx.log;
    let lost!: (why: string) => void;
    this.#leaseLost = new Promise((resolve) => (lost = resolve));
    const session = new LockSession({
      clock: systemClock,
      send: (request) => {
        if (!this.dealer.sendSync([encodeRequest(request)])) throw new Error("send queue full");
      },
    }, {
      session: id,
      margin: this.#options.margin,
      resendMs: 1000,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      firstReq: ++this.#generation * 1_000_000,
      onLeaseLost: (why) => {
        log.warn("lease_lost", { session: id, why });
        lost(why);
      },
      onStrayGrant: (grant) => {
        // A late duplicate grant nobody waits for: hand it back at once.
        log.info("stray_grant_released", { lock: grant.lock, token: grant.token });
        session.release(grant.lock, grant.token).catch(() => {});
      },
    });
    this.#session = session;
    return session;
  }
}

/**
 * A DEALER to resource_guard, one request at a time.
 *
 * @example
 * ```ts ignore
 * const guard = new GuardConnection(ctx, "tcp://127.0.0.1:5622", 5000);
 * const { value } = await guard.call({ kind: "read", req: 0, token: 7 });
 * ```
 */
export class GuardConnection {
  readonly dealer: Dealer;
  readonly #timeoutMs: number;
  #req = 0;
  #waiting: { req: number; resolve(reply: GuardReply): void } | null = null;

  constructor(ctx: RoleContext, endpoint: string, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.dealer = new Dealer({ linger: 1000 });
    ctx.defer(() => this.dealer.close());
    this.dealer.connect(endpoint);
    const serving = ctx.serve(this.dealer, (frames) => {
      const reply = decodeGuardReply(frames);
      if (this.#waiting && reply.req === this.#waiting.req) this.#waiting.resolve(reply);
    }, { name: "guard", untilClosed: true });
    serving.catch(() => {});
  }

  /** Sends one request (its `req` is replaced) and waits for the reply. */
  async call(request: GuardRequest): Promise<GuardReply> {
    const req = ++this.#req;
    const reply = new Promise<GuardReply>((resolve, reject) => {
      this.#waiting = { req, resolve };
      this.dealer.send(encodeGuard({ ...request, req })).catch(reject);
    });
    try {
      return await deadline(reply, this.#timeoutMs, { what: "resource_guard reply" });
    } finally {
      this.#waiting = null;
    }
  }
}
