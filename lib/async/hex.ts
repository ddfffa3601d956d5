/**
 * Lower-case hex encoding.
 *
 * @module
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Bytes as lower-case hex; with `maxBytes`, only the first bytes and a `…` marker.
 *
 * @example
 * ```ts
 * import { toHex } from "@lib/async/mod.ts";
 * toHex(new Uint8Array([0, 171, 255])); // "00abff"
 * toHex(new Uint8Array(100), 2); // "0000…"
 * ```
 */
export function toHex(bytes: Uint8Array, maxBytes = Infinity): string {
  const n = Math.min(bytes.length, maxBytes);
  let out = "";
  for (let i = 0; i < n; i++) out += HEX[bytes[i]];
  return n < bytes.length ? out + "…" : out;
}

/**
 * Hex (case-insensitive, even length) as bytes; throws a RangeError that says what was
 * wrong.
 *
 * @example
 * ```ts
 * import { fromHex } from "@lib/async/mod.ts";
 * fromHex("00abFF"); // Uint8Array [0, 171, 255]
 * ```
 */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new RangeError(
      `expected an even number of hex digits, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
