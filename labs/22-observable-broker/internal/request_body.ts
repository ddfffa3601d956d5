/**
 * The body a `client_app client` sends and expects back from an echo worker: an 8-byte
 * sequence number (uint64 BE) padded to the requested size with a fixed pattern, so a
 * reply can be matched to its request and checked byte for byte.
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";

/** The smallest body (the sequence number). */
export const MIN_BODY_BYTES = 8;

/**
 * A request body of `size` bytes (at least 8) carrying `seq`.
 *
 * @example
 * ```ts
 * import { requestBody, bodySeq } from "./request_body.ts";
 * bodySeq(requestBody(42, 64), 64); // 42
 * ```
 */
export function requestBody(seq: number, size: number): Uint8Array {
  const body = new Uint8Array(Math.max(MIN_BODY_BYTES, size));
  new DataView(body.buffer).setBigUint64(0, BigInt(seq));
  for (let i = MIN_BODY_BYTES; i < body.length; i++) body[i] = (seq + i) & 0xff;
  return body;
}

/** The seq of an echoed body, checking its size and padding; `BadMessageError` if wrong. */
export function bodySeq(body: Uint8Array, size: number): number {
  const expected = Math.max(MIN_BODY_BYTES, size);
  if (body.length !== expected) {
    throw new BadMessageError(`expected a ${expected}-byte reply body, got ${body.length} bytes`);
  }
  const seq = Number(new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0));
  for (let i = MIN_BODY_BYTES; i < body.length; i++) {
    if (body[i] !== ((seq + i) & 0xff)) {
      throw new BadMessageError(`expected the echo of request ${seq}, byte ${i} differs`);
    }
  }
  return seq;
}
