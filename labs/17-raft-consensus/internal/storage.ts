/**
 * Durable Raft state in `node:sqlite` (WAL, `synchronous=FULL`: a transaction is on disk
 * when `commit` returns): the hard state (currentTerm, votedFor), the log and the latest
 * snapshot. {@link RaftStorage.write} applies one ready batch's persist ops in one
 * transaction, so the driver fsyncs once per batch (group commit) and only then sends the
 * batch's messages and answers.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { decode, encode } from "@lib/codec/mod.ts";
import { Command, type Entry } from "./protocol.ts";
import type { PersistedState, PersistOp } from "./raft.ts";

/**
 * The node's disk.
 *
 * @example
 * ```ts
 * import { RaftStorage } from "./storage.ts";
 * const disk = new RaftStorage(":memory:");
 * disk.write([{ kind: "hard_state", term: 3, votedFor: "n2" }]);
 * disk.load().term; // 3
 * disk.close();
 * ```
 */
export class RaftStorage {
  readonly #db: DatabaseSync;
  readonly #hard: StatementSync;
  readonly #insert: StatementSync;
  readonly #truncate: StatementSync;
  readonly #snap: StatementSync;
  readonly #compact: StatementSync;
  #closed = false;
  /** Transactions written (each one fsync). */
  writes = 0;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.#db = new DatabaseSync(path, { timeout: 10_000 });
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${options.fsync === false ? "OFF" : "FULL"};
      CREATE TABLE IF NOT EXISTS hard_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        term INTEGER NOT NULL,
        voted_for TEXT
      );
      CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, command BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS snapshot (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        idx INTEGER NOT NULL,
        term INTEGER NOT NULL,
        data BLOB NOT NULL
      );
    `);
    this.#hard = this.#db.prepare(
      "INSERT INTO hard_state (id, term, voted_for) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET term = excluded.term, voted_for = excluded.voted_for",
    );
    this.#insert = this.#db.prepare(
      "INSERT OR REPLACE INTO log (idx, term, command) VALUES (?, ?, ?)",
    );
    this.#truncate = this.#db.prepare("DELETE FROM log WHERE idx >= ?");
    this.#snap = this.#db.prepare(
      "INSERT INTO snapshot (id, idx, term, data) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET idx = excluded.idx, term = excluded.term, data = excluded.data",
    );
    this.#compact = this.#db.prepare("DELETE FROM log WHERE idx <= ?");
  }

  /** Everything persisted, to start the node from. */
  load(): PersistedState {
    const hard = this.#db.prepare("SELECT term, voted_for FROM hard_state WHERE id = 1").get() as
      | { term: number; voted_for: string | null }
      | undefined;
    const snap = this.#db.prepare("SELECT idx, term, data FROM snapshot WHERE id = 1").get() as
      | { idx: number; term: number; data: Uint8Array }
      | undefined;
    const rows = this.#db.prepare("SELECT idx, term, command FROM log ORDER BY idx").all() as {
      idx: number;
      term: number;
      command: Uint8Array;
    }[];
    return {
      term: hard?.term ?? 0,
      votedFor: hard?.voted_for ?? null,
      snapshot: snap ? { index: snap.idx, term: snap.term, data: new Uint8Array(snap.data) } : null,
      entries: rows.map((r): Entry => ({
        index: r.idx,
        term: r.term,
        command: decode(r.command, Command),
      })),
    };
  }

  /** Applies persist ops in one durable transaction (nothing to do: no transaction). */
  write(ops: readonly PersistOp[]): void {
    if (ops.length === 0) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const op of ops) {
        switch (op.kind) {
          case "hard_state":
            this.#hard.run(op.term, op.votedFor);
            break;
          case "append":
            this.#truncate.run(op.entries[0].index);
            for (const e of op.entries) this.#insert.run(e.index, e.term, encode(e.command));
            break;
          case "truncate":
            this.#truncate.run(op.from);
            break;
          case "snapshot":
            this.#snap.run(op.index, op.term, op.data);
            this.#compact.run(op.index);
            break;
        }
      }
      this.#db.exec("COMMIT");
      this.writes++;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
