/**
 * The lock table behind lock_server, sans-IO: sessions with leases, named locks in exclusive
 * or shared mode, fencing tokens, FIFO waiters, try-lock with timeout, lock-delay, and
 * recovery from a {@link LockStore}. The role feeds it requests (`onRequest`) and time
 * (`tick`); it answers through `port.send(peer, reply)`.
 *
 * - A session lives while requests arrive: each one (keepalive or any other) sets its
 *   `last_seen`; `ttl` after the last one, on the server's clock, it expires and loses its
 *   locks (an exclusive one enters lock-delay) and its waits.
 * - Fencing: every grant takes the lock's next token (the last one is stored before the
 *   reply, so a restart never hands out a lower one). `release` must name the holder's
 *   session and token.
 * - FIFO: a released lock goes to the head of its queue only (no thundering herd).
 * - `acquire` is idempotent: a holder asking again gets its grant again, a waiter asking
 *   again keeps its place (clients re-send while they wait, which also survives a restart).
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { step } from "@lib/patterns/fsm.ts";
import type { Logger } from "@lib/role/mod.ts";
import { LOCK_TABLE, type LockAction, type LockEvent, type LockState } from "./lock_fsm.ts";
import type { LockInfo, LockReply, LockRequest, Mode } from "./protocol.ts";
import type { LockStore } from "./store.ts";

/** What the table needs from its owner. */
export interface LockTablePort {
  clock: Clock;
  log: Logger;
  /** Sends one reply to a peer (a ROUTER identity); a throw counts as a dropped reply. */
  send(peer: Uint8Array, reply: LockReply): void;
}

/** Lock table settings. */
export interface LockTableOptions {
  /** Session lease: a session silent this long (server clock) expires. */
  ttlMs: number;
  /** After an exclusive holder expires, nobody gets the lock for this long. */
  lockDelayMs: number;
  /** Sessions known at once. */
  maxSessions: number;
  /** Locks held or waited for at once (free locks are not kept in memory). */
  maxLocks: number;
  /** Waiters per lock. */
  maxWaiters: number;
}

interface Session {
  id: string;
  peer: Uint8Array | null;
  lastSeen: number;
  locks: Set<string>;
  waits: Set<string>;
}

interface Holder {
  session: string;
  token: number;
  mode: Mode;
  grantedAt: number;
}

interface Waiter {
  session: string;
  req: number;
  mode: Mode;
  since: number;
  deadline: number;
}

interface LockEntry {
  name: string;
  state: LockState;
  /** The last token granted for this lock. */
  token: number;
  holders: Map<string, Holder>;
  waiters: Waiter[];
  delayUntil: number;
}

/** Counters and gauges of the table. */
export interface LockTableStats {
  sessions: number;
  locks: number;
  waiters: number;
  grants: number;
  releases: number;
  expired_sessions: number;
  wait_timeouts: number;
  refused: number;
  send_failed: number;
  [key: string]: number;
}

/**
 * The lock table.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { LockTable } from "./lock_table.ts";
 * import { MemoryLockStore } from "./store.ts";
 * const replies: unknown[] = [];
 * const table = new LockTable(
 *   { clock: new ManualClock(), log: createMemoryLogger(), send: (_p, r) => replies.push(r) },
 *   new MemoryLockStore(),
 *   { ttlMs: 1000, lockDelayMs: 200, maxSessions: 100, maxLocks: 100, maxWaiters: 100 },
 * );
 * const peer = new Uint8Array([1]);
 * table.onRequest(peer, { kind: "open", req: 1, session: "s1" });
 * table.onRequest(peer, { kind: "acquire", req: 2, session: "s1", lock: "a", mode: "exclusive", wait_ms: 0 });
 * // replies: opened, then granted {token: 1}
 * ```
 */
export class LockTable {
  readonly #port: LockTablePort;
  readonly #store: LockStore;
  readonly #options: LockTableOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #locks = new Map<string, LockEntry>();
  #stats = {
    grants: 0,
    releases: 0,
    expired_sessions: 0,
    wait_timeouts: 0,
    refused: 0,
    send_failed: 0,
  };

  constructor(port: LockTablePort, store: LockStore, options: LockTableOptions) {
    this.#port = port;
    this.#store = store;
    this.#options = options;
    this.#recover();
  }

  /** Handles one request from `peer`. */
  onRequest(peer: Uint8Array, request: LockRequest): void {
    const now = this.#port.clock.now();
    switch (request.kind) {
      case "open": {
        let session = this.#sessions.get(request.session);
        if (!session) {
          if (this.#sessions.size >= this.#options.maxSessions) {
            return this.#refuse(peer, request.req, "too_many_sessions");
          }
          this.#store.openSession(request.session);
          session = this.#newSession(request.session, now);
          this.#port.log.debug("session_opened", { session: request.session });
        }
        this.#touch(session, peer, now);
        return this.#send(peer, {
          kind: "opened",
          req: request.req,
          session: session.id,
          ttl_ms: this.#options.ttlMs,
          lock_delay_ms: this.#options.lockDelayMs,
        });
      }
      case "keepalive": {
        const session = this.#live(peer, request.req, request.session, now);
        if (!session) return;
        return this.#send(peer, { kind: "alive", req: request.req, ttl_ms: this.#options.ttlMs });
      }
      case "acquire":
        return this.#acquire(peer, request, now);
      case "release":
        return this.#release(peer, request, now);
      case "close": {
        const session = this.#sessions.get(request.session);
        if (session) this.#endSession(session, "closed", now);
        return this.#send(peer, { kind: "closed", req: request.req });
      }
      case "status":
        return this.#send(peer, {
          kind: "status",
          req: request.req,
          sessions: this.#sessions.size,
          locks: this.table(),
        });
    }
  }

  /** Expires silent sessions, waits past their deadline and lock-delays that are over. */
  tick(now: number = this.#port.clock.now()): void {
    for (const session of [...this.#sessions.values()]) {
      if (now - session.lastSeen >= this.#options.ttlMs) this.#endSession(session, "expired", now);
    }
    for (const entry of [...this.#locks.values()]) {
      if (entry.waiters.some((w) => w.deadline <= now)) {
        const late = entry.waiters.filter((w) => w.deadline <= now);
        for (const waiter of late) {
          entry.waiters.splice(entry.waiters.indexOf(waiter), 1);
          this.#sessions.get(waiter.session)?.waits.delete(entry.name);
          this.#stats.wait_timeouts++;
          this.#toSession(waiter.session, {
            kind: "not_granted",
            req: waiter.req,
            lock: entry.name,
            reason: "timeout",
          });
          this.#fire(entry, "wait_timeout", now, {});
        }
      }
      if (entry.state === "delayed" && now >= entry.delayUntil) {
        this.#fire(entry, "delay_end", now, {});
      }
    }
  }

  /** The locks in memory (held, waited for or delayed), for `status` and the live view. */
  table(now: number = this.#port.clock.now()): LockInfo[] {
    const rows: LockInfo[] = [];
    for (const entry of this.#locks.values()) {
      rows.push({
        lock: entry.name,
        state: entry.state,
        token: entry.token,
        holders: [...entry.holders.values()].map((h) => ({
          session: h.session,
          token: h.token,
          mode: h.mode,
          lease_ms: Math.max(
            0,
            Math.round(
              (this.#sessions.get(h.session)?.lastSeen ?? now) + this.#options.ttlMs - now,
            ),
          ),
        })),
        waiters: entry.waiters.map((w) => ({
          session: w.session,
          mode: w.mode,
          waited_ms: Math.round(now - w.since),
        })),
        delay_ms: entry.state === "delayed" ? Math.max(0, Math.round(entry.delayUntil - now)) : 0,
      });
    }
    return rows.sort((a, b) => a.lock.localeCompare(b.lock));
  }

  /** Counters and gauges. */
  stats(): LockTableStats {
    let waiters = 0;
    for (const entry of this.#locks.values()) waiters += entry.waiters.length;
    return { sessions: this.#sessions.size, locks: this.#locks.size, waiters, ...this.#stats };
  }

  /** The state of one lock ("free" when not in memory). */
  stateOf(lock: string): LockState {
    return this.#locks.get(lock)?.state ?? "free";
  }

  #recover(): void {
    const now = this.#port.clock.now();
    const { sessions, holders } = this.#store.load();
    // A recovered lease starts its TTL afresh: the server cannot know how long it was down.
    for (const id of sessions) this.#newSession(id, now);
    for (const h of holders) {
      const session = this.#sessions.get(h.session) ?? this.#newSession(h.session, now);
      const entry = this.#entry(h.lock);
      entry.holders.set(h.session, {
        session: h.session,
        token: h.token,
        mode: h.mode,
        grantedAt: now,
      });
      entry.token = Math.max(entry.token, h.token);
      entry.state = h.mode;
      session.locks.add(h.lock);
    }
    if (sessions.length > 0 || holders.length > 0) {
      this.#port.log.info("recovered", { sessions: sessions.length, holders: holders.length });
    }
  }

  #newSession(id: string, now: number): Session {
    const session: Session = {
      id,
      peer: null,
      lastSeen: now,
      locks: new Set(),
      waits: new Set(),
    };
    this.#sessions.set(id, session);
    return session;
  }

  #touch(session: Session, peer: Uint8Array, now: number): void {
    session.lastSeen = now;
    session.peer = peer;
  }

  /** The session, refreshed; or a `refused {unknown_session}` reply and undefined. */
  #live(peer: Uint8Array, req: number, id: string, now: number): Session | undefined {
    const session = this.#sessions.get(id);
    if (!session) {
      this.#refuse(peer, req, "unknown_session");
      return undefined;
    }
    this.#touch(session, peer, now);
    return session;
  }

  #entry(name: string): LockEntry {
    let entry = this.#locks.get(name);
    if (!entry) {
      entry = {
        name,
        state: "free",
        token: this.#store.lastToken(name),
        holders: new Map(),
        waiters: [],
        delayUntil: 0,
      };
      this.#locks.set(name, entry);
    }
    return entry;
  }

  #acquire(peer: Uint8Array, request: Extract<LockRequest, { kind: "acquire" }>, now: number) {
    const session = this.#live(peer, request.req, request.session, now);
    if (!session) return;
    const existing = this.#locks.get(request.lock);
    const held = existing?.holders.get(session.id);
    if (held) {
      // A re-sent acquire (its reply was lost): the same grant again.
      if (held.mode !== request.mode) {
        return this.#refuse(peer, request.req, "held_in_other_mode", request.lock);
      }
      return this.#send(peer, {
        kind: "granted",
        req: request.req,
        lock: request.lock,
        token: held.token,
        mode: held.mode,
      });
    }
    const waiting = existing?.waiters.findIndex((w) => w.session === session.id) ?? -1;
    if (existing && waiting >= 0) {
      existing.waiters[waiting].req = request.req; // keeps its place; answers go to the new req
      return this.#send(peer, {
        kind: "queued",
        req: request.req,
        lock: request.lock,
        position: waiting + 1,
      });
    }
    if (!existing && this.#locks.size >= this.#options.maxLocks) {
      return this.#refuse(peer, request.req, "too_many_locks", request.lock);
    }
    const entry = existing ?? this.#entry(request.lock);
    if (request.wait_ms > 0 && entry.waiters.length >= this.#options.maxWaiters) {
      if (!existing) this.#locks.delete(entry.name);
      return this.#refuse(peer, request.req, "queue_full", request.lock);
    }
    const event: LockEvent = request.mode === "exclusive" ? "acquire_exclusive" : "acquire_shared";
    const result = this.#fire(entry, event, now, {
      may_wait: () => request.wait_ms > 0,
      queue_empty: () => entry.waiters.length === 0,
    });
    switch (result) {
      case "grant":
        this.#grant(entry, session.id, request.req, request.mode, now, now);
        break;
      case "enqueue":
        entry.waiters.push({
          session: session.id,
          req: request.req,
          mode: request.mode,
          since: now,
          deadline: now + request.wait_ms,
        });
        session.waits.add(entry.name);
        this.#port.log.debug("queued", {
          lock: entry.name,
          session: session.id,
          mode: request.mode,
          position: entry.waiters.length,
        });
        this.#send(peer, {
          kind: "queued",
          req: request.req,
          lock: entry.name,
          position: entry.waiters.length,
        });
        break;
      case "refuse_held":
      case "refuse_delay":
        this.#send(peer, {
          kind: "not_granted",
          req: request.req,
          lock: entry.name,
          reason: result === "refuse_held" ? "held" : "lock_delay",
        });
        break;
    }
  }

  #release(peer: Uint8Array, request: Extract<LockRequest, { kind: "release" }>, now: number) {
    const session = this.#sessions.get(request.session);
    if (session) this.#touch(session, peer, now);
    const entry = this.#locks.get(request.lock);
    const holder = entry?.holders.get(request.session);
    if (!entry || !holder) return this.#refuse(peer, request.req, "not_holder", request.lock);
    if (holder.token !== request.token) {
      return this.#refuse(peer, request.req, "wrong_token", request.lock);
    }
    this.#dropHolder(entry, holder);
    this.#stats.releases++;
    this.#port.log.debug("released", {
      lock: entry.name,
      session: holder.session,
      token: holder.token,
      held_ms: Math.round(now - holder.grantedAt),
    });
    // Answer first: the next holder's grant may take an fsync.
    this.#send(peer, { kind: "released", req: request.req, lock: entry.name, token: holder.token });
    this.#fire(entry, "release", now, {});
  }

  #dropHolder(entry: LockEntry, holder: Holder): void {
    entry.holders.delete(holder.session);
    this.#sessions.get(holder.session)?.locks.delete(entry.name);
    this.#store.release(entry.name, holder.session);
  }

  #endSession(session: Session, why: "expired" | "closed", now: number): void {
    this.#sessions.delete(session.id);
    const held = [...session.locks];
    this.#store.closeSession(session.id);
    if (why === "expired") this.#stats.expired_sessions++;
    const event = why === "expired" ? "session_expired" : "session_closed";
    const fields = {
      session: session.id,
      locks: held,
      silent_ms: Math.round(now - session.lastSeen),
    };
    // A session that held and waited for nothing is noise a client can make at will (open
    // 10 000 sessions, go silent): rate-limited. One that held a lock is always logged.
    if (held.length > 0 || session.waits.size > 0) this.#port.log.info(event, fields);
    else this.#port.log.limited("info", event, fields, `${event}:idle`);
    for (const name of session.waits) {
      const entry = this.#locks.get(name);
      if (!entry) continue;
      entry.waiters = entry.waiters.filter((w) => w.session !== session.id);
      // Leaving the queue may let shared waiters behind it in; an empty entry is dropped.
      this.#fire(entry, "wait_timeout", now, {});
    }
    for (const name of held) {
      const entry = this.#locks.get(name);
      const holder = entry?.holders.get(session.id);
      if (!entry || !holder) continue;
      entry.holders.delete(session.id);
      if (why === "expired") {
        this.#port.log.info("lock_expired", {
          lock: name,
          session: session.id,
          token: holder.token,
        });
      }
      this.#fire(entry, why === "expired" ? "expire" : "release", now, {});
    }
  }

  /** Fires `event` on `entry` and performs the shared actions; returns the action. */
  #fire(
    entry: LockEntry,
    event: LockEvent,
    now: number,
    extra: Record<string, () => boolean>,
  ): LockAction | undefined {
    const head = entry.waiters[0];
    const result = step(LOCK_TABLE, entry.state, event, {
      others_hold: () => entry.holders.size > 0,
      head_exclusive: () => head?.mode === "exclusive",
      head_shared: () => head?.mode === "shared",
      delay_on: () => this.#options.lockDelayMs > 0,
      ...extra,
    });
    if (!result.ok) {
      // A state the table does not allow here: keep the lock as it is, loudly.
      this.#port.log.error("lock_transition_refused", {
        lock: entry.name,
        state: entry.state,
        event,
        reason: result.reason,
      });
      return undefined;
    }
    entry.state = result.next;
    switch (result.action) {
      case "grant_head": {
        const waiter = entry.waiters.shift()!;
        this.#grantWaiter(entry, waiter, now);
        break;
      }
      case "grant_shared_run":
        while (entry.waiters[0]?.mode === "shared") {
          this.#grantWaiter(entry, entry.waiters.shift()!, now);
        }
        break;
      case "start_delay":
        entry.delayUntil = now + this.#options.lockDelayMs;
        this.#port.log.info("lock_delay", {
          lock: entry.name,
          delay_ms: this.#options.lockDelayMs,
        });
        break;
      case "keep":
        if (entry.state === "delayed" || entry.holders.size > 0 || entry.waiters.length > 0) break;
        this.#locks.delete(entry.name);
        break;
      case "forget":
        this.#locks.delete(entry.name);
        break;
    }
    return result.action;
  }

  #grantWaiter(entry: LockEntry, waiter: Waiter, now: number): void {
    this.#sessions.get(waiter.session)?.waits.delete(entry.name);
    this.#grant(entry, waiter.session, waiter.req, waiter.mode, now, waiter.since);
  }

  #grant(
    entry: LockEntry,
    sessionId: string,
    req: number,
    mode: Mode,
    now: number,
    since: number,
  ): void {
    const token = entry.token + 1;
    // Durable before anyone hears of it: a restart never hands out this token again.
    this.#store.grant({ lock: entry.name, session: sessionId, token, mode });
    entry.token = token;
    entry.holders.set(sessionId, { session: sessionId, token, mode, grantedAt: now });
    this.#sessions.get(sessionId)?.locks.add(entry.name);
    this.#stats.grants++;
    this.#port.log.debug("granted", {
      lock: entry.name,
      session: sessionId,
      token,
      mode,
      waited_ms: Math.round(now - since),
    });
    this.#toSession(sessionId, { kind: "granted", req, lock: entry.name, token, mode });
  }

  #toSession(id: string, reply: LockReply): void {
    const peer = this.#sessions.get(id)?.peer;
    if (peer) this.#send(peer, reply);
  }

  #refuse(peer: Uint8Array, req: number, reason: string, lock?: string): void {
    this.#stats.refused++;
    this.#port.log.limited("info", "refused", { reason, lock }, reason);
    this.#send(
      peer,
      lock === undefined ? { kind: "refused", req, reason } : {
        kind: "refused",
        req,
        reason,
        lock,
      },
    );
  }

  #send(peer: Uint8Array, reply: LockReply): void {
    try {
      this.#port.send(peer, reply);
    } catch {
      this.#stats.send_failed++;
    }
  }
}
