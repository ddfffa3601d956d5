/**
 * Partitioning of intermediate keys to the R reduce tasks: FNV-1a (32-bit) of the key's
 * UTF-8 bytes, modulo R. Stable across processes and runs (no per-process hash seed), so
 * every map task sends a key to the same reducer.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * FNV-1a 32-bit hash of a string's UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { fnv1a } from "./partition.ts";
 * fnv1a(""); // 2166136261
 * ```
 */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  // ASCII fast path: a code unit below 0x80 is its own UTF-8 byte.
  let ascii = true;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    h ^= c;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  if (ascii) return h >>> 0;
  h = 0x811c9dc5;
  for (const byte of encoder.encode(key)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The reduce task (0..reducers-1) of a key.
 *
 * @example
 * ```ts
 * import { partition } from "./partition.ts";
 * partition("hello", 4); // always the same one of 0..3
 * ```
 */
export function partition(key: string, reducers: number): number {
  return fnv1a(key) % reducers;
}

/** File name of map task `m`'s output for reduce task `r` (in the shared work dir). */
export function intermediateName(m: number, r: number): string {
  return `map-${String(m).padStart(5, "0")}-r${String(r).padStart(5, "0")}.jsonl`;
}

/** File name of reduce task `r`'s committed output (in the output dir). */
export function partName(r: number): string {
  return `part-r-${String(r).padStart(5, "0")}`;
}
