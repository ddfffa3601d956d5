/**
 * A strict pre-check of untrusted MessagePack before it is decoded: one linear pass over
 * the bytes, no exceptions, no allocation per value beyond map keys. It refuses what a
 * lenient decoder would silently change:
 *
 * - strings that are not valid UTF-8 (a lenient decoder maps them to U+FFFD, so two
 *   different ids collide);
 * - map keys that are not strings, repeated keys (the decoder keeps the last) and the key
 *   `__proto__` (the decoder renames it);
 * - nesting deeper than a bound, lengths past the end, trailing bytes, the never-used
 *   byte 0xC1.
 *
 * It also reads the top-level `id` string when there is one, so that a request that is
 * refused can still be answered by id.
 *
 * @module
 */

/** What {@link checkStrictMsgpack} found. */
export interface StrictCheck {
  /** Why the bytes are refused; undefined when they pass. */
  reason?: string;
  /**
   * The top-level map's `id` value when it is a string (lossily decoded if it is not valid
   * UTF-8, so a refusal can name it).
   */
  id?: string;
}

/** Deepest nesting accepted (arrays and maps). */
export const MAX_DEPTH = 64;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

/**
 * Walks MessagePack `bytes` once and says why they are refused, if they are (see the
 * module doc), plus the top-level `id` string if any.
 *
 * @example
 * ```ts
 * import { encode } from "@lib/codec/mod.ts";
 * import { checkStrictMsgpack } from "./strict_msgpack.ts";
 * checkStrictMsgpack(encode({ id: "r1", record: { a: 1 } })); // { id: "r1" }
 * checkStrictMsgpack(new Uint8Array([0xc1])).reason; // "msgpack: byte 0xc1 at offset 0 is never used"
 * ```
 */
export function checkStrictMsgpack(bytes: Uint8Array, maxDepth = MAX_DEPTH): StrictCheck {
  const walker = new Walker(bytes, maxDepth);
  const end = walker.value(0, true);
  if (walker.reason === undefined && end !== bytes.length) {
    walker.reason = `msgpack: expected one value, got ${bytes.length - end} trailing bytes`;
  }
  return {
    ...(walker.reason !== undefined ? { reason: walker.reason } : {}),
    ...(walker.id !== undefined ? { id: walker.id } : {}),
  };
}

class Walker {
  reason: string | undefined;
  id: string | undefined;
  #bytes: Uint8Array;
  #view: DataView;
  #maxDepth: number;

  constructor(bytes: Uint8Array, maxDepth: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#maxDepth = maxDepth;
  }

  #fail(reason: string): number {
    this.reason ??= reason;
    return -1;
  }

  /** Length field of `size` bytes at `at`, or -1 past the end. */
  #len(at: number, size: 1 | 2 | 4): number {
    if (at + size > this.#bytes.length) return -1;
    if (size === 1) return this.#bytes[at];
    return size === 2 ? this.#view.getUint16(at) : this.#view.getUint32(at);
  }

  /** Skips `n` bytes from `at`; the end offset or -1. */
  #skip(at: number, n: number, what: string): number {
    if (n < 0 || at + n > this.#bytes.length) {
      return this.#fail(`msgpack: ${what} at offset ${at} runs past the end`);
    }
    return at + n;
  }

  /** A string of `n` bytes at `at`: checked UTF-8; returns [end, text?]. */
  #str(at: number, n: number, keep: boolean): [number, string | undefined] {
    const end = this.#skip(at, n, "string");
    if (end < 0) return [-1, undefined];
    const slice = this.#bytes.subarray(at, end);
    try {
      const text = utf8.decode(slice);
      return [end, keep ? text : undefined];
    } catch {
      this.#fail(`msgpack: string at offset ${at} is not valid UTF-8`);
      return [-1, keep ? lossy.decode(slice) : undefined];
    }
  }

  /** Checks the value at `at`; returns its end offset or -1. */
  value(at: number, top = false, depth = 0): number {
    if (at >= this.#bytes.length) return this.#fail(`msgpack: value expected at offset ${at}`);
    const b = this.#bytes[at];
    if (b <= 0x7f || b >= 0xe0) return at + 1; // fixints
    if (b >= 0xa0 && b <= 0xbf) return this.#str(at + 1, b & 0x1f, false)[0];
    if (b >= 0x80 && b <= 0x8f) return this.#map(at + 1, b & 0x0f, top, depth);
    if (b >= 0x90 && b <= 0x9f) return this.#array(at + 1, b & 0x0f, depth);
    // uint8..64 (0xcc..0xcf) and int8..64 (0xd0..0xd3): 1 << (b & 3) bytes follow.
    if (b >= 0xcc && b <= 0xd3) return this.#skip(at + 1, 1 << (b & 3), "int");
    switch (b) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return at + 1;
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const size = b === 0xc4 ? 1 : b === 0xc5 ? 2 : 4;
        return this.#skip(at + 1 + size, this.#len(at + 1, size), "bin");
      }
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        const size = b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4;
        return this.#skip(at + 2 + size, this.#len(at + 1, size), "ext");
      }
      case 0xca:
        return this.#skip(at + 1, 4, "float32");
      case 0xcb:
        return this.#skip(at + 1, 8, "float64");
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.#skip(at + 2, 1 << (b - 0xd4), "fixext");
      case 0xd9:
      case 0xda:
      case 0xdb: {
        const [start, n] = this.#strHeader(at)!;
        if (n < 0) return this.#fail(`msgpack: string at offset ${at} runs past the end`);
        return this.#str(start, n, false)[0];
      }
      case 0xdc:
      case 0xdd: {
        const size = b === 0xdc ? 2 : 4;
        const n = this.#len(at + 1, size);
        if (n < 0) return this.#fail(`msgpack: array at offset ${at} runs past the end`);
        return this.#array(at + 1 + size, n, depth);
      }
      case 0xde:
      case 0xdf: {
        const size = b === 0xde ? 2 : 4;
        const n = this.#len(at + 1, size);
        if (n < 0) return this.#fail(`msgpack: map at offset ${at} runs past the end`);
        return this.#map(at + 1 + size, n, top, depth);
      }
      default:
        return this.#fail(`msgpack: byte 0x${b.toString(16)} at offset ${at} is never used`);
    }
  }

  #array(at: number, n: number, depth: number): number {
    if (depth >= this.#maxDepth) {
      return this.#fail(`msgpack: expected nesting at most ${this.#maxDepth} deep, got deeper`);
    }
    // Each element takes at least one byte: a count past the end is refused up front.
    if (n > this.#bytes.length - at) return this.#fail(`msgpack: array of ${n} runs past the end`);
    for (let i = 0; i < n && at >= 0; i++) at = this.value(at, false, depth + 1);
    return at;
  }

  #map(at: number, n: number, top: boolean, depth: number): number {
    if (depth >= this.#maxDepth) {
      return this.#fail(`msgpack: expected nesting at most ${this.#maxDepth} deep, got deeper`);
    }
    if (2 * n > this.#bytes.length - at) {
      return this.#fail(`msgpack: map of ${n} runs past the end`);
    }
    const keys = new Set<string>();
    for (let i = 0; i < n; i++) {
      const keyAt = at;
      const key = this.#key(at);
      if (key === undefined) return -1;
      at = key[0];
      if (key[1] === "__proto__") return this.#fail(`msgpack: map key "__proto__" is not allowed`);
      if (keys.has(key[1])) {
        return this.#fail(`msgpack: map key ${JSON.stringify(key[1])} repeated at offset ${keyAt}`);
      }
      keys.add(key[1]);
      if (top && key[1] === "id") {
        const id = this.#topId(at);
        if (id !== undefined) this.id = id;
      }
      at = this.value(at, false, depth + 1);
      if (at < 0) return -1;
    }
    return at;
  }

  /** Where the bytes of a str at `at` start and how many: undefined when it is not a str. */
  #strHeader(at: number): [number, number] | undefined {
    const b = at < this.#bytes.length ? this.#bytes[at] : -1;
    if (b >= 0xa0 && b <= 0xbf) return [at + 1, b & 0x1f];
    if (b < 0xd9 || b > 0xdb) return undefined;
    const size = b === 0xd9 ? 1 : b === 0xda ? 2 : 4;
    return [at + 1 + size, this.#len(at + 1, size)];
  }

  /** A map key: must be a string. */
  #key(at: number): [number, string] | undefined {
    const header = this.#strHeader(at);
    if (header === undefined) {
      const b = at < this.#bytes.length ? this.#bytes[at].toString(16) : "none";
      this.#fail(`msgpack: expected string map keys, got byte 0x${b} at offset ${at}`);
      return undefined;
    }
    const [end, text] = this.#str(header[0], header[1], true);
    if (end < 0 || text === undefined) return undefined;
    return [end, text];
  }

  /** The top-level id's text when it is a string (lossy when not UTF-8). */
  #topId(at: number): string | undefined {
    const header = this.#strHeader(at);
    if (header === undefined) return undefined;
    const [start, n] = header;
    if (n < 0 || start + n > this.#bytes.length) return undefined;
    return lossy.decode(this.#bytes.subarray(start, start + n));
  }
}
