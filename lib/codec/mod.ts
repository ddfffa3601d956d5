/**
 * MessagePack encode and schema-checked decode for message payloads.
 *
 * @example
 * ```ts
 * import { decode, encode, type Infer, s } from "@lib/codec/mod.ts";
 * const Heartbeat = s.object({ node: s.string(), seq: s.int(), metrics: s.record(s.number()) });
 * type Heartbeat = Infer<typeof Heartbeat>;
 * const bytes = encode({ node: "a1", seq: 1, metrics: {} });
 * const hb: Heartbeat = decode(bytes, Heartbeat); // throws BadMessageError
 * ```
 *
 * @module
 */

export { decode, encode } from "./codec.ts";
export {
  BadMessageError,
  type Bounds,
  describe,
  type Infer,
  is,
  type ObjectOf,
  s,
  type Schema,
  validate,
} from "./schema.ts";
