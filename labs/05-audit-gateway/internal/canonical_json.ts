/**
 * Canonical JSON: the byte-exact form of a record that the hash chain covers.
 *
 * @module
 */

/** A JSON value as audit records carry it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Serialises a JSON value with object keys sorted (UTF-16 code unit order) and no
 * whitespace, so that equal values always give equal bytes. Throws a TypeError naming the
 * path for anything that is not plain JSON (NaN, Infinity, bytes, undefined, ...).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown, path = "$"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`expected a finite number at ${path}, got ${value}`);
      }
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        return "[" + value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(",") + "]";
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `expected a plain object at ${path}, got ${value.constructor?.name ?? "object"}`,
        );
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      return "{" +
        keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(obj[k], `${path}.${k}`)).join(
          ",",
        ) + "}";
    }
    default:
      throw new TypeError(`expected a JSON value at ${path}, got ${typeof value}`);
  }
}
