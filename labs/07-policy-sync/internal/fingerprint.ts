/**
 * A short digest of a whole policy table (FNV-1a 32 over the sorted `key NUL body NUL`), so
 * a person or a test can see at a glance that a node holds exactly the master's set.
 *
 * @module
 */

/**
 * The table's fingerprint as 8 hex digits (`00000000` style; an empty table has one too).
 *
 * @example
 * ```ts
 * import { fingerprint } from "./fingerprint.ts";
 * fingerprint([["/acl/a", "deny any from any to any"]]).length; // 8
 * ```
 */
export function fingerprint(entries: Iterable<readonly [string, string]>): string {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let hash = 0x811c9dc5;
  const mix = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    hash ^= 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (const [key, body] of sorted) {
    mix(key);
    mix(body);
  }
  return hash.toString(16).padStart(8, "0");
}
