/**
 * A small schema library for checking decoded messages. Checks do not copy: a valid value
 * is returned as is (unknown keys of non-strict objects stay on it). On failure a
 * {@link BadMessageError} says where, what was expected and what was got, e.g.
 * `metrics.load: expected number, got "x"`.
 *
 * @module
 */

/** A malformed message: `reason` says what was expected and what was got, with the path. */
export class BadMessageError extends Error {
  /** e.g. `metrics.load: expected number, got "x"`. */
  readonly reason: string;
  constructor(reason: string) {
    super(`bad message: ${reason}`);
    this.name = "BadMessageError";
    this.reason = reason;
  }
}

const FAIL: unique symbol = Symbol("fail");
type Fail = typeof FAIL;

// The failure being unwound: set by the failing leaf, path segments pushed by parents.
let failExpected = "";
let failGot: unknown = undefined;
let failPath: (string | number)[] = [];

function fail(expected: string, got: unknown): Fail {
  failExpected = expected;
  failGot = got;
  failPath = [];
  return FAIL;
}

/** A schema for values of type `T`. */
export interface Schema<T> {
  /** What the schema accepts, e.g. `string`, `integer >= 0`, `object`. */
  readonly expected: string;
  /** True for `s.optional(...)` (the key may be missing in an object). */
  readonly optional: boolean;
  /** @internal Returns the value, or FAIL with the failure recorded. */
  readonly check: (value: unknown) => unknown;
  /** Type carrier only (never set). */
  readonly _type?: T;
}

/**
 * The type a schema accepts.
 *
 * @example
 * ```ts
 * import { type Infer, s } from "@lib/codec/mod.ts";
 *
 * const Heartbeat = s.object({ node: s.string(), seq: s.int() });
 * type Heartbeat = Infer<typeof Heartbeat>; // { node: string; seq: number }
 * const hb: Heartbeat = { node: "a1", seq: 1 };
 * ```
 */
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { optional: true } ? K : never;
}[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & unknown;
/** The type of `s.object(shape)`. */
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

/** A "got" text that is shown as is. */
class Described {
  constructor(readonly text: string) {}
}

function make<T>(expected: string, check: (value: unknown) => unknown): Schema<T> {
  return { expected, optional: false, check };
}

/**
 * Describes a value for an error message: strings quoted (shortened), numbers as is,
 * containers by kind.
 *
 * @example
 * ```ts
 * import { describe } from "@lib/codec/mod.ts";
 *
 * describe("x"); // "\"x\""
 * describe([1, 2]); // "an array of 2 items"
 * describe(new Uint8Array(1)); // "1 byte of binary data"
 * ```
 */
export function describe(value: unknown): string {
  if (value instanceof Described) return value.text;
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `the integer ${value} (too large for a number)`;
    case "undefined":
      return "nothing";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
      }
      if (value instanceof Uint8Array) {
        return `${value.length} byte${value.length === 1 ? "" : "s"} of binary data`;
      }
      if (value instanceof Date) return "a timestamp";
      if (value instanceof Map) return "a map";
      return "an object";
    default:
      return typeof value;
  }
}

const IDENT_RE = /^[A-Za-z_$][\w$]*$/;

function formatPath(path: (string | number)[]): string {
  let out = "";
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i];
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENT_RE.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * Checks `value` against `schema` and returns it typed, or throws {@link BadMessageError}.
 *
 * @example
 * ```ts
 * import { s, validate } from "@lib/codec/mod.ts";
 *
 * const Heartbeat = s.object({ node: s.string(), seq: s.int() });
 * const hb = validate(JSON.parse('{"node":"a1","seq":1}'), Heartbeat);
 * console.log(hb.seq); // 1
 * ```
 */
export function validate<T>(value: unknown, schema: Schema<T>): T {
  const result = schema.check(value);
  if (result === FAIL) {
    const path = formatPath(failPath);
    const reason = `${path ? path + ": " : ""}expected ${failExpected}, got ${describe(failGot)}`;
    failGot = undefined;
    throw new BadMessageError(reason);
  }
  return result as T;
}

/**
 * True when `value` matches `schema` (no error is built).
 *
 * @example
 * ```ts
 * import { is, s } from "@lib/codec/mod.ts";
 *
 * const value: unknown = "abc";
 * if (is(value, s.string())) console.log(value.length); // 3
 * ```
 */
export function is<T>(value: unknown, schema: Schema<T>): value is T {
  const ok = schema.check(value) !== FAIL;
  failGot = undefined;
  return ok;
}

function bounds(kind: string, min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `${kind} in [${min}, ${max}]`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

/** Bounds of a number, or of a string's/array's/bytes' length. */
export interface Bounds {
  min?: number;
  max?: number;
}

function string(opts: Bounds = {}): Schema<string> {
  const { min, max } = opts;
  const expected = min === undefined && max === undefined
    ? "string"
    : bounds("string of length", min, max);
  return make(expected, (v) => {
    if (typeof v !== "string") return fail(expected, v);
    if ((min !== undefined && v.length < min) || (max !== undefined && v.length > max)) {
      return fail(expected, v);
    }
    return v;
  });
}

function number(opts: Bounds = {}): Schema<number> {
  const { min, max } = opts;
  const expected = bounds("number", min, max);
  return make(expected, (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return fail(expected, v);
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      return fail(expected, v);
    }
    return v;
  });
}

function int(opts: Bounds = {}): Schema<number> {
  const { min, max } = opts;
  const expected = bounds("integer", min, max);
  return make(expected, (v) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) return fail(expected, v);
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      return fail(expected, v);
    }
    return v;
  });
}

const booleanSchema: Schema<boolean> = make(
  "boolean",
  (v) => typeof v === "boolean" ? v : fail("boolean", v),
);

function bytes(opts: Bounds = {}): Schema<Uint8Array> {
  const { min, max } = opts;
  const expected = min === undefined && max === undefined
    ? "bytes"
    : bounds("bytes of length", min, max);
  return make(expected, (v) => {
    if (!(v instanceof Uint8Array)) return fail(expected, v);
    if ((min !== undefined && v.length < min) || (max !== undefined && v.length > max)) {
      return fail(expected, v);
    }
    return v;
  });
}

type Primitive = string | number | boolean | null;

function literal<const T extends readonly Primitive[]>(...values: T): Schema<T[number]> {
  const expected = values.length === 1
    ? JSON.stringify(values[0])
    : `one of ${values.map((v) => JSON.stringify(v)).join(" | ")}`;
  return make(expected, (v) => {
    for (let i = 0; i < values.length; i++) if (values[i] === v) return v;
    return fail(expected, v);
  });
}

// deno-lint-ignore no-explicit-any
function oneOf<const T extends readonly Schema<any>[]>(...schemas: T): Schema<Infer<T[number]>> {
  const expected = schemas.map((schema) => schema.expected).join(" | ");
  return make(expected, (v) => {
    for (let i = 0; i < schemas.length; i++) {
      const result = schemas[i].check(v);
      if (result !== FAIL) return result;
    }
    return fail(expected, v);
  });
}

function array<T>(item: Schema<T>, opts: Bounds = {}): Schema<T[]> {
  const { min, max } = opts;
  const expected = min === undefined && max === undefined
    ? "array"
    : bounds("array of length", min, max);
  return make(expected, (v) => {
    if (!Array.isArray(v)) return fail(expected, v);
    if ((min !== undefined && v.length < min) || (max !== undefined && v.length > max)) {
      return fail(expected, v);
    }
    for (let i = 0; i < v.length; i++) {
      if (item.check(v[i]) === FAIL) {
        failPath.push(i);
        return FAIL;
      }
    }
    return v;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function record<T>(value: Schema<T>, opts: { maxKeys?: number } = {}): Schema<Record<string, T>> {
  const maxKeys = opts.maxKeys;
  const expected = maxKeys === undefined ? "object" : `object with <= ${maxKeys} keys`;
  return make(expected, (v) => {
    if (!isPlainObject(v)) return fail(expected, v);
    let n = 0;
    for (const key in v) {
      if (maxKeys !== undefined && ++n > maxKeys) return fail(expected, v);
      if (value.check(v[key]) === FAIL) {
        failPath.push(key);
        return FAIL;
      }
    }
    return v;
  });
}

function object<S extends Shape>(
  shape: S,
  opts: { strict?: boolean } = {},
): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const schemas = keys.map((key) => shape[key]);
  const strict = opts.strict ?? false;
  return make("object", (v) => {
    if (!isPlainObject(v)) return fail("object", v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const item = Object.hasOwn(v, key) ? v[key] : undefined;
      if (schemas[i].check(item) === FAIL) {
        failPath.push(key);
        return FAIL;
      }
    }
    if (strict) {
      for (const key in v) {
        if (!Object.hasOwn(shape, key)) {
          return fail(
            `only keys ${keys.join(", ") || "(none)"}`,
            new Described(`unknown key ${JSON.stringify(key)}`),
          );
        }
      }
    }
    return v;
  });
}

function optional<T>(schema: Schema<T>): Schema<T | undefined> & { optional: true } {
  const expected = `${schema.expected} or nothing`;
  return {
    expected,
    optional: true,
    check: (v) => v === undefined ? v : schema.check(v),
  };
}

function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return make(`${schema.expected} or null`, (v) => v === null ? v : schema.check(v));
}

const unknownSchema: Schema<unknown> = make("anything", (v) => v);

/**
 * Schema builders.
 *
 * @example
 * ```ts
 * import { s } from "@lib/codec/mod.ts";
 *
 * const Job = s.object({
 *   id: s.string({ min: 1, max: 64 }),
 *   kind: s.literal("scan", "hash"),
 *   size: s.int({ min: 0 }),
 *   tags: s.optional(s.array(s.string(), { max: 16 })),
 *   meta: s.record(s.unknown()),
 * }, { strict: true });
 * ```
 */
export const s = {
  /** A string, optionally with length bounds. */
  string,
  /** A finite number, optionally bounded. */
  number,
  /** A safe integer, optionally bounded. */
  int,
  /** true or false. */
  boolean: (): Schema<boolean> => booleanSchema,
  /** A byte string (msgpack bin), optionally with length bounds. */
  bytes,
  /** Exactly one of the given primitive values. */
  literal,
  /** The first of the schemas that matches. */
  oneOf,
  /** An array whose items all match, optionally with length bounds. */
  array,
  /** An object (map) with any string keys whose values all match. */
  record,
  /** An object with the given keys; with `strict`, other keys are rejected. */
  object,
  /** The value may be missing (undefined). */
  optional,
  /** The value may be null. */
  nullable,
  /** Anything at all. */
  unknown: (): Schema<unknown> => unknownSchema,
};
