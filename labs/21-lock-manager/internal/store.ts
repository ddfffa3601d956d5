/**
 * Where lock_server keeps what must survive a restart: the last fencing token of every lock
 * ever granted (so tokens stay monotonic), the open sessions and the current holders.
 * Waiters and lease times are not stored: waiting clients re-send their `acquire`, and a
 * recovered lease starts its TTL afresh.
 *
 * `SqliteLockStore` is `node:sqlite` in WAL mode with `synchronous=FULL`: a grant is on disk
 * (fsync) before its reply is sent. `MemoryLockStore` is the same contract for unit tests
 * (reuse one instance across two tables to simulate a restart).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Mode } from "./protocol.ts";

/** A holder as stored. */
export interface StoredHolder {
  lock: string;
  session: string;
  token: number;
  mode: Mode;
}

/** Everything a restarted server needs. */
export interface Recovered {
  sessions: string[];
  holders: StoredHolder[];
}

/** The durable state of the lock table. Every write is durable when it returns. */
export interface LockStore {
  /** The sessions and holders stored. */
  load(): Recovered;
  /** The last token granted for `lock` (0 if never). */
  lastToken(lock: string): number;
  /** Records a grant: the lock's last token becomes `token` and the holder is added. */
  grant(holder: StoredHolder): void;
  /** Removes one holder (release or expiry). */
  release(lock: string, session: string): void;
  /** Records an open session. */
  openSession(session: string): void;
  /** Removes a session and every lock it held. */
  closeSession(session: string): void;
  /** Closes the store. */
  close(): void;
}

/**
 * An in-memory {@link LockStore} (tests; `lock_server --db :memory:` uses SQLite's own).
 *
 * @example
 * ```ts
 * import { MemoryLockStore } from "./store.ts";
 * const store = new MemoryLockStore();
 * store.openSession("s1");
 * store.grant({ lock: "a", session: "s1", token: 1, mode: "exclusive" });
 * store.lastToken("a"); // 1
 * ```
 */
export class MemoryLockStore implements LockStore {
  readonly tokens = new Map<string, number>();
  readonly sessions = new Set<string>();
  readonly holders = new Map<string, StoredHolder>();

  load(): Recovered {
    return { sessions: [...this.sessions], holders: [...this.holders.values()] };
  }
  lastToken(lock: string): number {
    return this.tokens.get(lock) ?? 0;
  }
  grant(holder: StoredHolder): void {
    this.tokens.set(holder.lock, Math.max(this.lastToken(holder.lock), holder.token));
    this.holders.set(`${holder.lock}\0${holder.session}`, { ...holder });
  }
  release(lock: string, session: string): void {
    this.holders.delete(`${lock}\0${session}`);
  }
  openSession(session: string): void {
    this.sessions.add(session);
  }
  closeSession(session: string): void {
    this.sessions.delete(session);
    for (const [key, h] of this.holders) if (h.session === session) this.holders.delete(key);
  }
  close(): void {}
}

/**
 * The SQLite {@link LockStore}: WAL, `synchronous=FULL` (or OFF with `fsync: false`, for the
 * bench's comparison only).
 *
 * @example
 * ```ts
 * import { SqliteLockStore } from "./store.ts";
 * const store = new SqliteLockStore(":memory:");
 * store.openSession("s1");
 * store.grant({ lock: "a", session: "s1", token: 7, mode: "shared" });
 * store.load().holders.length; // 1
 * store.close();
 * ```
 */
export class SqliteLockStore implements LockStore {
  readonly #db: DatabaseSync;
  readonly #lastToken: StatementSync;
  readonly #setToken: StatementSync;
  readonly #addHolder: StatementSync;
  readonly #delHolder: StatementSync;
  readonly #addSession: StatementSync;
  readonly #delSession: StatementSync;
  readonly #delSessionHolders: StatementSync;
  #closed = false;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${options.fsync === false ? "OFF" : "FULL"};
      CREATE TABLE IF NOT EXISTS tokens (lock TEXT PRIMARY KEY, token INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS holders (
        lock TEXT NOT NULL,
        session TEXT NOT NULL,
        token INTEGER NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('exclusive', 'shared')),
        PRIMARY KEY (lock, session)
      );
    `);
    this.#lastToken = this.#db.prepare("SELECT token FROM tokens WHERE lock = ?");
    this.#setToken = this.#db.prepare(
      "INSERT INTO tokens (lock, token) VALUES (?, ?) ON CONFLICT (lock) DO UPDATE SET token = max(token, excluded.token)",
    );
    this.#addHolder = this.#db.prepare(
      "INSERT OR REPLACE INTO holders (lock, session, token, mode) VALUES (?, ?, ?, ?)",
    );
    this.#delHolder = this.#db.prepare("DELETE FROM holders WHERE lock = ? AND session = ?");
    this.#addSession = this.#db.prepare("INSERT OR IGNORE INTO sessions (id) VALUES (?)");
    this.#delSession = this.#db.prepare("DELETE FROM sessions WHERE id = ?");
    this.#delSessionHolders = this.#db.prepare("DELETE FROM holders WHERE session = ?");
  }

  load(): Recovered {
    const sessions = (this.#db.prepare("SELECT id FROM sessions").all() as { id: string }[])
      .map((row) => row.id);
    const holders = this.#db.prepare("SELECT lock, session, token, mode FROM holders")
      .all() as unknown as StoredHolder[];
    return { sessions, holders: holders.map((h) => ({ ...h, token: Number(h.token) })) };
  }

  lastToken(lock: string): number {
    const row = this.#lastToken.get(lock) as { token: number } | undefined;
    return row ? Number(row.token) : 0;
  }

  grant(holder: StoredHolder): void {
    this.#tx(() => {
      this.#setToken.run(holder.lock, holder.token);
      this.#addHolder.run(holder.lock, holder.session, holder.token, holder.mode);
    });
  }

  release(lock: string, session: string): void {
    this.#delHolder.run(lock, session);
  }

  openSession(session: string): void {
    this.#addSession.run(session);
  }

  closeSession(session: string): void {
    this.#tx(() => {
      this.#delSessionHolders.run(session);
      this.#delSession.run(session);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #tx(fn: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      fn();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
