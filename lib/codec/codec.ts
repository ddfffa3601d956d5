/**
 * MessagePack encode and schema-checked decode (npm `msgpackr`, standard maps, no records
 * extension, so other MessagePack implementations interoperate).
 *
 * @module
 */

// "msgpackr/pack" is the pure-JS build: the default Node entry reads env vars and loads a
// native addon, which would need extra permissions in every role.
import { Packr, Unpackr } from "msgpackr/pack";
import { BadMessageError, describe, type Schema, validate } from "./schema.ts";

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
 * import { encode } from "@lib/codec/mod.ts";
 *
 * const bytes = encode({ node: "a1", seq: 1, metrics: {} });
 * console.log(bytes.length);
 * ```
 */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Decodes MessagePack bytes and checks the result against `schema`. Anything wrong (not
 * MessagePack, trailing bytes, the reserved byte 0xC1, extension types other than the
 * timestamp, wrong shape) throws {@link BadMessageError} whose `reason` says, in words, what
 * was expected and what arrived; nothing else is thrown.
 *
 * @example
 * ```ts
 * import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";
 *
 * const Heartbeat = s.object({ node: s.string(), seq: s.int() });
 * try {
 *   const hb = decode(encode({ node: "a1", seq: "x" }), Heartbeat);
 *   console.log(hb.node);
 * } catch (error) {
 *   if (!(error instanceof BadMessageError)) throw error;
 *   console.log(error.reason); // 'seq: expected integer, got "x"'
 * }
 * ```
 */
export function decode<T>(bytes: Uint8Array, schema: Schema<T>): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new BadMessageError(`expected msgpack bytes, got ${describe(bytes)}`);
  }
  if (bytes.length === 0) throw new BadMessageError("expected msgpack bytes, got an empty frame");
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (error) {
    throw new BadMessageError(undecodable(bytes, error));
  }
  const odd = nonStandard(value);
  if (odd) {
    throw new BadMessageError(
      `${odd.path ? `${odd.path}: ` : ""}expected standard MessagePack, got ${odd.what}`,
    );
  }
  return validate(value, schema);
}

/** Says in words why msgpackr could not decode `bytes` (never its internal message). */
function undecodable(bytes: Uint8Array, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const size = `${bytes.length} byte${bytes.length === 1 ? "" : "s"}`;
  if (/^Unexpected end of (MessagePack data|buffer)/.test(message)) {
    return `expected a complete msgpack value, got ${size} that end${
      bytes.length === 1 ? "s" : ""
    } in the middle of one`;
  }
  if (message.startsWith("Data read, but end of buffer not reached")) {
    return `expected one msgpack value, got ${size} with more data after the first value`;
  }
  const extension = /^Unknown extension (?:type )?(-?\d+)/.exec(message);
  if (extension) {
    return `expected standard MessagePack, got extension type ${extension[1]}`;
  }
  if (message.startsWith("Invalid property type for record")) {
    return "expected a map with string or number keys, got a map with a container as a key";
  }
  return `expected msgpack, got ${size} that are not valid MessagePack (first byte 0x${
    bytes[0].toString(16).padStart(2, "0")
  })`;
}

/**
 * The first value that standard MessagePack does not produce: the reserved byte 0xC1
 * (msgpackr returns a marker object for it) or an extension msgpackr turns into a class
 * instance (Error, Set, RegExp, typed arrays, ...). The timestamp extension (a Date) is
 * standard.
 */
function nonStandard(root: unknown): { path: string; what: string } | undefined {
  const stack: [unknown, string][] = [[root, ""]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (value instanceof Uint8Array) continue; // bin (a Buffer under Node)
    if (value instanceof Date) continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
      continue;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const key in value) {
        const child = (value as Record<string, unknown>)[key];
        stack.push([
          child,
          /^[A-Za-z_$][\w$]*$/.test(key)
            ? (path ? `${path}.${key}` : key)
            : `${path}[${JSON.stringify(key)}]`,
        ]);
      }
      continue;
    }
    if (isC1Marker(value)) {
      return { path, what: "the reserved byte 0xC1 (never used in MessagePack)" };
    }
    return { path, what: `an extension value (${extensionName(value)})` };
  }
  return undefined;
}

/** msgpackr decodes the reserved byte 0xC1 to a marker object (its `C1`, not exported here). */
function isC1Marker(value: object): boolean {
  return (value as { name?: unknown }).name === "MessagePack 0xC1";
}

function extensionName(value: object): string {
  if (value instanceof Error) return "an error object";
  if (value instanceof Set) return "a set";
  if (value instanceof Map) return "a map object";
  if (value instanceof RegExp) return "a regular expression";
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return "a typed array";
  return "an object of an application-specific type";
}
