/**
 * CURVE keys and Z85 (ZeroMQ RFC 32) through libzmq.
 *
 * @module
 */
import { libzmq } from "./context.ts";
import { cstr } from "./ffi.ts";

const decoder = new TextDecoder();

/**
 * A CURVE key pair in Z85 (40 characters each).
 *
 * @example
 * ```ts
 * import { type CurveKeyPair, curveKeyPair } from "@lib/zmq/mod.ts";
 * const pair: CurveKeyPair = curveKeyPair();
 * console.log(pair.publicKey.length); // 40
 * ```
 */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/**
 * Generates a new CURVE key pair.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = curveKeyPair();
 * ```
 */
export function curveKeyPair(): CurveKeyPair {
  const pub = new Uint8Array(41);
  const sec = new Uint8Array(41);
  if (libzmq().symbols.zmq_curve_keypair(pub, sec) !== 0) {
    throw new Error("zmq_curve_keypair failed: this libzmq has no CURVE support");
  }
  return {
    publicKey: decoder.decode(pub.subarray(0, 40)),
    secretKey: decoder.decode(sec.subarray(0, 40)),
  };
}

/**
 * Derives the Z85 public key from a Z85 secret key.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = curveKeyPair();
 * curvePublic(secretKey) === publicKey; // true
 * ```
 */
export function curvePublic(secretKey: string): string {
  if (secretKey.length !== 40) {
    throw new TypeError(
      `expected a 40-character Z85 secret key, got ${secretKey.length} characters`,
    );
  }
  const pub = new Uint8Array(41);
  if (libzmq().symbols.zmq_curve_public(pub, cstr(secretKey)) !== 0) {
    throw new Error("zmq_curve_public failed: invalid secret key or no CURVE support");
  }
  return decoder.decode(pub.subarray(0, 40));
}

/** The Z85 alphabet of ZeroMQ RFC 32, in value order (0..84). */
export const Z85_ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

const Z85_VALUE = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < Z85_ALPHABET.length; i++) table[Z85_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Encodes bytes as Z85 (ZeroMQ RFC 32): each 4 bytes, read as a big-endian 32-bit number,
 * become 5 characters, most significant digit first. The length must be a multiple of 4
 * (RFC 32 leaves padding to the application); otherwise a `TypeError` says so.
 *
 * @example
 * ```ts
 * import { z85Encode } from "@lib/zmq/mod.ts";
 * z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])); // "HelloWorld"
 * ```
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) {
    throw new TypeError(
      `Z85 (RFC 32) encodes multiples of 4 bytes, got ${data.length} bytes (pad first)`,
    );
  }
  const out: string[] = new Array(data.length / 4);
  for (let i = 0; i < data.length; i += 4) {
    let value = ((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]) >>> 0;
    let chunk = "";
    for (let d = 0; d < 5; d++) {
      chunk = Z85_ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    out[i / 4] = chunk;
  }
  return out.join("");
}

/**
 * Decodes Z85 text (ZeroMQ RFC 32) to bytes. The length must be a multiple of 5, every
 * character must be in the Z85 alphabet and every 5-character group must fit 32 bits;
 * otherwise a `TypeError` names the problem and its position but never quotes the text
 * (it is often a secret key).
 *
 * @example
 * ```ts
 * import { z85Decode } from "@lib/zmq/mod.ts";
 * z85Decode("HelloWorld"); // Uint8Array [0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]
 * ```
 */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new TypeError(
      `Z85 (RFC 32) decodes multiples of 5 characters, got ${text.length} characters`,
    );
  }
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let d = 0; d < 5; d++) {
      const code = text.charCodeAt(i + d);
      const digit = code < 128 ? Z85_VALUE[code] : -1;
      if (digit < 0) {
        throw new TypeError(`not valid Z85: character ${i + d + 1} is not in the Z85 alphabet`);
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) {
      throw new TypeError(
        `not valid Z85: the group at character ${i + 1} exceeds 32 bits (largest is "%nSc0")`,
      );
    }
    out[(i / 5) * 4] = value >>> 24;
    out[(i / 5) * 4 + 1] = (value >>> 16) & 0xff;
    out[(i / 5) * 4 + 2] = (value >>> 8) & 0xff;
    out[(i / 5) * 4 + 3] = value & 0xff;
  }
  return out;
}

/**
 * Whether libzmq was built with a capability (`curve`, `ipc`, `draft`, ...).
 *
 * @example
 * ```ts
 * capability("curve"); // true with the bundled libzmq
 * ```
 */
export function capability(name: string): boolean {
  return libzmq().symbols.zmq_has(cstr(name)) === 1;
}

/**
 * The libzmq version as "major.minor.patch".
 *
 * @example
 * ```ts
 * version(); // "4.3.5"
 * ```
 */
export function version(): string {
  return libzmq().version.join(".");
}
