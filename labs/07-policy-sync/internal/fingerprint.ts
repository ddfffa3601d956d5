/**
 * A short digest of a whole policy table, so a person or a test can see at a glance that a
 * node holds exactly the master's set: the sum (mod 2^32) of FNV-1a hashes of each
 * `key NUL body`. A sum does not depend on order and can be kept up to date per change
 * ({@link entryHash} added or taken away), so a replica never re-hashes its whole table.
 *
 * @module
 */

/**
 * FNV-1a 32 of `key NUL body`.
 *
 * @example
 * ```ts
 * import { entryHash } from "./fingerprint.ts";
 * entryHash("/acl/a", "deny any from any to any") >>> 0; // a 32-bit number
 * ```
 */
export function entryHash(key: string, body: string): number {
  let hash = 0x811c9dc5;
  const text = `${key}\0${body}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A running sum of entry hashes as 8 hex digits.
 *
 * @example
 * ```ts
 * import { formatFingerprint } from "./fingerprint.ts";
 * formatFingerprint(255); // "000000ff"
 * ```
 */
export function formatFingerprint(sum: number): string {
  return (sum >>> 0).toString(16).padStart(8, "0");
}

/**
 * The table's fingerprint (an empty table is `00000000`).
 *
 * @example
 * ```ts
 * import { fingerprint } from "./fingerprint.ts";
 * fingerprint([["/acl/a", "deny any from any to any"]]).length; // 8
 * ```
 */
export function fingerprint(entries: Iterable<readonly [string, string]>): string {
  let sum = 0;
  for (const [key, body] of entries) sum = (sum + entryHash(key, body)) >>> 0;
  return formatFingerprint(sum);
}
