/**
 * MessagePack encode and schema-checked decode (npm `msgpackr`, standard maps, no records
 * extension, so other MessagePack implementations interoperate).
 *
 * @module
 */

// "msgpackr/pack" is the pure-JS build: the default Node entry reads env vars and loads a
// native addon, which would need extra permissions in every role.
import { Packr, Unpackr } from "msgpackr/pack";
import { BadMessageError, type Schema, validate } from "./schema.ts";

// `skipValues` and `int64AsType: "auto"` exist in msgpackr 2.x but not in its typings.
const packr = new Packr(
  { useRecords: false, moreTypes: false, skipValues: [undefined] } as ConstructorParameters<
    typeof Packr
  >[0],
);
const unpackr = new Unpackr(
  {
    useRecords: false,
    mapsAsObjects: true,
    int64AsType: "auto",
  } as unknown as ConstructorParameters<
    typeof Unpackr
  >[0],
);

/**
 * Encodes a value as MessagePack. Object keys whose value is `undefined` are left out.
 *
 * @example
 * ```ts
 * const bytes = encode({ node: "a1", seq: 1, metrics: {} });
 * ```
 */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Decodes MessagePack bytes and checks the result against `schema`. Anything wrong (not
 * MessagePack, trailing bytes, wrong shape) throws {@link BadMessageError}; nothing else.
 *
 * @example
 * ```ts
 * try {
 *   const hb = decode(frame, Heartbeat);
 * } catch (error) {
 *   if (!(error instanceof BadMessageError)) throw error;
 *   log.warn("bad_message", { reason: error.reason });
 * }
 * ```
 */
export function decode<T>(bytes: Uint8Array, schema: Schema<T>): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new BadMessageError(`expected msgpack bytes, got ${typeof bytes}`);
  }
  if (bytes.length === 0) throw new BadMessageError("expected msgpack bytes, got an empty frame");
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BadMessageError(`expected msgpack, got undecodable bytes (${message})`);
  }
  return validate(value, schema);
}
