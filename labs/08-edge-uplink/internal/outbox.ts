/**
 * The device's bounded on-disk queue of readings not yet acknowledged (`node:sqlite`, WAL):
 * every reading is written here first (store-and-forward), read back in seq order to send,
 * and deleted once a receiver acknowledged it. It survives a device restart, with its
 * numbering (`epoch` + next seq) and what it holds.
 *
 * Bounded: at most `capacity` readings. When full, `drop-oldest` deletes the oldest to make
 * room (each counted, persistently), `block` refuses new readings (the sensor waits).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Reading } from "./protocol.ts";

/** What happens to a new reading when the queue is full. */
export type OverflowPolicy = "drop-oldest" | "block";

/** Outcome of {@link Outbox.append}. */
export interface AppendResult {
  /** Readings stored (with their seqs). */
  appended: Reading[];
  /** Oldest readings deleted to make room (drop-oldest). */
  dropped: number;
  /** Readings refused because the queue was full (block). */
  refused: number;
}

/**
 * The queue.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const box = new Outbox(":memory:", { capacity: 2, overflow: "drop-oldest" });
 * box.append([{ t: 1, v: 1 }, { t: 2, v: 2 }, { t: 3, v: 3 }]); // drops seq 0
 * box.read(0, 10).map((r) => r.seq); // [1, 2]
 * box.ackUpTo(1);
 * box.close();
 * ```
 */
export class Outbox {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  /** Identity of this store's numbering. */
  readonly epoch: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #read: StatementSync;
  readonly #setMeta: StatementSync;
  #nextSeq: number;
  #count: number;
  #oldest: number | null;
  #dropped: number;
  #closed = false;

  constructor(
    path: string,
    options: { capacity: number; overflow: OverflowPolicy },
  ) {
    if (!(Number.isInteger(options.capacity) && options.capacity >= 1)) {
      throw new RangeError(
        `capacity: expected an integer >= 1, got ${options.capacity}`,
      );
    }
    this.capacity = options.capacity;
    this.overflow = options.overflow;
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    // NORMAL in WAL: a commit survives the process crashing (not a power cut).
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, taken_at REAL NOT NULL, value REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    const meta = (key: string) =>
      (this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
        | { value: string }
        | undefined)?.value;
    this.#setMeta = this.#db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    let epoch = meta("epoch");
    if (!epoch) {
      epoch = crypto.randomUUID().slice(0, 8);
      this.#setMeta.run("epoch", epoch);
    }
    this.epoch = epoch;
    this.#nextSeq = Number(meta("next_seq") ?? 0);
    this.#dropped = Number(meta("dropped") ?? 0);
    const stats = this.#db.prepare(
      "SELECT COUNT(*) AS n, MIN(seq) AS lo FROM outbox",
    ).get() as {
      n: number;
      lo: number | null;
    };
    this.#count = Number(stats.n);
    this.#oldest = stats.lo === null ? null : Number(stats.lo);
    this.#insert = this.#db.prepare(
      "INSERT INTO outbox (seq, taken_at, value) VALUES (?, ?, ?)",
    );
    this.#read = this.#db.prepare(
      "SELECT seq, taken_at AS t, value AS v FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?",
    );
  }

  /** Readings held. */
  get size(): number {
    return this.#count;
  }

  /** Room left. */
  get free(): number {
    return this.capacity - this.#count;
  }

  /** The next seq to be given out. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Oldest seq held (the `floor` a batch carries), or null when empty. */
  get oldest(): number | null {
    return this.#oldest;
  }

  /** The floor: oldest seq held, or the next seq when empty (nothing below it will be sent). */
  get floor(): number {
    return this.#oldest ?? this.#nextSeq;
  }

  /** Readings dropped by drop-oldest, ever (persisted). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Numbers and stores readings (one transaction), applying the overflow policy. */
  append(values: { t: number; v: number }[]): AppendResult {
    let accepted = values;
    let refused = 0;
    let dropped = 0;
    if (this.overflow === "block") {
      accepted = values.slice(0, Math.max(0, this.free));
      refused = values.length - accepted.length;
    } else if (values.length > this.capacity) {
      // More than fits at all: the oldest of the new ones go straight away.
      dropped = values.length - this.capacity;
      this.#nextSeq += dropped;
      accepted = values.slice(dropped);
    }
    const appended: Reading[] = [];
    this.#db.exec("BEGIN");
    try {
      const over = this.#count + accepted.length - this.capacity;
      if (over > 0) {
        this.#db.prepare(
          "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
        ).run(over);
        this.#count -= over;
        dropped += over;
      }
      for (const { t, v } of accepted) {
        const seq = this.#nextSeq++;
        this.#insert.run(seq, t, v);
        appended.push({ seq, t, v });
      }
      this.#count += appended.length;
      this.#dropped += dropped;
      this.#setMeta.run("next_seq", String(this.#nextSeq));
      if (dropped > 0) this.#setMeta.run("dropped", String(this.#dropped));
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#refreshOldest();
    return { appended, dropped, refused };
  }

  /** Up to `limit` readings from seq `from` on, in order. */
  read(from: number, limit: number): Reading[] {
    return (this.#read.all(from, limit) as {
      seq: number;
      t: number;
      v: number;
    }[]).map((r) => ({
      seq: Number(r.seq),
      t: Number(r.t),
      v: Number(r.v),
    }));
  }

  /** Deletes every reading up to `seq` (acknowledged); returns how many went. */
  ackUpTo(seq: number): number {
    if (this.#oldest === null || seq < this.#oldest) return 0;
    const result = this.#db.prepare("DELETE FROM outbox WHERE seq <= ?").run(
      seq,
    );
    const removed = Number(result.changes);
    this.#count -= removed;
    this.#refreshOldest();
    return removed;
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #refreshOldest(): void {
    if (this.#count === 0) {
      this.#oldest = null;
      return;
    }
    const row = this.#db.prepare("SELECT MIN(seq) AS lo FROM outbox").get() as {
      lo: number;
    };
    this.#oldest = Number(row.lo);
  }
}
