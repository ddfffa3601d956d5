/**
 * Option parsers shared by Lab 10's roles.
 *
 * @module
 */
import { writableFile } from "@lib/role/mod.ts";

/**
 * `--db`: `:memory:` or a SQLite file the role can create or write (checked while parsing,
 * so a bad path is one line and exit 2 before any socket opens).
 *
 * @example
 * ```ts
 * import { sqlitePath } from "./options.ts";
 * sqlitePath(":memory:"); // ":memory:"
 * ```
 */
export function sqlitePath(value: string): string {
  return value === ":memory:" ? value : writableFile(value);
}
