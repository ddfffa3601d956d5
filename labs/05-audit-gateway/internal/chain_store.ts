/**
 * The archival store: one hash-chained, append-only NDJSON log shared by every worker, with
 * an on-disk id index beside it.
 *
 * Appends are serialised across processes with an exclusive `flock` on the log file. Under
 * the lock a writer first catches up: it takes the log position (offset, seq, head hash)
 * from the index, indexes any complete lines past it (lines a writer fsynced but died
 * before indexing), cuts off an unterminated tail left by a writer that crashed mid-append
 * (never fsynced, so never acknowledged), then appends its batch's new ids, calls `fsync`
 * (`syncData`), records them and the new position in the index in one transaction, and only
 * then releases the lock and returns the acks. Because the id check happens under the same
 * lock against the whole log, a record id is present at most once in the chain, whichever
 * worker gets it and however often it is retried or re-dispatched after a crash.
 *
 * The index is a `node:sqlite` database at `<log>.idx` (WAL): `ids(id → seq, hash)` plus the
 * log position it covers. It is only a cache of the log: it never runs ahead of it (it is
 * committed after the log's fsync), lines it lacks are indexed on the next catch-up, and
 * when it belongs to another log (the log was replaced) it is rebuilt from the log. So a
 * worker's memory does not grow with the log: the ids live on disk.
 *
 * A line the index says is committed was fsynced and possibly acknowledged: it is never
 * cut or rewritten. When the log no longer carries every committed line intact (a
 * corrupted tail, a truncated or edited log), {@link ChainStore.open} refuses with a
 * {@link ChainDamagedError} naming the first damaged seq, instead of "repairing" it.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { JsonValue } from "./canonical_json.ts";
import { formatEntry, GENESIS_HASH, makeEntry, parseEntry } from "./hash_chain.ts";
/** One record to append. */
export interface StoreItem {
  /** Correlation id (dedup key). */
  id: string;
  /** The audit record. */
  record: JsonValue;
}

/** The durable acknowledgement of one record. */
export interface StoredAck {
  /** Correlation id. */
  id: string;
  /** Position in the chain. */
  seq: number;
  /** The entry's hash. */
  hash: string;
  /** True when the id was already in the chain: this is the original ack. */
  duplicate: boolean;
}

/** Options of {@link ChainStore.open}. */
export interface ChainStoreOptions {
  /** fsync (syncData) before acknowledging (default true; false only for benchmarks). */
  fsync?: boolean;
  /** Clock for entry timestamps (default Date.now). */
  now?: () => number;
  /** Path of the id index (default `<log>.idx`). */
  indexPath?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;
/** Bytes read per step when indexing lines from the log. */
const READ_CHUNK = 1 << 20;
/** A log line ends with `"hash":"<64 hex>"}` and a newline: 75 bytes. */
const TAIL_BYTES = 75;

/**
 * The log no longer carries a line the index says was committed (and so possibly
 * acknowledged): the store refuses to open rather than truncate or overwrite it.
 *
 * @example
 * ```ts
 * try { await ChainStore.open("audit.log"); } catch (e) { if (e instanceof ChainDamagedError) e.seq; }
 * ```
 */
export class ChainDamagedError extends Error {
  /** The first committed seq the log does not carry intact. */
  readonly seq: number;
  /** What is wrong with it. */
  readonly reason: string;
  constructor(path: string, seq: number, reason: string) {
    super(
      `${path}: committed record seq ${seq} is damaged (${reason}); refusing to open: ` +
        `check it with "archival_worker verify", restore the log, or move it and its ` +
        `index aside to start a new log`,
    );
    this.name = "ChainDamagedError";
    this.seq = seq;
    this.reason = reason;
  }
}

interface Position {
  offset: number;
  seq: number;
  head: string;
}

/** The `node:sqlite` id index: id → {seq, hash}, and the log position it covers. */
class IdIndex {
  #db: DatabaseSync;
  #lookup: StatementSync;
  #insert: StatementSync;
  #getPos: StatementSync;
  #setPos: StatementSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA busy_timeout = 10000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS ids (id TEXT PRIMARY KEY, seq INTEGER NOT NULL,
        hash TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS position (k INTEGER PRIMARY KEY CHECK (k = 0),
        offset INTEGER NOT NULL, seq INTEGER NOT NULL, head TEXT NOT NULL);
      INSERT OR IGNORE INTO position VALUES (0, 0, 0, '${GENESIS_HASH}');`);
    this.#lookup = this.#db.prepare("SELECT seq, hash FROM ids WHERE id = ?");
    this.#insert = this.#db.prepare("INSERT OR REPLACE INTO ids VALUES (?, ?, ?)");
    this.#getPos = this.#db.prepare("SELECT offset, seq, head FROM position WHERE k = 0");
    this.#setPos = this.#db.prepare(
      "UPDATE position SET offset = ?, seq = ?, head = ? WHERE k = 0",
    );
  }

  get(id: string): { seq: number; hash: string } | undefined {
    const row = this.#lookup.get(id) as { seq: number; hash: string } | undefined;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }

  position(): Position {
    const row = this.#getPos.get() as { offset: number; seq: number; head: string };
    return { offset: row.offset, seq: row.seq, head: row.head };
  }

  /** Adds entries and moves the position, atomically. */
  commit(entries: Iterable<{ id: string; seq: number; hash: string }>, to: Position): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const e of entries) this.#insert.run(e.id, e.seq, e.hash);
      this.#setPos.run(to.offset, to.seq, to.head);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Forgets everything (the index did not match the log). */
  reset(): void {
    this.#db.exec(`BEGIN IMMEDIATE; DELETE FROM ids;
      UPDATE position SET offset = 0, seq = 0, head = '${GENESIS_HASH}'; COMMIT;`);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * A handle on a shared chain log.
 *
 * @example
 * ```ts
 * await using store = await ChainStore.open("/tmp/audit.log");
 * const [ack] = await store.append([{ id: "r-1", record: { actor: "alice" } }]);
 * ack.seq; // 1 on a new log
 * ```
 */
export class ChainStore {
  #file: Deno.FsFile;
  #path: string;
  #fsync: boolean;
  #now: () => number;
  #offset = 0;
  #seq = 0;
  #head = GENESIS_HASH;
  #index: IdIndex;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(
    path: string,
    file: Deno.FsFile,
    index: IdIndex,
    options: ChainStoreOptions,
  ) {
    this.#path = path;
    this.#file = file;
    this.#index = index;
    this.#fsync = options.fsync ?? true;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Opens (creating if needed) the log at `path` and its id index (`<path>.idx`), checks
   * that the index matches the log (rebuilding it if it belongs to another log; throwing
   * {@link ChainDamagedError} if the log lost or altered a committed line) and catches up.
   */
  static async open(path: string, options: ChainStoreOptions = {}): Promise<ChainStore> {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let index: IdIndex | undefined;
    try {
      // Create the index schema under the log's lock: workers may start at the same time.
      await file.lock(true);
      try {
        index = new IdIndex(options.indexPath ?? `${path}.idx`);
      } finally {
        await file.unlock();
      }
      const store = new ChainStore(path, file, index, options);
      await store.#locked(() => Promise.resolve(), true);
      return store;
    } catch (error) {
      index?.close();
      file.close();
      throw error;
    }
  }

  /** Entries in the log as of the last append or open. */
  get seq(): number {
    return this.#seq;
  }

  /** Hash of the last entry as of the last append or open. */
  get head(): string {
    return this.#head;
  }

  /**
   * Appends the records whose ids are not yet in the chain, makes them durable, and
   * returns one ack per item (in order; a repeated id gets its original seq and hash).
   */
  append(items: StoreItem[]): Promise<StoredAck[]> {
    const run = this.#busy.then(() => this.#locked(() => this.#write(items)));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #locked<T>(fn: () => Promise<T>, checkIndex = false): Promise<T> {
    await this.#file.lock(true);
    try {
      if (checkIndex) await this.#checkIndex();
      await this.#catchUp();
      return await fn();
    } finally {
      await this.#file.unlock();
    }
  }

  async #write(items: StoreItem[]): Promise<StoredAck[]> {
    const acks: StoredAck[] = [];
    const lines: string[] = [];
    let seq = this.#seq;
    let head = this.#head;
    const fresh = new Map<string, { id: string; seq: number; hash: string }>();
    const ts = this.#now();
    for (const item of items) {
      const known = fresh.get(item.id) ?? this.#index.get(item.id);
      if (known) {
        acks.push({ id: item.id, seq: known.seq, hash: known.hash, duplicate: true });
        continue;
      }
      seq++;
      const entry = makeEntry(head, seq, item.id, ts, item.record);
      head = entry.hash;
      lines.push(formatEntry(entry));
      fresh.set(item.id, { id: item.id, seq, hash: head });
      acks.push({ id: item.id, seq, hash: head, duplicate: false });
    }
    if (lines.length > 0) {
      const bytes = encoder.encode(lines.join(""));
      await this.#file.seek(this.#offset, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
      if (this.#fsync) await this.#file.syncData();
      // Index after the fsync: the index never runs ahead of the durable log. A crash in
      // between leaves lines the next catch-up indexes.
      const to = { offset: this.#offset + bytes.length, seq, head };
      this.#index.commit(fresh.values(), to);
      this.#offset = to.offset;
      this.#seq = seq;
      this.#head = head;
    }
    return acks;
  }

  /**
   * At open: the index must describe a prefix of this log, i.e. the log is at least as long
   * and the line ending at the indexed offset carries the indexed head hash. If not, and
   * the log's first line is the index's seq 1 (the same log), the log lost or altered a
   * committed line: throw, naming it. Otherwise (a replaced log) the index is rebuilt from
   * the log. Caller holds the lock.
   */
  async #checkIndex(): Promise<void> {
    const at = this.#index.position();
    if (at.offset === 0) return;
    const { size } = await this.#file.stat();
    let matches = false;
    if (at.offset <= size && at.offset >= TAIL_BYTES) {
      const tail = await this.#readAt(at.offset - TAIL_BYTES, TAIL_BYTES);
      matches = decoder.decode(tail) === `"hash":"${at.head}"}\n`;
    }
    if (matches) return;
    const damage = await this.#findDamage(at, size);
    if (damage) throw new ChainDamagedError(this.#path, damage.seq, damage.reason);
    this.#index.reset();
  }

  /**
   * The first committed seq (1..at.seq) the log does not carry as the index recorded it,
   * or undefined when the log is another log altogether (its first line is not the
   * index's seq 1; an empty log counts as damaged: the committed lines are gone).
   */
  async #findDamage(
    at: Position,
    size: number,
  ): Promise<{ seq: number; reason: string } | undefined> {
    if (size === 0) {
      return { seq: 1, reason: `the log is empty, the index says ${at.seq} lines were committed` };
    }
    let offset = 0;
    let carry: Uint8Array = new Uint8Array(0);
    let seq = 0;
    while (offset < size || carry.length > 0) {
      const nl = carry.indexOf(NEWLINE);
      if (nl < 0) {
        if (offset >= size) break;
        const chunk = await this.#readAt(offset, Math.min(READ_CHUNK, size - offset));
        if (chunk.length === 0) break;
        offset += chunk.length;
        carry = carry.length ? concat(carry, chunk) : chunk;
        continue;
      }
      const line = decoder.decode(carry.subarray(0, nl));
      carry = carry.slice(nl + 1);
      seq++;
      let entry;
      try {
        entry = parseEntry(line);
      } catch (error) {
        if (seq === 1) return undefined;
        return { seq, reason: `line ${seq} is corrupt: ${(error as Error).message}` };
      }
      const known = this.#index.get(entry.id);
      const same = known !== undefined && known.seq === seq && known.hash === entry.hash &&
        entry.seq === seq;
      if (seq === 1 && !same) return undefined; // another log: rebuild the index from it
      if (!same) return { seq, reason: `line ${seq} differs from the committed record` };
      if (seq === at.seq) {
        // Every committed record is there, but not at the committed offset: re-spelled bytes.
        return { seq, reason: `the bytes up to line ${seq} differ from the committed ones` };
      }
    }
    const torn = carry.length > 0 ? " (its line is unterminated or altered)" : "";
    return {
      seq: seq + 1,
      reason: `the log ends after seq ${seq}, the index says ${at.seq} were committed${torn}`,
    };
  }

  async #readAt(offset: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let read = 0;
    while (read < length) {
      const n = await this.#file.read(buf.subarray(read));
      if (n === null) break;
      read += n;
    }
    return buf.subarray(0, read);
  }

  /**
   * Moves to the indexed position; indexes complete lines past it (checking they chain);
   * cuts an unterminated tail. Caller holds the lock.
   */
  async #catchUp(): Promise<void> {
    // Start where the index ends: it holds every line any writer indexed (ours included:
    // #write commits to the index before moving this position), never more than the log.
    const at = this.#index.position();
    this.#offset = at.offset;
    this.#seq = at.seq;
    this.#head = at.head;
    const { size } = await this.#file.stat();
    if (size < this.#offset) {
      throw new Error(`log shrank under us: expected at least ${this.#offset} bytes, got ${size}`);
    }
    let carry = new Uint8Array(0);
    let pos = this.#offset;
    while (pos < size) {
      const chunk = new Uint8Array(Math.min(READ_CHUNK, size - pos));
      await this.#file.seek(pos, Deno.SeekMode.Start);
      let read = 0;
      while (read < chunk.length) {
        const n = await this.#file.read(chunk.subarray(read));
        if (n === null) break;
        read += n;
      }
      if (read === 0) break;
      pos += read;
      const buf = carry.length ? concat(carry, chunk.subarray(0, read)) : chunk.subarray(0, read);
      const end = buf.lastIndexOf(NEWLINE) + 1; // bytes of complete lines
      const entries: { id: string; seq: number; hash: string }[] = [];
      let start = 0;
      while (start < end) {
        const nl = buf.indexOf(NEWLINE, start);
        const lineNo = this.#seq + 1;
        let entry;
        try {
          entry = parseEntry(decoder.decode(buf.subarray(start, nl)));
        } catch (error) {
          throw new Error(`log line ${lineNo} is corrupt: ${(error as Error).message}`);
        }
        if (entry.seq !== this.#seq + 1 || entry.prev_hash !== this.#head) {
          throw new Error(
            `log line ${lineNo} does not chain: expected seq ${this.#seq + 1} after ` +
              `${this.#head}, got seq ${entry.seq} after ${entry.prev_hash}`,
          );
        }
        this.#seq = entry.seq;
        this.#head = entry.hash;
        entries.push({ id: entry.id, seq: entry.seq, hash: entry.hash });
        start = nl + 1;
      }
      this.#offset += end;
      if (entries.length > 0) {
        this.#index.commit(entries, { offset: this.#offset, seq: this.#seq, head: this.#head });
      }
      carry = buf.slice(end);
    }
    if (carry.length > 0) {
      // Unterminated tail: a writer died mid-append before fsync and before any ack.
      await this.#file.truncate(this.#offset);
    }
  }

  /** Closes the log and its index. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
    try {
      this.#index.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#busy.then(() => this.close());
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * What an id index says was committed: `{seq, head}` of the last committed entry, or
 * undefined when there is no index at `indexPath` (verify then checks the log alone). The
 * index is opened read-only and never created.
 *
 * @example
 * ```ts
 * import { readCommitted } from "./chain_store.ts";
 * const committed = readCommitted("audit.log.idx"); // { seq: 6, head: "9f3…" } or undefined
 * ```
 */
export function readCommitted(indexPath: string): { seq: number; head: string } | undefined {
  try {
    if (!Deno.statSync(indexPath).isFile) return undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const db = new DatabaseSync(indexPath, { readOnly: true });
  try {
    const row = db.prepare("SELECT seq, head FROM position WHERE k = 0").get() as
      | { seq: number; head: string }
      | undefined;
    return row ? { seq: Number(row.seq), head: String(row.head) } : undefined;
  } finally {
    db.close();
  }
}
