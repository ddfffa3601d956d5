/**
 * The `--input` option parser: a comma-separated list of files, directories and `-`
 * (stdin), each checked when the option is parsed with `lib/role`'s `readableFile` /
 * `readableDir`, so a bad path gives one line and exit 2 before any socket opens.
 *
 * @module
 */
import { list, readableDir, readableFile } from "@lib/role/mod.ts";

/**
 * Parses `--input`: every path must be `-`, a readable file or a readable directory.
 *
 * @example
 * ```ts
 * inputPaths("-,/var/log/syslog"); // ["-", "/var/log/syslog"], or throws for a bad path
 * ```
 */
export function inputPaths(value: string): string[] {
  return list(value).map((path) => {
    if (path === "-") return path;
    let isDir = false;
    try {
      isDir = Deno.statSync(path).isDirectory;
    } catch {
      // readableFile says why (does not exist, permission denied, ...)
    }
    return isDir ? readableDir(path) : readableFile(path);
  });
}
