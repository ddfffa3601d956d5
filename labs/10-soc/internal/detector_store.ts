/**
 * The detector's history in SQLite (`node:sqlite`, WAL, `synchronous=FULL`): every scored
 * event and its verdict are committed before the verdict is sent, so a detector killed at
 * any point and restarted on the same file answers a retried request with the same verdict.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { decode, encode } from "@lib/codec/mod.ts";
import type { DetectorStore } from "./detector.ts";
import { type Event, Verdict } from "./protocol.ts";

/** A {@linkcode DetectorStore} on a SQLite file (`:memory:` for a throwaway one). */
export class SqliteDetectorStore implements DetectorStore {
  readonly #db: DatabaseSync;
  readonly #verdict;
  readonly #failed;
  readonly #conns;
  readonly #raised;
  readonly #insertEvent;
  readonly #insertRaised;

  /**
   * @example
   * ```ts
   * import { SqliteDetectorStore } from "./detector_store.ts";
   * const store = new SqliteDetectorStore(":memory:");
   * console.log(store.verdict("nope")); // undefined
   * store.close();
   * ```
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, host TEXT NOT NULL,
        src TEXT, dst TEXT, ok INTEGER, verdict BLOB NOT NULL);
      CREATE INDEX IF NOT EXISTS events_login ON events (src, ts) WHERE kind = 'login' AND ok = 0;
      CREATE INDEX IF NOT EXISTS events_conn ON events (host, dst, ts) WHERE kind = 'conn';
      CREATE TABLE IF NOT EXISTS raised (key TEXT PRIMARY KEY, ts INTEGER NOT NULL);
    `);
    this.#verdict = this.#db.prepare("SELECT verdict FROM events WHERE id = ?");
    this.#failed = this.#db.prepare(
      "SELECT count(*) AS n FROM events WHERE kind = 'login' AND ok = 0 AND src = ? AND ts > ? AND ts <= ?",
    );
    this.#conns = this.#db.prepare(
      "SELECT ts FROM events WHERE kind = 'conn' AND host = ? AND dst = ? ORDER BY ts DESC LIMIT ?",
    );
    this.#raised = this.#db.prepare("SELECT ts FROM raised WHERE key = ?");
    this.#insertEvent = this.#db.prepare(
      "INSERT INTO events (id, ts, kind, host, src, dst, ok, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#insertRaised = this.#db.prepare(
      "INSERT INTO raised (key, ts) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET ts = excluded.ts",
    );
  }

  verdict(id: string): Verdict | undefined {
    const row = this.#verdict.get(id) as { verdict: Uint8Array } | undefined;
    return row ? decode(row.verdict, Verdict) : undefined;
  }

  failedLogins(src: string, fromTs: number, toTs: number): number {
    return Number((this.#failed.get(src, fromTs, toTs) as { n: number }).n);
  }

  connections(host: string, dst: string, n: number): number[] {
    if (n <= 0) return [];
    return (this.#conns.all(host, dst, n) as { ts: number }[]).map((r) => Number(r.ts)).reverse();
  }

  raisedAt(key: string): number | undefined {
    const row = this.#raised.get(key) as { ts: number } | undefined;
    return row ? Number(row.ts) : undefined;
  }

  record(event: Event, verdict: Verdict, raisedKeys: string[]): void {
    this.#insertEvent.run(
      event.id,
      event.ts,
      event.kind,
      event.host,
      event.src ?? null,
      event.dst ?? null,
      event.ok === undefined ? null : event.ok ? 1 : 0,
      encode(verdict),
    );
    for (const key of raisedKeys) this.#insertRaised.run(key, event.ts);
  }

  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Events stored so far. */
  count(): number {
    return Number((this.#db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n);
  }

  close(): void {
    this.#db.close();
  }
}
