/**
 * The alert sink's store (`node:sqlite`, WAL, `synchronous=FULL`): one row per alert id, a
 * second delivery of the same id is ignored, so the store holds each alert exactly once.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { Alert } from "./protocol.ts";

/** A stored alert and the channel it came on. */
export interface StoredAlert extends Alert {
  channel: string;
  stored_at: string;
}

/** Alerts on disk, deduplicated by id. */
export class AlertStore {
  readonly #db: DatabaseSync;
  readonly #insert;

  /**
   * @example
   * ```ts
   * import { AlertStore } from "./alert_store.ts";
   * const store = new AlertStore(":memory:");
   * console.log(store.count()); // 0
   * store.close();
   * ```
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, ts INTEGER NOT NULL, host TEXT NOT NULL,
        rule TEXT NOT NULL, severity TEXT NOT NULL, reason TEXT NOT NULL, channel TEXT NOT NULL,
        stored_at TEXT NOT NULL);
    `);
    this.#insert = this.#db.prepare(
      `INSERT OR IGNORE INTO alerts (alert_id, event_id, ts, host, rule, severity, reason, channel,
       stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Stores an alert; false when its id was stored before. */
  add(alert: Alert, channel: string, now = new Date()): boolean {
    const r = this.#insert.run(
      alert.alert_id,
      alert.event_id,
      alert.ts,
      alert.host,
      alert.rule,
      alert.severity,
      alert.reason,
      channel,
      now.toISOString(),
    );
    return Number(r.changes) === 1;
  }

  /** Alerts stored. */
  count(): number {
    return Number((this.#db.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n);
  }

  /** Counts per rule and severity. */
  summary(): { rule: string; severity: string; n: number }[] {
    return this.#db.prepare(
      "SELECT rule, severity, count(*) AS n FROM alerts GROUP BY rule, severity ORDER BY rule, severity",
    ).all().map((r) => ({ rule: String(r.rule), severity: String(r.severity), n: Number(r.n) }));
  }

  /** The latest alerts, newest first. */
  latest(limit: number): StoredAlert[] {
    return this.#db.prepare("SELECT * FROM alerts ORDER BY rowid DESC LIMIT ?").all(limit)
      .map((r) => ({ ...r, ts: Number(r.ts) }) as unknown as StoredAlert);
  }

  /** Alert ids, sorted, at most `limit` (for checks). */
  ids(limit = 10_000): string[] {
    return this.#db.prepare("SELECT alert_id FROM alerts ORDER BY alert_id LIMIT ?").all(limit)
      .map((r) => String(r.alert_id));
  }

  /** Deletes the oldest alerts beyond `max` (the store stays bounded); returns how many. */
  prune(max: number): number {
    const r = this.#db.prepare(
      "DELETE FROM alerts WHERE rowid <= (SELECT max(rowid) FROM alerts) - ?",
    ).run(max);
    return Number(r.changes);
  }

  close(): void {
    this.#db.close();
  }
}
