/**
 * The archival store: one hash-chained, append-only NDJSON log shared by every worker.
 *
 * Appends are serialised across processes with an exclusive `flock` on the log file. Under
 * the lock a writer first reads whatever other writers appended since it last looked
 * (updating its id index, seq and head hash), cuts off an unterminated tail left by a
 * writer that crashed mid-append (that line was never fsynced, so never acknowledged), then
 * appends its batch, calls `fsync` (`syncData`) and only then releases the lock and returns
 * the acks. Because the id check happens under the same lock against the whole log, a
 * record id is present at most once in the chain, whichever worker gets it and however
 * often it is retried or re-dispatched after a crash.
 *
 * @module
 */
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
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;

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
  #fsync: boolean;
  #now: () => number;
  #offset = 0;
  #seq = 0;
  #head = GENESIS_HASH;
  #index = new Map<string, { seq: number; hash: string }>();
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(file: Deno.FsFile, options: ChainStoreOptions) {
    this.#file = file;
    this.#fsync = options.fsync ?? true;
    this.#now = options.now ?? Date.now;
  }

  /** Opens (creating if needed) the log at `path` and reads it. */
  static async open(path: string, options: ChainStoreOptions = {}): Promise<ChainStore> {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    const store = new ChainStore(file, options);
    try {
      await store.#locked(() => Promise.resolve());
    } catch (error) {
      file.close();
      throw error;
    }
    return store;
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

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.#file.lock(true);
    try {
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
    const fresh = new Map<string, { seq: number; hash: string }>();
    const ts = this.#now();
    for (const item of items) {
      const known = this.#index.get(item.id) ?? fresh.get(item.id);
      if (known) {
        acks.push({ id: item.id, seq: known.seq, hash: known.hash, duplicate: true });
        continue;
      }
      seq++;
      const entry = makeEntry(head, seq, item.id, ts, item.record);
      head = entry.hash;
      lines.push(formatEntry(entry));
      fresh.set(item.id, { seq, hash: head });
      acks.push({ id: item.id, seq, hash: head, duplicate: false });
    }
    if (lines.length > 0) {
      const bytes = encoder.encode(lines.join(""));
      await this.#file.seek(this.#offset, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
      if (this.#fsync) await this.#file.syncData();
      this.#offset += bytes.length;
      this.#seq = seq;
      this.#head = head;
      for (const [id, value] of fresh) this.#index.set(id, value);
    }
    return acks;
  }

  /** Reads entries other writers appended; cuts an unterminated tail. Caller holds the lock. */
  async #catchUp(): Promise<void> {
    const { size } = await this.#file.stat();
    if (size < this.#offset) {
      throw new Error(`log shrank under us: expected at least ${this.#offset} bytes, got ${size}`);
    }
    if (size === this.#offset) return;
    const buf = new Uint8Array(size - this.#offset);
    await this.#file.seek(this.#offset, Deno.SeekMode.Start);
    let read = 0;
    while (read < buf.length) {
      const n = await this.#file.read(buf.subarray(read));
      if (n === null) break;
      read += n;
    }
    const end = buf.lastIndexOf(NEWLINE, read - 1) + 1; // bytes of complete lines
    let start = 0;
    while (start < end) {
      const nl = buf.indexOf(NEWLINE, start);
      const line = decoder.decode(buf.subarray(start, nl));
      const lineNo = this.#seq + 1;
      let entry;
      try {
        entry = parseEntry(line);
      } catch (error) {
        throw new Error(`log line ${lineNo} is corrupt: ${(error as Error).message}`);
      }
      if (entry.seq !== this.#seq + 1 || entry.prev_hash !== this.#head) {
        throw new Error(
          `log line ${lineNo} does not chain: expected seq ${this.#seq + 1} after ${this.#head}, ` +
            `got seq ${entry.seq} after ${entry.prev_hash}`,
        );
      }
      this.#seq = entry.seq;
      this.#head = entry.hash;
      this.#index.set(entry.id, { seq: entry.seq, hash: entry.hash });
      start = nl + 1;
    }
    this.#offset += end;
    if (end < read) {
      // Unterminated tail: a writer died mid-append before fsync and before any ack.
      await this.#file.truncate(this.#offset);
    }
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#busy.then(() => this.close());
  }
}
