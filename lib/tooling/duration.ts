/**
 * Parses a duration like `30s`, `1500ms`, `2m`, `1h` or a bare number of seconds into
 * milliseconds, or throws saying what was expected and what was got.
 *
 * @example
 * ```ts
 * import { parseDuration } from "@lib/tooling/duration.ts";
 *
 * parseDuration("30s"); // 30000
 * parseDuration("250ms"); // 250
 * ```
 *
 * @module
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new Error(`expected a duration like 30s, 500ms, 2m or 1h, got ${JSON.stringify(text)}`);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
  return Math.round(Number(match[1]) * unit);
}
