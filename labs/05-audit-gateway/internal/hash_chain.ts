/**
 * The hash chain: how one log entry is hashed, written as a line and read back.
 *
 * A log is NDJSON, one entry per line, in this key order:
 * `{"seq":1,"id":"...","ts":1764201600000,"record":{...},"prev_hash":"<64 hex>","hash":"<64 hex>"}`
 *
 * - `seq` starts at 1 and grows by exactly 1 per line.
 * - `prev_hash` is the previous line's `hash` ({@link GENESIS_HASH} for seq 1).
 * - `hash = sha256(prev_hash (32 raw bytes) || canonical)`, where `canonical` is the UTF-8 of
 *   {@link canonicalJson} of `{id, record, seq, ts}`. Changing any field, dropping a line
 *   or swapping two lines breaks the chain at that point.
 * - A line is exactly {@link formatEntry} of its parsed entry (canonical spelling). The hash
 *   is defined by the values, so any implementation can recompute it; `verify` also
 *   requires the canonical spelling, so that no byte of a line escapes the hash (`1E+21`
 *   for `1e+21` parses to the same value and would otherwise go unseen).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson, type JsonValue } from "./canonical_json.ts";
import { fromHex } from "@lib/async/mod.ts";

/** `prev_hash` of the first entry: 32 zero bytes in hex. */
export const GENESIS_HASH = "0".repeat(64);
/** A SHA-256 digest in lower-case hex. */
export const HASH_PATTERN: RegExp = /^[0-9a-f]{64}$/;

/** One entry of the chain. */
export interface ChainEntry {
  /** 1, 2, 3, ...: position in the log. */
  seq: number;
  /** The client's correlation id; appears at most once per log. */
  id: string;
  /** When the worker appended it (ms since the epoch). */
  ts: number;
  /** The audit record as the client sent it (plain JSON). */
  record: JsonValue;
  /** Hash of the entry before (GENESIS_HASH for seq 1). */
  prev_hash: string;
  /** This entry's hash. */
  hash: string;
}

/**
 * Computes an entry's hash from the previous hash and its content.
 *
 * @example
 * ```ts
 * const h = entryHash(GENESIS_HASH, { seq: 1, id: "a", ts: 0, record: {} });
 * h.length; // 64
 * ```
 */
export function entryHash(
  prevHash: string,
  content: { seq: number; id: string; ts: number; record: JsonValue },
): string {
  const canonical = canonicalJson({
    id: content.id,
    record: content.record,
    seq: content.seq,
    ts: content.ts,
  });
  return createHash("sha256").update(fromHex(prevHash)).update(canonical).digest("hex");
}

/**
 * Builds the next entry after `prevHash`.
 *
 * @example
 * ```ts
 * const e = makeEntry(GENESIS_HASH, 1, "id-1", 1000, { actor: "alice" });
 * e.prev_hash === GENESIS_HASH; // true
 * ```
 */
export function makeEntry(
  prevHash: string,
  seq: number,
  id: string,
  ts: number,
  record: JsonValue,
): ChainEntry {
  return {
    seq,
    id,
    ts,
    record,
    prev_hash: prevHash,
    hash: entryHash(prevHash, { seq, id, ts, record }),
  };
}

/**
 * The entry as one log line (with the trailing newline).
 *
 * @example
 * ```ts
 * formatEntry(makeEntry(GENESIS_HASH, 1, "a", 0, {})).endsWith("\n"); // true
 * ```
 */
export function formatEntry(entry: ChainEntry): string {
  return `{"seq":${entry.seq},"id":${JSON.stringify(entry.id)},"ts":${entry.ts},"record":${
    canonicalJson(entry.record)
  },"prev_hash":"${entry.prev_hash}","hash":"${entry.hash}"}\n`;
}

/**
 * Parses one log line (without newline) into an entry, checking field types only (not the
 * hashes). Throws an Error saying what was expected.
 *
 * @example
 * ```ts
 * const line = formatEntry(makeEntry(GENESIS_HASH, 1, "a", 0, {})).trimEnd();
 * parseEntry(line).id; // "a"
 * ```
 */
export function parseEntry(line: string): ChainEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`expected a JSON object, got unparseable text`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${Array.isArray(value) ? "array" : typeof value}`);
  }
  const e = value as Record<string, unknown>;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) {
    throw new Error(`expected seq to be an integer >= 1, got ${JSON.stringify(e.seq)}`);
  }
  if (typeof e.id !== "string") throw new Error(`expected id to be a string, got ${typeof e.id}`);
  if (typeof e.ts !== "number") throw new Error(`expected ts to be a number, got ${typeof e.ts}`);
  if (!("record" in e)) throw new Error("expected a record field, got none");
  for (const key of ["prev_hash", "hash"] as const) {
    if (typeof e[key] !== "string" || !HASH_PATTERN.test(e[key] as string)) {
      throw new Error(`expected ${key} to be 64 hex characters, got ${JSON.stringify(e[key])}`);
    }
  }
  return e as unknown as ChainEntry;
}
