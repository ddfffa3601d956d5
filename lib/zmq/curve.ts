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

/**
 * Encodes bytes (length a multiple of 4) as Z85.
 *
 * @example
 * ```ts
 * z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])); // "HelloWorld"
 * ```
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) {
    throw new TypeError(`Z85 encodes multiples of 4 bytes, got ${data.length}`);
  }
  const out = new Uint8Array((data.length / 4) * 5 + 1);
  if (libzmq().symbols.zmq_z85_encode(out, data, BigInt(data.length)) === null) {
    throw new Error("zmq_z85_encode failed");
  }
  return decoder.decode(out.subarray(0, out.length - 1));
}

/**
 * Decodes Z85 text (length a multiple of 5) to bytes.
 *
 * @example
 * ```ts
 * z85Decode("HelloWorld"); // Uint8Array [0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]
 * ```
 */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new TypeError(`Z85 decodes multiples of 5 characters, got ${text.length}`);
  }
  const out = new Uint8Array((text.length / 5) * 4);
  if (libzmq().symbols.zmq_z85_decode(out, cstr(text)) === null) {
    throw new TypeError(`not valid Z85: ${JSON.stringify(text)}`);
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
