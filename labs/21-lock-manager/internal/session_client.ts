/**
 * The client side of a lock session, sans-IO: it opens a session, keeps its lease alive with
 * keepalives every `ttl / 3`, acquires and releases locks, and says when it must assume its
 * lease is gone. The role feeds it replies (`onReply`) and time (`tick`); it sends through
 * `port.send(request)`.
 *
 * The server's clock decides when a session expires; the client cannot read that clock, so
 * it assumes expiry early: its lease runs from the *send* time of the last request the server
 * answered (the server saw it later, so its own lease ends later) for `ttl × (1 − margin)`
 * (`margin` 0.2 by default: clock-rate drift and scheduling slack). Past that, `leaseValid`
 * is false and `onLeaseLost` fires once; so does an `unknown_session` refusal.
 *
 * Every request is idempotent (the session id is the client's), so one that gets no reply
 * within `resendMs` is sent again: a waiting `acquire` is re-sent with its remaining wait,
 * which also re-queues it after a server restart.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import type { LockReply, LockRequest, Mode, ReplyOf } from "./protocol.ts";

/** What the session needs from its owner. */
export interface SessionPort {
  clock: Clock;
  /** Sends one request; a throw counts as lost (the resend covers it). */
  send(request: LockRequest): void;
}

/** Session settings. */
export interface SessionOptions {
  /** The session id (random, chosen by the client). */
  session: string;
  /** Fraction of the TTL the client gives up early (0 ≤ margin < 1). */
  margin: number;
  /** A request with no reply is re-sent this often (before the TTL is known). */
  resendMs: number;
  /** A request with no reply for this long fails (acquire: on top of its wait). */
  requestTimeoutMs: number;
  /** Called once when the lease must be assumed lost. */
  onLeaseLost?: (why: "lease_timeout" | "unknown_session") => void;
  /** The first request number (distinct per session on one socket; default 1). */
  firstReq?: number;
  /** Called for a grant nobody waits for (a late duplicate): the owner should release it. */
  onStrayGrant?: (grant: ReplyOf<"granted">) => void;
}

/** The answer to `acquire`. */
export type AcquireResult =
  | ReplyOf<"granted">
  | ReplyOf<"not_granted">
  | ReplyOf<"refused">
  | ReplyOf<"error">;

interface Pending {
  request: LockRequest;
  firstSentAt: number;
  lastSentAt: number;
  resends: number;
  deadline: number;
  /** Absolute end of an acquire's wait (server side), to re-send the remainder. */
  waitUntil?: number;
  resolve(reply: LockReply): void;
  reject(error: Error): void;
}

/** A request that got no reply in time. */
export class RequestTimeoutError extends Error {
  constructor(kind: string, ms: number) {
    super(`no reply to ${kind} within ${ms} ms`);
    this.name = "RequestTimeoutError";
  }
}

/**
 * One lock session.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { LockSession } from "./session_client.ts";
 * const sent: unknown[] = [];
 * const session = new LockSession({ clock: new ManualClock(), send: (r) => sent.push(r) }, {
 *   session: "s1",
 *   margin: 0.2,
 *   resendMs: 500,
 *   requestTimeoutMs: 5000,
 * });
 * const opened = session.open();
 * session.onReply({ kind: "opened", req: 1, session: "s1", ttl_ms: 3000, lock_delay_ms: 0 });
 * await opened;
 * session.leaseValid(); // true
 * ```
 */
export class LockSession {
  readonly id: string;
  readonly #port: SessionPort;
  readonly #options: SessionOptions;
  readonly #pending = new Map<number, Pending>();
  #nextReq = 1;
  #ttlMs = 0;
  #lockDelayMs = 0;
  #leaseStart = -Infinity;
  #lastKeepalive = -Infinity;
  #lost = false;
  #closed = false;

  constructor(port: SessionPort, options: SessionOptions) {
    this.id = options.session;
    this.#port = port;
    this.#options = options;
    this.#nextReq = options.firstReq ?? 1;
  }

  /** The server's TTL (0 before `open`). */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The server's lock-delay (0 before `open`). */
  get lockDelayMs(): number {
    return this.#lockDelayMs;
  }

  /** True once the lease was lost (for good: open a new session). */
  get lost(): boolean {
    return this.#lost;
  }

  /** Requests awaiting a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Opens the session (learns the TTL). */
  async open(): Promise<ReplyOf<"opened">> {
    const reply = await this.#request({ kind: "open", req: 0, session: this.id });
    if (reply.kind !== "opened") throw new Error(`open refused: ${describeReply(reply)}`);
    this.#ttlMs = reply.ttl_ms;
    this.#lockDelayMs = reply.lock_delay_ms;
    return reply;
  }

  /** Acquires `lock`: at once or not at all when `waitMs` is 0, else waiting up to it. */
  async acquire(lock: string, mode: Mode, waitMs: number): Promise<AcquireResult> {
    const reply = await this.#request(
      { kind: "acquire", req: 0, session: this.id, lock, mode, wait_ms: waitMs },
      waitMs,
    );
    if (
      reply.kind === "granted" || reply.kind === "not_granted" || reply.kind === "refused" ||
      reply.kind === "error"
    ) return reply;
    throw new Error(`unexpected reply to acquire: ${reply.kind}`);
  }

  /** Releases `lock` held with `token`; resolves with `released` or the refusal. */
  async release(
    lock: string,
    token: number,
    session: string = this.id,
  ): Promise<ReplyOf<"released"> | ReplyOf<"refused"> | ReplyOf<"error">> {
    const reply = await this.#request({ kind: "release", req: 0, session, lock, token });
    if (reply.kind === "released" || reply.kind === "refused" || reply.kind === "error") {
      return reply;
    }
    throw new Error(`unexpected reply to release: ${reply.kind}`);
  }

  /** The server's table of locks. */
  async status(): Promise<ReplyOf<"status">> {
    const reply = await this.#request({ kind: "status", req: 0 });
    if (reply.kind !== "status") throw new Error(`status refused: ${describeReply(reply)}`);
    return reply;
  }

  /** Ends the session (releases its locks on the server). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#request({ kind: "close", req: 0, session: this.id });
  }

  /**
   * Ms of lease the client may still count on (≤ 0: assume it is gone). The lease runs from
   * the send time of the last answered request, for `ttl × (1 − margin)`.
   */
  leaseRemaining(now: number = this.#port.clock.now()): number {
    if (this.#lost || this.#ttlMs === 0) return 0;
    return this.#leaseStart + this.#ttlMs * (1 - this.#options.margin) - now;
  }

  /** True while the lease can be counted on. */
  leaseValid(now: number = this.#port.clock.now()): boolean {
    return this.leaseRemaining(now) > 0;
  }

  /** Handles one reply from the server. */
  onReply(reply: LockReply): void {
    const req = reply.req;
    const pending = req === undefined ? undefined : this.#pending.get(req);
    if (!pending) {
      if (reply.kind === "granted") this.#options.onStrayGrant?.(reply);
      return;
    }
    if (reply.kind === "queued") {
      this.#renew(pending.firstSentAt);
      return; // still waiting: the grant (or the timeout) is the answer
    }
    this.#pending.delete(req!);
    if (reply.kind === "refused" && reply.reason === "unknown_session") {
      this.#loseLease("unknown_session");
    } else if (reply.kind !== "error" && reply.kind !== "status") {
      this.#renew(pending.firstSentAt);
    }
    if (
      reply.kind === "refused" && reply.reason === "not_holder" &&
      pending.request.kind === "release" && pending.resends > 0
    ) {
      // The first release went through and its reply was lost.
      pending.resolve({
        kind: "released",
        req: req!,
        lock: pending.request.lock,
        token: pending.request.token,
      });
      return;
    }
    pending.resolve(reply);
  }

  /** Keepalives, re-sends, request timeouts and the lease check, due at `now`. */
  tick(now: number = this.#port.clock.now()): void {
    if (this.#ttlMs > 0 && !this.#lost && !this.#closed) {
      if (now - this.#lastKeepalive >= this.#ttlMs / 3) {
        this.#lastKeepalive = now;
        const req = this.#nextReq++;
        this.#track(req, { kind: "keepalive", req, session: this.id }, now, this.#ttlMs)
          .catch(() => {}); // a lost keepalive: the next one follows, the lease check decides
      }
      if (!this.leaseValid(now)) this.#loseLease("lease_timeout");
    }
    const resendMs = this.#ttlMs > 0 ? this.#ttlMs / 3 : this.#options.resendMs;
    for (const [req, p] of this.#pending) {
      if (now >= p.deadline) {
        this.#pending.delete(req);
        p.reject(new RequestTimeoutError(p.request.kind, Math.round(now - p.firstSentAt)));
        continue;
      }
      if (p.request.kind === "keepalive" || now - p.lastSentAt < resendMs) continue;
      if (p.request.kind === "acquire" && p.waitUntil !== undefined && p.request.wait_ms > 0) {
        p.request = { ...p.request, wait_ms: Math.max(1, Math.round(p.waitUntil - now)) };
      }
      p.lastSentAt = now;
      p.resends++;
      this.#trySend(p.request);
    }
  }

  /** Fails every pending request (the owner is stopping). */
  abandon(why = "session abandoned"): void {
    for (const p of this.#pending.values()) p.reject(new Error(why));
    this.#pending.clear();
  }

  #renew(sentAt: number): void {
    if (!this.#lost) this.#leaseStart = Math.max(this.#leaseStart, sentAt);
  }

  #loseLease(why: "lease_timeout" | "unknown_session"): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#options.onLeaseLost?.(why);
  }

  #request(request: LockRequest, waitMs = 0): Promise<LockReply> {
    const req = this.#nextReq++;
    return this.#track(req, { ...request, req } as LockRequest, this.#port.clock.now(), waitMs);
  }

  #track(req: number, request: LockRequest, now: number, extraMs: number): Promise<LockReply> {
    return new Promise<LockReply>((resolve, reject) => {
      this.#pending.set(req, {
        request,
        firstSentAt: now,
        lastSentAt: now,
        resends: 0,
        deadline: now + extraMs + this.#options.requestTimeoutMs,
        waitUntil: request.kind === "acquire" ? now + request.wait_ms : undefined,
        resolve,
        reject,
      });
      this.#trySend(request);
    });
  }

  #trySend(request: LockRequest): void {
    try {
      this.#port.send(request);
    } catch {
      // lost: re-sent at the next tick
    }
  }
}

/**
 * A reply in a few words, for errors and logs.
 *
 * @example
 * ```ts
 * import { describeReply } from "./session_client.ts";
 * describeReply({ kind: "refused", req: 1, reason: "not_holder" }); // "refused: not_holder"
 * ```
 */
export function describeReply(reply: LockReply): string {
  if (reply.kind === "refused" || reply.kind === "error" || reply.kind === "not_granted") {
    return `${reply.kind}: ${reply.reason}`;
  }
  return reply.kind;
}
