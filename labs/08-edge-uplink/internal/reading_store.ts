/**
 * The receiver's durable store (`node:sqlite`, WAL, `synchronous=FULL`: a commit is on disk
 * before it returns, so an ack sent after it survives a kill -9 or a power cut).
 *
 * Several receivers may share one database file (the central storage behind them): each
 * batch is judged and stored inside one `BEGIN IMMEDIATE` transaction, which takes the
 * write lock first, so two receivers never judge the same device's position at once.
 * Batches that arrive together are stored in one transaction (group commit: one fsync).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type BatchVerdict, type DevicePosition, judgeBatch } from "./ingest.ts";
import type { Batch } from "./protocol.ts";

/** One device's durable counters. */
export interface DeviceRow {
  device: string;
  epoch: string;
  lastSeq: number;
  stored: number;
  duplicates: number;
  missing: number;
  restarts: number;
  /** When its latest stored reading was taken (device wall clock, ms). */
  lastTakenAt: number;
  /** When its latest reading was stored (receiver wall clock, ms). */
  lastStoredAt: number;
}

/** A batch's verdict as stored. */
export interface StoredBatch extends BatchVerdict {
  device: string;
  epoch: string;
}

/**
 * Opens (and creates) the store.
 *
 * @example
 * ```ts
 * import { ReadingStore } from "./reading_store.ts";
 * const store = new ReadingStore(":memory:", "r1");
 * store.storeBatches([{ device: "d", epoch: "e", floor: 0, readings: [{ seq: 0, t: 1, v: 2 }] }], 5);
 * store.close();
 * ```
 */
export class ReadingStore {
  readonly #db: DatabaseSync;
  readonly #receiver: string;
  readonly #getDevice: StatementSync;
  readonly #insert: StatementSync;
  readonly #upsert: StatementSync;
  #closed = false;

  constructor(path: string, receiver: string) {
    this.#receiver = receiver;
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS readings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
        taken_at REAL NOT NULL, value REAL NOT NULL,
        stored_at INTEGER NOT NULL, receiver TEXT NOT NULL,
        UNIQUE (device, epoch, seq)
      );
      CREATE TABLE IF NOT EXISTS devices (
        device TEXT PRIMARY KEY, epoch TEXT NOT NULL, last_seq INTEGER NOT NULL,
        stored INTEGER NOT NULL, duplicates INTEGER NOT NULL, missing INTEGER NOT NULL,
        restarts INTEGER NOT NULL, last_taken_at REAL NOT NULL, last_stored_at INTEGER NOT NULL
      );
    `);
    this.#getDevice = this.#db.prepare(
      "SELECT * FROM devices WHERE device = ?",
    );
    this.#insert = this.#db.prepare(
      "INSERT OR IGNORE INTO readings (device, epoch, seq, taken_at, value, stored_at, receiver) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#upsert = this.#db.prepare(`
      INSERT INTO devices (device, epoch, last_seq, stored, duplicates, missing, restarts, last_taken_at, last_stored_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (device) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq,
        stored = excluded.stored, duplicates = excluded.duplicates, missing = excluded.missing,
        restarts = excluded.restarts, last_taken_at = excluded.last_taken_at,
        last_stored_at = excluded.last_stored_at`);
  }

  /** One device's counters (undefined if never stored). */
  device(device: string): DeviceRow | undefined {
    const row = this.#getDevice.get(device) as
      | Record<string, number | string>
      | undefined;
    return row && toDeviceRow(row);
  }

  /** Every device's counters. */
  devices(): DeviceRow[] {
    return (this.#db.prepare("SELECT * FROM devices ORDER BY device")
      .all() as Record<
        string,
        number | string
      >[]).map(toDeviceRow);
  }

  /**
   * Judges and stores the batches in one transaction (durable when this returns); returns
   * each batch's verdict, in order.
   */
  storeBatches(batches: Batch[], now: number = Date.now()): StoredBatch[] {
    const out: StoredBatch[] = [];
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const batch of batches) {
        const row = this.device(batch.device);
        const position: DevicePosition | undefined = row &&
          { epoch: row.epoch, lastSeq: row.lastSeq };
        const verdict = judgeBatch(position, batch);
        for (const r of verdict.store) {
          this.#insert.run(
            batch.device,
            batch.epoch,
            r.seq,
            r.t,
            r.v,
            now,
            this.#receiver,
          );
        }
        const last = verdict.store.at(-1);
        this.#upsert.run(
          batch.device,
          batch.epoch,
          verdict.upto,
          (row?.stored ?? 0) + verdict.store.length,
          (row?.duplicates ?? 0) + verdict.duplicates,
          (row?.missing ?? 0) + verdict.missing,
          (row?.restarts ?? 0) + (verdict.restart && row ? 1 : 0),
          last ? last.t : (row?.lastTakenAt ?? 0),
          last ? now : (row?.lastStoredAt ?? 0),
        );
        out.push({ ...verdict, device: batch.device, epoch: batch.epoch });
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    return out;
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function toDeviceRow(row: Record<string, number | string>): DeviceRow {
  return {
    device: String(row.device),
    epoch: String(row.epoch),
    lastSeq: Number(row.last_seq),
    stored: Number(row.stored),
    duplicates: Number(row.duplicates),
    missing: Number(row.missing),
    restarts: Number(row.restarts),
    lastTakenAt: Number(row.last_taken_at),
    lastStoredAt: Number(row.last_stored_at),
  };
}
