/**
 * JSON text helpers for generated files: a stable serializer (objects one key per line,
 * short arrays of scalars on one line, as `deno fmt` leaves them) and an in-place
 * replacement of one top-level key that keeps the rest of a hand-written file as it is.
 *
 * @module
 */

const INDENT = "  ";

/**
 * Serializes `value` as JSON: objects expanded, arrays of scalars on one line when the
 * line fits `lineWidth` (`prefix` columns already precede the value), everything else
 * expanded. No trailing newline.
 *
 * @example
 * ```ts
 * import { stringifyJson } from "@lib/tooling/json_text.ts";
 *
 * stringifyJson({ a: [1, 2] }); // '{\n  "a": [1, 2]\n}'
 * ```
 */
export function stringifyJson(
  value: unknown,
  lineWidth = 100,
  indent = "",
  prefix = indent.length,
): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const scalars = value.every((v) => v === null || typeof v !== "object");
    if (scalars) {
      const line = `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
      // `prefix` columns (indent and key) precede the array; one more for a trailing comma.
      if (prefix + line.length + 1 <= lineWidth) return line;
    }
    const items = value.map((v) => inner + stringifyJson(v, lineWidth, inner));
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) =>
    v !== undefined
  );
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, v]) => {
    const key = `${inner}${JSON.stringify(k)}: `;
    return key + stringifyJson(v, lineWidth, inner, key.length);
  });
  return `{\n${items.join(",\n")}\n${indent}}`;
}

/** Index just past the JSON value (string, number, literal, object, array) at `start`. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 0) return i + 1;
    } else if (c === "{" || c === "[") {
      depth++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth === 0 && (c === "," || /\s/.test(c))) {
      return i;
    }
  }
  return i;
}

/**
 * Replaces the value of the top-level `key` of the JSON object in `text` with
 * `valueText` (indented for a top-level member), or appends the key when it is missing.
 * Everything else in `text` stays byte for byte.
 *
 * @example
 * ```ts
 * import { replaceTopLevelKey } from "@lib/tooling/json_text.ts";
 *
 * replaceTopLevelKey('{\n  "a": 1,\n  "tasks": {}\n}\n', "tasks", '{ "x": "y" }');
 * // '{\n  "a": 1,\n  "tasks": { "x": "y" }\n}\n'
 * ```
 */
export function replaceTopLevelKey(text: string, key: string, valueText: string): string {
  const open = text.indexOf("{");
  if (open < 0) throw new Error(`expected a JSON object, got ${JSON.stringify(text.slice(0, 40))}`);
  let i = open + 1;
  const skipSpace = () => {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
  };
  skipSpace();
  let lastEnd = open + 1;
  while (i < text.length && text[i] === '"') {
    const keyEnd = valueEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd));
    i = keyEnd;
    while (i < text.length && /[\s:]/.test(text[i])) i++;
    const start = i;
    const end = valueEnd(text, start);
    if (name === key) return text.slice(0, start) + valueText + text.slice(end);
    lastEnd = end;
    i = end;
    skipSpace();
  }
  // Missing: append after the last member.
  const sep = lastEnd > open + 1 ? "," : "";
  return `${text.slice(0, lastEnd)}${sep}\n  ${JSON.stringify(key)}: ${valueText}${
    text.slice(lastEnd)
  }`;
}
