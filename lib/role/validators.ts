/**
 * Option validators for commander: each is a parse function `(value: string) => T` that
 * throws commander's `InvalidArgumentError` with a message "expected X, got Y". Commander
 * prefixes it with the option, so a bad value reads:
 * `option '--interval <ms>' argument 'x' is invalid. expected an integer >= 10, got "x"`.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";

/**
 * A commander option parser.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError, type OptionParser } from "@lib/role/mod.ts";
 * const even: OptionParser<number> = (value) => {
 *   const n = Number(value);
 *   if (!Number.isInteger(n) || n % 2 !== 0) {
 *     throw new InvalidArgumentError(`expected an even integer, got ${JSON.stringify(value)}`);
 *   }
 *   return n;
 * };
 * ```
 */
export type OptionParser<T> = (value: string, previous?: unknown) => T;

/**
 * Bounds for {@link int} and {@link float}.
 *
 * @example
 * ```ts
 * import { int, type RangeOptions } from "@lib/role/mod.ts";
 * const percent: RangeOptions = { min: 0, max: 100 };
 * int(percent)("42"); // 42
 * ```
 */
export interface RangeOptions {
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max?: number;
}

function fail(expected: string, got: string): never {
  throw new InvalidArgumentError(`expected ${expected}, got ${JSON.stringify(got)}`);
}

function rangeText(kind: string, { min, max }: RangeOptions): string {
  if (min !== undefined && max !== undefined) return `${kind} in [${min}, ${max}]`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * An integer option, optionally bounded.
 *
 * @example
 * ```ts
 * import { Command, int } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--interval <ms>", "heartbeat interval", int({ min: 10 }), 1000);
 * int({ min: 1 })("5"); // 5
 * ```
 */
export function int(range: RangeOptions = {}): OptionParser<number> {
  const expected = rangeText("an integer", range);
  return (value: string): number => {
    const text = value.trim();
    if (!INT_RE.test(text)) fail(expected, value);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) fail(expected, value);
    if (range.min !== undefined && n < range.min) fail(expected, value);
    if (range.max !== undefined && n > range.max) fail(expected, value);
    return n;
  };
}

/**
 * A decimal number option, optionally bounded.
 *
 * @example
 * ```ts
 * import { Command, float } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--ratio <x>", "sampling ratio", float({ min: 0, max: 1 }), 0.5);
 * ```
 */
export function float(range: RangeOptions = {}): OptionParser<number> {
  const expected = rangeText("a number", range);
  return (value: string): number => {
    const text = value.trim();
    if (!FLOAT_RE.test(text)) fail(expected, value);
    const n = Number(text);
    if (!Number.isFinite(n)) fail(expected, value);
    if (range.min !== undefined && n < range.min) fail(expected, value);
    if (range.max !== undefined && n > range.max) fail(expected, value);
    return n;
  };
}

/**
 * A positive integer (>= 1).
 *
 * @example
 * ```ts
 * import { Command, positive } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--workers <n>", "worker count", positive, 4);
 * ```
 */
export const positive: OptionParser<number> = int({ min: 1 });

const TCP_RE = /^tcp:\/\/([^\s/]+):(\*|\d{1,5})$/;

/**
 * A ZeroMQ endpoint: `tcp://host:port` (port may be `*`, host may be `*`),
 * `ipc://path` or `inproc://name`.
 *
 * @example
 * ```ts
 * import { Command, endpoint } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--bind <endpoint>", "PUB endpoint", endpoint, "tcp://127.0.0.1:5501");
 * endpoint("tcp://127.0.0.1:*"); // "tcp://127.0.0.1:*"
 * ```
 */
export function endpoint(value: string): string {
  const expected = "an endpoint tcp://host:port|*, ipc://path or inproc://name";
  if (value.startsWith("tcp://")) {
    const m = TCP_RE.exec(value);
    if (!m) fail(expected, value);
    if (m[2] !== "*" && Number(m[2]) > 65535) fail(expected, value);
    return value;
  }
  if (value.startsWith("ipc://")) {
    if (value.length <= "ipc://".length) fail(expected, value);
    return value;
  }
  if (value.startsWith("inproc://")) {
    if (value.length <= "inproc://".length) fail(expected, value);
    return value;
  }
  fail(expected, value);
}

/**
 * One of a fixed set of strings.
 *
 * @example
 * ```ts
 * import { Command, oneOf } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--mode <mode>", "delivery mode", oneOf("fast", "safe"), "safe");
 * ```
 */
export function oneOf<const T extends string>(...values: T[]): OptionParser<T> {
  const expected = `one of ${values.join("|")}`;
  return (value: string): T => {
    if (!(values as string[]).includes(value)) fail(expected, value);
    return value as T;
  };
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration: `250ms`, `2s`, `1.5m`, `1h` or plain milliseconds (`500`), returned in ms.
 *
 * @example
 * ```ts
 * import { Command, duration } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--timeout <duration>", "request timeout", duration, 2500);
 * duration("2s"); // 2000
 * ```
 */
export function duration(value: string): number {
  const m = DURATION_RE.exec(value.trim());
  if (!m) fail("a duration like 250ms, 2s, 1m, 1h or plain ms", value);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "ms"]);
}

/**
 * A comma-separated list of non-empty strings (items are trimmed).
 *
 * @example
 * ```ts
 * import { Command, list } from "@lib/role/mod.ts";
 * const cmd = new Command();
 * cmd.option("--racks <list>", "racks to show", list, []);
 * list("a, b,c"); // ["a", "b", "c"]
 * ```
 */
export function list(value: string): string[] {
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) {
    fail("a comma-separated list of non-empty items", value);
  }
  return items;
}

/**
 * An option parser whose bad values must not be echoed: its error says what was wrong
 * without the value, and the runtime prints `option '--x <v>' argument is invalid. ...`
 * without the argument.
 *
 * @example
 * ```ts
 * import { SecretArgumentError } from "@lib/role/mod.ts";
 * const token = (value: string): string => {
 *   if (value.length < 16) throw new SecretArgumentError(`expected 16+ characters, got ${value.length}`);
 *   return value;
 * };
 * token("0123456789abcdef");
 * ```
 */
export class SecretArgumentError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = "SecretArgumentError";
  }
}

/**
 * What {@link repeatable} returns: a parser the runtime recognises for --help.
 *
 * @example
 * ```ts
 * import { endpoint, repeatable, type RepeatableParser } from "@lib/role/mod.ts";
 * const peers: RepeatableParser<string> = repeatable(endpoint);
 * peers("tcp://127.0.0.1:1,tcp://127.0.0.1:2"); // two endpoints
 * ```
 */
export interface RepeatableParser<T> {
  (value: string, previous?: unknown): T[];
  /** Marks the parser as repeatable (the runtime says so in --help). */
  readonly repeatable: true;
  /** The default shown in --help instead of the default value. */
  readonly defaultText?: string;
}

/**
 * Options of {@link repeatable}.
 *
 * @example
 * ```ts
 * import { endpoint, repeatable, type RepeatableOptions } from "@lib/role/mod.ts";
 * const options: RepeatableOptions = { defaultText: "tcp://127.0.0.1:5501 if no --bind" };
 * repeatable(endpoint, options);
 * ```
 */
export interface RepeatableOptions {
  /**
   * The one default --help shows, for a default that depends on other options (e.g.
   * `"tcp://127.0.0.1:5501 if no --bind"`). The option's value is then `[]` when it is not
   * given (unless a default value is given too).
   */
  defaultText?: string;
}

/**
 * A repeatable option: the flag may be repeated AND each value may be comma-separated,
 * so `--rack A --rack B`, `--rack A,B` and the env fallback `ROLE_RACK=A,B` all give
 * `["A", "B"]`. Each item is trimmed and checked by `parse` (default: a non-empty string).
 * A default value (an array) is replaced, not extended, by the first value given. Under
 * `runRole`, --help adds "repeatable or comma-separated" and shows one default: the
 * `defaultText`, else the default items (`none` for `[]`).
 *
 * @example
 * ```ts
 * import { endpoint, repeatable, runRole } from "@lib/role/mod.ts";
 * await runRole<{ connect: string[]; bind: string[] }>({
 *   name: "monitor_agent",
 *   summary: "Publishes heartbeats",
 *   configure: (cmd) =>
 *     cmd
 *       .option("--bind <endpoint>", "bind the PUB here", repeatable(endpoint), [])
 *       .option(
 *         "--connect <endpoint>",
 *         "subscriber to connect the PUB to",
 *         repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5501 if no --bind" }),
 *       ),
 *   run(options, ctx) {
 *     const connect = options.connect.length > 0 || options.bind.length > 0
 *       ? options.connect
 *       : ["tcp://127.0.0.1:5501"];
 *     ctx.log.info("endpoints", { connect });
 *   },
 * });
 * ```
 */
export function repeatable<T = string>(
  parse?: (value: string) => T,
  options: RepeatableOptions = {},
): RepeatableParser<T> {
  const item = parse ?? ((value: string) => value as T);
  // Arrays this parser made: anything else in `previous` is the default, which is replaced.
  const made = new WeakSet<T[]>();
  const parser = (value: string, previous?: unknown): T[] => {
    const texts = value.split(",").map((text) => text.trim());
    if (texts.some((text) => text === "")) {
      fail("one or more non-empty values, repeated or comma-separated", value);
    }
    const items = texts.map(item);
    const out = Array.isArray(previous) && made.has(previous) ? [...previous, ...items] : items;
    made.add(out);
    return out;
  };
  return Object.assign(parser, {
    repeatable: true as const,
    ...(options.defaultText !== undefined ? { defaultText: options.defaultText } : {}),
  });
}

const BYTE_SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(i)?)?(b)?$/i;
const BYTE_POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4 };

function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} B`;
}

/**
 * A byte size: plain bytes (`512`), SI units (`1KB` = 1000, `1MB`, `1GB`, `1TB`) or IEC
 * units (`64KiB` = 65536, `MiB`, `GiB`, `TiB`); case-insensitive, `B` optional (`64k`).
 * Returns whole bytes.
 *
 * @example
 * ```ts
 * import { byteSize } from "@lib/role/mod.ts";
 * byteSize("64KiB"); // 65536
 * byteSize("1MB"); // 1000000
 * byteSize("512"); // 512
 * ```
 */
export function byteSize(value: string): number {
  const expected = "a byte size like 512, 64KiB or 1MB";
  const m = BYTE_SIZE_RE.exec(value.trim());
  if (!m || (m[3] && !m[2])) fail(expected, value);
  const power = m[2] ? BYTE_POWER[m[2].toLowerCase()] : 0;
  const n = Math.round(Number(m[1]) * (m[3] ? 1024 : 1000) ** power);
  if (!Number.isSafeInteger(n)) fail(expected, value);
  return n;
}

/**
 * A {@link byteSize} within bounds (in bytes).
 *
 * @example
 * ```ts
 * import { byteSizeIn, Command } from "@lib/role/mod.ts";
 * new Command().option("--max-frame <size>", "largest frame", byteSizeIn({ min: 1, max: 2 ** 26 }), 65536);
 * byteSizeIn({ max: 1024 })("1KiB"); // 1024
 * ```
 */
export function byteSizeIn(range: RangeOptions): OptionParser<number> {
  const { min, max } = range;
  const bound = (n: number | undefined) => n === undefined ? "" : formatBytes(n);
  const expected = min !== undefined && max !== undefined
    ? `a byte size in [${bound(min)}, ${bound(max)}]`
    : min !== undefined
    ? `a byte size >= ${bound(min)}`
    : max !== undefined
    ? `a byte size <= ${bound(max)}`
    : "a byte size";
  return (value: string): number => {
    let n: number;
    try {
      n = byteSize(value);
    } catch {
      fail(`${expected} like 512, 64KiB or 1MB`, value);
    }
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) fail(expected, value);
    return n;
  };
}

const Z85_ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/**
 * A CURVE key in Z85 (ZeroMQ RFC 32): 40 characters for 32 bytes. The error never
 * contains the value (it may be a secret key): it says how many characters arrived, or
 * that some are outside the Z85 alphabet.
 *
 * @example
 * ```ts
 * import { Command, z85Key } from "@lib/role/mod.ts";
 * new Command().option("--server-key <z85>", "the server's CURVE public key", z85Key);
 * z85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // the same text
 * ```
 */
export function z85Key(value: string): string {
  const text = value.trim();
  const expected = "expected a 40-character Z85 CURVE key";
  if (text.length !== 40) {
    throw new SecretArgumentError(`${expected}, got ${text.length} characters`);
  }
  for (let i = 0; i < 40; i += 5) {
    let n = 0;
    for (let j = i; j < i + 5; j++) {
      const digit = Z85_ALPHABET.indexOf(text[j]);
      if (digit < 0) {
        throw new SecretArgumentError(`${expected}, got characters outside the Z85 alphabet`);
      }
      n = n * 85 + digit;
    }
    if (n > 0xffff_ffff) {
      throw new SecretArgumentError(`${expected}, got a group of 5 characters above 2^32 - 1`);
    }
  }
  return text;
}

type Access = "read" | "write";

/** A file-system error in words (no Deno permission hint). */
function pathTrouble(error: unknown, access: Access): string {
  if (error instanceof Deno.errors.NotFound) return "does not exist";
  if (error instanceof Deno.errors.NotADirectory) return "not a directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) {
    return access === "read" ? "this role may not read it" : "this role may not write there";
  }
  const text = error instanceof Error ? error.message : String(error);
  const os = /^(.+?) \(os error \d+\)/.exec(text);
  return (os ? os[1] : text.split("\n", 1)[0]).toLowerCase();
}

function permitted(access: Access, path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: access, path }).state === "granted";
  } catch {
    return false;
  }
}

function checkPath(value: string, what: string, check: () => string | undefined): string {
  if (value === "") fail(what, value);
  const trouble = check();
  if (trouble !== undefined) {
    throw new InvalidArgumentError(`expected ${what}, got ${JSON.stringify(value)} (${trouble})`);
  }
  return value;
}

function statOf(path: string, access: Access): Deno.FileInfo | string {
  try {
    if (!permitted("read", path)) throw new Deno.errors.NotCapable(path);
    return Deno.statSync(path);
  } catch (error) {
    return pathTrouble(error, access);
  }
}

/**
 * A path to an existing, readable regular file (symlinks followed), checked when the
 * option is parsed: a bad one prints one line, e.g.
 * `expected a readable file, got "/nonexistent/file.log" (does not exist)`, and exits 2
 * before the role opens anything.
 *
 * @example
 * ```ts
 * import { Command, readableFile } from "@lib/role/mod.ts";
 * new Command().option("--input <file>", "log file to read", readableFile);
 * ```
 */
export function readableFile(value: string): string {
  return checkPath(value, "a readable file", () => {
    const info = statOf(value, "read");
    if (typeof info === "string") return info;
    if (info.isDirectory) return "a directory";
    if (!info.isFile) return "not a regular file";
    try {
      Deno.openSync(value, { read: true }).close();
    } catch (error) {
      return pathTrouble(error, "read");
    }
  });
}

/**
 * A path to an existing directory whose entries can be listed, checked when the option is
 * parsed (one line and exit 2 otherwise).
 *
 * @example
 * ```ts
 * import { Command, readableDir } from "@lib/role/mod.ts";
 * new Command().option("--scan <dir>", "directory to scan", readableDir);
 * ```
 */
export function readableDir(value: string): string {
  return checkPath(value, "a readable directory", () => {
    const info = statOf(value, "read");
    if (typeof info === "string") return info;
    if (!info.isDirectory) return "not a directory";
    try {
      for (const _ of Deno.readDirSync(value)) break;
    } catch (error) {
      return pathTrouble(error, "read");
    }
  });
}

function parentOf(path: string): string | undefined {
  const trimmed = path.replace(/[\\/]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  if (i < 0) return trimmed === "" || trimmed === "." ? undefined : ".";
  return i === 0 ? (trimmed === "" ? undefined : "/") : trimmed.slice(0, i);
}

/**
 * Whether `target` may be written (Deno permission) and `dir`, an existing directory,
 * takes a new file (a probe file is created and removed); the trouble in words, if any.
 */
function probeWritable(target: string, dir: string): string | undefined {
  if (!permitted("write", target)) return "this role may not write there";
  // Probing needs the Deno write permission for that directory itself.
  if (!permitted("write", dir)) return undefined;
  try {
    Deno.removeSync(Deno.makeTempFileSync({ dir, prefix: ".write-check-" }));
  } catch (error) {
    return pathTrouble(error, "write");
  }
}

/**
 * A directory the role can write into, checked when the option is parsed: it exists and
 * is writable (a probe file is created and removed), or it does not exist yet and its
 * nearest existing parent is a writable directory (create it with
 * `Deno.mkdir(path, { recursive: true })`). Otherwise one line, e.g.
 * `expected a writable directory, got "/etc/passwd/sub" (not a directory)`, and exit 2.
 *
 * @example
 * ```ts
 * import { Command, writableDir } from "@lib/role/mod.ts";
 * new Command().option("--out-dir <dir>", "where files are written", writableDir, "dist/out");
 * ```
 */
export function writableDir(value: string): string {
  return checkPath(value, "a writable directory", () => {
    let dir: string | undefined = value;
    while (dir !== undefined) {
      const info = statOf(dir, "write");
      if (typeof info === "string") {
        if (info !== "does not exist") return info;
        dir = parentOf(dir);
        continue;
      }
      if (!info.isDirectory) return "not a directory";
      return probeWritable(value, dir);
    }
    return "does not exist";
  });
}

/**
 * A file the role can create or append to, checked when the option is parsed: it is an
 * existing regular file that opens for writing, or it does not exist and its directory
 * does and is writable (a probe file is created there and removed). Otherwise one line,
 * e.g. `expected a writable file, got "/nonexistent/dir/a.ndjson" (its directory does not
 * exist)`, and exit 2.
 *
 * @example
 * ```ts
 * import { Command, writableFile } from "@lib/role/mod.ts";
 * new Command().option("--acks-out <file>", "where acks are appended", writableFile);
 * ```
 */
export function writableFile(value: string): string {
  return checkPath(value, "a writable file", () => {
    const info = statOf(value, "write");
    if (typeof info !== "string") {
      if (info.isDirectory) return "a directory";
      if (!info.isFile) return "not a regular file";
      if (!permitted("write", value)) return "this role may not write there";
      try {
        Deno.openSync(value, { write: true }).close();
      } catch (error) {
        return pathTrouble(error, "write");
      }
      return undefined;
    }
    if (info !== "does not exist") return info;
    const dir = parentOf(value) ?? ".";
    const parent = statOf(dir, "write");
    if (parent === "does not exist") return "its directory does not exist";
    if (typeof parent === "string") return parent;
    if (!parent.isDirectory) return "not a directory";
    return probeWritable(value, dir);
  });
}

/** A listen address `host:port` (port 0 = any), or `off`. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `host:port` (IPv4 or a name; port 0..65535) or `off` (null).
 *
 * @example
 * ```ts
 * import { listenAddress } from "@lib/role/mod.ts";
 * listenAddress("127.0.0.1:9464"); // { hostname: "127.0.0.1", port: 9464 }
 * listenAddress("off"); // null
 * ```
 */
export function listenAddress(value: string): ListenAddress | null {
  if (value === "off") return null;
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidArgumentError(`expected host:port (port 0..65535) or off, got "${value}"`);
  }
  return { hostname: m[1], port };
}
