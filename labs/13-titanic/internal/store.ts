/**
 * The durable request/reply store behind storage_service (`node:sqlite`, WAL, with
 * `synchronous=FULL` a commit is on disk before it returns: a UUID or a 200 handed out after
 * it survives a kill -9 or a power cut; `fsync: false` is `synchronous=OFF`, for the bench).
 *
 * One row per request: `pending` (with `attempts` and `next_at`, the wall-clock time of its
 * next dispatch, so backoff survives restarts), `done` (the first reply stored wins: a
 * request dispatched twice is never answered with two results) or `dead` (with the reason).
 * `remove` (titanic.close) deletes the row and is idempotent. `begin`/`commit` group several
 * writes into one transaction (one fsync), for storage_service's group commit.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { decode, encode, s } from "@lib/codec/mod.ts";

/** What `titanic.reply` can learn about a UUID. */
export type Lookup =
  | { state: "pending"; attempts: number }
  | { state: "done"; body: Uint8Array[] }
  | { state: "dead"; attempts: number; reason: string }
  | { state: "unknown" };

/** A pending request due for dispatch. */
export interface DueRequest {
  uuid: string;
  service: string;
  body: Uint8Array[];
  /** Failed attempts so far. */
  attempts: number;
}

/** Row counts by state. */
export interface StoreCounts {
  pending: number;
  done: number;
  dead: number;
}

const Frames = s.array(s.bytes(), { max: 10_000 });

/**
 * Opens (and creates) the store.
 *
 * @example
 * ```ts
 * import { TitanicStore } from "./store.ts";
 * const store = new TitanicStore(":memory:");
 * store.putRequest("0123456789abcdef0123456789abcdef", "echo", [new Uint8Array([1])], 0);
 * store.lookup("0123456789abcdef0123456789abcdef").state; // "pending"
 * store.close();
 * ```
 */
export class TitanicStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #reply: StatementSync;
  readonly #fail: StatementSync;
  readonly #dead: StatementSync;
  readonly #delete: StatementSync;
  readonly #due: StatementSync;
  #closed = false;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${options.fsync === false ? "OFF" : "FULL"};
      CREATE TABLE IF NOT EXISTS requests (
        uuid TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        body BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        reason TEXT,
        reply BLOB
      );
      CREATE INDEX IF NOT EXISTS requests_due ON requests (state, next_at);
    `);
    this.#insert = this.#db.prepare(
      "INSERT OR IGNORE INTO requests (uuid, service, body, created_at, state, next_at) VALUES (?, ?, ?, ?, 'pending', ?)",
    );
    this.#get = this.#db.prepare(
      "SELECT state, attempts, reason, reply FROM requests WHERE uuid = ?",
    );
    this.#reply = this.#db.prepare(
      "UPDATE requests SET state = 'done', reply = ? WHERE uuid = ? AND state = 'pending'",
    );
    this.#fail = this.#db.prepare(
      "UPDATE requests SET attempts = attempts + 1, next_at = ?, reason = ? WHERE uuid = ? AND state = 'pending'",
    );
    this.#dead = this.#db.prepare(
      "UPDATE requests SET attempts = attempts + 1, state = 'dead', reason = ? WHERE uuid = ? AND state = 'pending'",
    );
    this.#delete = this.#db.prepare("DELETE FROM requests WHERE uuid = ?");
    this.#due = this.#db.prepare(
      "SELECT uuid, service, body, attempts FROM requests WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, created_at LIMIT ?",
    );
  }

  /** Stores a new request (durable when this returns); false if the UUID existed. */
  putRequest(uuid: string, service: string, body: Uint8Array[], now: number): boolean {
    return Number(this.#insert.run(uuid, service, encode(body), now, now).changes) === 1;
  }

  /** What is known about `uuid`. */
  lookup(uuid: string): Lookup {
    const row = this.#get.get(uuid) as
      | { state: string; attempts: number; reason: string | null; reply: Uint8Array | null }
      | undefined;
    if (!row) return { state: "unknown" };
    if (row.state === "done") return { state: "done", body: decode(row.reply!, Frames) };
    if (row.state === "dead") {
      return { state: "dead", attempts: row.attempts, reason: row.reason ?? "" };
    }
    return { state: "pending", attempts: row.attempts };
  }

  /**
   * Stores the reply of a pending request (durable when this returns). The first reply wins:
   * returns the body that is stored now (this one, or the earlier one), or undefined when the
   * request is unknown (closed) or dead.
   */
  putReply(uuid: string, body: Uint8Array[]): Uint8Array[] | undefined {
    this.#reply.run(encode(body), uuid);
    const now = this.lookup(uuid);
    return now.state === "done" ? now.body : undefined;
  }

  /**
   * Records a failed attempt: retried at `retryAt` (wall-clock ms), or dead-lettered when
   * `retryAt` is null. False when the request is no longer pending.
   */
  fail(uuid: string, reason: string, retryAt: number | null): boolean {
    const result = retryAt === null
      ? this.#dead.run(reason, uuid)
      : this.#fail.run(retryAt, reason, uuid);
    return Number(result.changes) === 1;
  }

  /** Deletes the request and its reply (`titanic.close`); idempotent. */
  remove(uuid: string): void {
    this.#delete.run(uuid);
  }

  /** Up to `limit` pending requests due at `now`, oldest first, skipping `exclude`. */
  due(now: number, limit: number, exclude: ReadonlySet<string> = new Set()): DueRequest[] {
    const rows = this.#due.all(now, limit + exclude.size) as {
      uuid: string;
      service: string;
      body: Uint8Array;
      attempts: number;
    }[];
    return rows.filter((r) => !exclude.has(r.uuid)).slice(0, limit).map((r) => ({
      uuid: r.uuid,
      service: r.service,
      body: decode(r.body, Frames),
      attempts: r.attempts,
    }));
  }

  /**
   * Starts a write transaction for a group commit: the writes until {@linkcode commit} are
   * made durable together (one fsync); nothing is answered before the commit.
   */
  begin(): void {
    if (!this.#db.isTransaction) this.#db.exec("BEGIN IMMEDIATE");
  }

  /** Commits the group (durable when this returns); a no-op outside a transaction. */
  commit(): void {
    if (this.#db.isTransaction) this.#db.exec("COMMIT");
  }

  /** Abandons the group after a failed commit. */
  rollback(): void {
    if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
  }

  /** Rows by state. */
  counts(): StoreCounts {
    const counts: StoreCounts = { pending: 0, done: 0, dead: 0 };
    const rows = this.#db.prepare("SELECT state, COUNT(*) AS n FROM requests GROUP BY state")
      .all() as { state: keyof StoreCounts; n: number }[];
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
