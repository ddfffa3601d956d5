/**
 * Event logging for roles: every record is an `event` name (snake_case) plus flat
 * structured fields, written to stderr as JSON Lines or as a readable (coloured) line.
 *
 * The role runtime configures `@logtape/logtape` once per process
 * ({@link configureLogging}); any code can then get a logger with {@link getRoleLogger}.
 * {@link createLogger} and {@link createMemoryLogger} make standalone loggers that do not
 * touch the process-wide configuration (tools, unit tests).
 *
 * @module
 */

import {
  configureSync,
  disposeSync,
  drain,
  getLogger,
  type Logger as LogtapeLogger,
  type LogLevel as LogtapeLevel,
  type LogRecord,
} from "@logtape/logtape";
import { boundJson, boundValue, cutText, LOG_LIMITS } from "./log_bounds.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limit.ts";

/**
 * Log levels, lowest first.
 *
 * @example
 * ```ts
 * import { LOG_LEVELS } from "@lib/role/mod.ts";
 * console.log(LOG_LEVELS.join("|")); // "debug|info|warn|error|fatal"
 * ```
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

/**
 * One of {@link LOG_LEVELS}.
 *
 * @example
 * ```ts
 * import type { LogLevel } from "@lib/role/mod.ts";
 * const level: LogLevel = "warn";
 * ```
 */
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * Structured fields of a record (flat; Errors are written as their message).
 *
 * @example
 * ```ts
 * import type { LogFields } from "@lib/role/mod.ts";
 * const fields: LogFields = { batch_id: "b-17", count: 500 };
 * ```
 */
export type LogFields = Record<string, unknown>;

/**
 * Output format of a role's log.
 *
 * @example
 * ```ts
 * import type { LogFormat } from "@lib/role/mod.ts";
 * const format: LogFormat = "pretty";
 * ```
 */
export type LogFormat = "json" | "pretty";

/**
 * The logger handed to roles as `ctx.log`: the first argument is the event name.
 *
 * @example
 * ```ts
 * import { createLogger, type Logger } from "@lib/role/mod.ts";
 * const log: Logger = createLogger({ role: "log_parser" });
 * log.info("batch_stored", { batch_id: "b-17", count: 500 });
 * log.limited("warn", "bad_message", { reason: "not msgpack" }, "bad_message:not msgpack");
 * ```
 */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  fatal(event: string, fields?: LogFields): void;
  /** True when records of `level` are written (use to skip building costly fields). */
  isEnabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every record. */
  child(fields: LogFields): Logger;
  /**
   * Writes a record that may repeat (bad input, a refused peer): the first of its `key`
   * (default: the event name) is written, then at most one per window (5 s) with a
   * `suppressed` count of the ones dropped in between. Use it for anything a peer can
   * trigger at will.
   */
  limited(level: LogLevel, event: string, fields?: LogFields, key?: string): void;
}

/**
 * One log record as handed to a sink.
 *
 * @example
 * ```ts
 * import { formatJson, type LogEntry } from "@lib/role/mod.ts";
 * const entry: LogEntry = { ts: 0, level: "info", role: "r", event: "e", fields: {} };
 * formatJson(entry);
 * ```
 */
export interface LogEntry {
  /** Epoch milliseconds. */
  ts: number;
  level: LogLevel;
  role: string;
  event: string;
  fields: LogFields;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };
const TO_LOGTAPE: Record<LogLevel, LogtapeLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
  fatal: "fatal",
};
const FROM_LOGTAPE: Record<LogtapeLevel, LogLevel> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "fatal",
};
const RESERVED = new Set(["ts", "level", "role", "pid", "event"]);

/**
 * Category under which role records are logged through logtape.
 *
 * @example
 * ```ts
 * import { LOG_CATEGORY } from "./logger.ts";
 * console.log(LOG_CATEGORY); // "zmq-labs"
 * ```
 */
export const LOG_CATEGORY = "zmq-labs";

/**
 * Formats a record as one JSON line (without the newline):
 * `{"ts":ISO,"level":"info","role":r,"pid":n,"event":e,...fields}`. Field names that clash
 * with the header get a leading underscore. Values are bounded by `LOG_LIMITS` (durations
 * rounded, arrays/strings/bytes/objects capped); a field that does not fit in the record's
 * 8 KiB becomes the start of its JSON text as a string, and fields with no room left are
 * counted in `_fields_omitted`.
 *
 * @example
 * ```ts
 * import { formatJson } from "@lib/role/mod.ts";
 * formatJson({ ts: 0, level: "info", role: "r", event: "e", fields: { n: 1 } }, 42);
 * // {"ts":"1970-01-01T00:00:00.000Z","level":"info","role":"r","pid":42,"event":"e","n":1}
 * ```
 */
export function formatJson(entry: LogEntry, pid: number = Deno.pid): string {
  let out = `{"ts":"${new Date(entry.ts).toISOString()}","level":"${entry.level}","role":${
    JSON.stringify(entry.role)
  },"pid":${pid},"event":${JSON.stringify(cutText(entry.event, LOG_LIMITS.maxChars))}`;
  const fields = entry.fields;
  let omitted = 0;
  for (const key in fields) {
    const value = boundJson(key, fields[key]);
    if (value === undefined) continue;
    const name = JSON.stringify(RESERVED.has(key) ? `_${key}` : cutText(key, 64));
    let piece = `,${name}:${value}`;
    if (out.length + piece.length > RECORD_BUDGET) {
      // Too long for the record: the start of its JSON text, as a string, if room is left.
      const room = RECORD_BUDGET - out.length - name.length - 2;
      if (room < 64) {
        omitted++;
        continue;
      }
      piece = `,${name}:${jsonStringWithin(value, room)}`;
    }
    out += piece;
  }
  return out + (omitted > 0 ? `,"_fields_omitted":${omitted}}` : "}");
}

/** `text` cut (with a marker) so that its JSON string literal has at most `max` chars. */
function jsonStringWithin(text: string, max: number): string {
  let keep = max - 24; // the marker and the quotes
  let literal = JSON.stringify(cutText(text, keep));
  while (literal.length > max && keep > 0) {
    keep = Math.max(0, keep - (literal.length - max));
    literal = JSON.stringify(cutText(text, keep));
  }
  return literal;
}

/** Room for fields in one record, leaving space for the closing marker. */
const RECORD_BUDGET = LOG_LIMITS.maxRecord - 32;

const COLORS: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[1;35m",
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const CYAN = "\x1b[36m";

function prettyValue(key: string, value: unknown): string | undefined {
  const bounded = boundValue(key, value);
  if (bounded === undefined) return undefined;
  if (typeof bounded === "string" && /^[^\s"=]+$/.test(bounded)) return bounded;
  return JSON.stringify(bounded);
}

/**
 * Formats a record as one readable line: `HH:MM:SS.mmm LEVEL role event key=value ...`.
 *
 * @example
 * ```ts
 * import { formatPretty } from "@lib/role/mod.ts";
 * formatPretty({ ts: Date.now(), level: "info", role: "r", event: "e", fields: { n: 1 } });
 * // "23:59:59.123 INFO  r e n=1"
 * ```
 */
export function formatPretty(entry: LogEntry, color = false): string {
  const d = new Date(entry.ts);
  const time = `${String(d.getHours()).padStart(2, "0")}:${
    String(d.getMinutes()).padStart(2, "0")
  }:${String(d.getSeconds()).padStart(2, "0")}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  const level = entry.level.toUpperCase().padEnd(5);
  let out = color
    ? `${DIM}${time}${RESET} ${
      COLORS[entry.level]
    }${level}${RESET} ${CYAN}${entry.role}${RESET} ${BOLD}${entry.event}${RESET}`
    : `${time} ${level} ${entry.role} ${entry.event}`;
  for (const key in entry.fields) {
    const value = prettyValue(key, entry.fields[key]);
    if (value === undefined) continue;
    out += color ? ` ${DIM}${key}=${RESET}${value}` : ` ${key}=${value}`;
  }
  return cutText(out, LOG_LIMITS.maxRecord);
}

const encoder = new TextEncoder();

/**
 * Writes all of `text` synchronously (records are never lost at `Deno.exit`). A closed
 * pipe is ignored.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "@lib/role/mod.ts";
 * writeAllSync(Deno.stderr, "hello\n");
 * ```
 */
export function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

function stderrLine(line: string): void {
  writeAllSync(Deno.stderr, line + "\n");
}

/**
 * Options of {@link createLogger}.
 *
 * @example
 * ```ts
 * import { createLogger, type CreateLoggerOptions } from "@lib/role/mod.ts";
 * const lines: string[] = [];
 * const options: CreateLoggerOptions = { role: "tool", write: (line) => lines.push(line) };
 * createLogger(options).info("done");
 * ```
 */
export interface CreateLoggerOptions {
  /** Role name written in every record (default "test"). */
  role?: string;
  /** Lowest level written (default "info"). */
  level?: LogLevel;
  /** Line format when `sink` is not given (default "json"). */
  format?: LogFormat;
  /** Colours for the pretty format (default false). */
  color?: boolean;
  /** Where formatted lines go (default: stderr). */
  write?: (line: string) => void;
  /** Receives each record instead of formatting it (overrides format/write). */
  sink?: (entry: LogEntry) => void;
}

/** The per-level methods of {@link Logger}, over one `log(level, event, fields)`. */
abstract class LevelLogger implements Logger {
  protected abstract log(level: LogLevel, event: string, fields?: LogFields): void;
  protected abstract readonly limiter: RateLimiter;
  limited(level: LogLevel, event: string, fields?: LogFields, key?: string): void {
    if (!this.isEnabled(level)) return;
    const decision = this.limiter.check(key ?? event, event);
    if (!decision.allowed) return;
    this.log(
      level,
      event,
      decision.suppressed > 0 ? { ...fields, suppressed: decision.suppressed } : fields,
    );
  }
  abstract isEnabled(level: LogLevel): boolean;
  abstract child(fields: LogFields): Logger;
  debug(event: string, fields?: LogFields): void {
    this.log("debug", event, fields);
  }
  info(event: string, fields?: LogFields): void {
    this.log("info", event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.log("warn", event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.log("error", event, fields);
  }
  fatal(event: string, fields?: LogFields): void {
    this.log("fatal", event, fields);
  }
}

class SinkLogger extends LevelLogger {
  constructor(
    private readonly role: string,
    private readonly rank: number,
    private readonly sink: (entry: LogEntry) => void,
    private readonly bound: LogFields | undefined,
    protected readonly limiter: RateLimiter = new RateLimiter(),
  ) {
    super();
  }
  protected log(level: LogLevel, event: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.rank) return;
    const all = this.bound ? { ...this.bound, ...fields } : (fields ?? {});
    this.sink({ ts: Date.now(), level, role: this.role, event, fields: all });
  }
  isEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.rank;
  }
  child(fields: LogFields): Logger {
    return new SinkLogger(
      this.role,
      this.rank,
      this.sink,
      { ...this.bound, ...fields },
      this.limiter,
    );
  }
}

/**
 * A standalone logger (does not use or change the process-wide logging setup).
 *
 * @example
 * ```ts
 * import { createLogger } from "@lib/role/mod.ts";
 * const log = createLogger({ role: "bench", level: "debug", format: "pretty" });
 * log.info("round_done", { rtt_us: 81 });
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const role = options.role ?? "test";
  const format = options.format ?? "json";
  const write = options.write ?? stderrLine;
  const color = options.color ?? false;
  const sink = options.sink ??
    ((entry: LogEntry) =>
      write(format === "json" ? formatJson(entry) : formatPretty(entry, color)));
  return new SinkLogger(role, LEVEL_RANK[options.level ?? "info"], sink, undefined);
}

/**
 * A logger that keeps its records in memory (see {@link createMemoryLogger}).
 *
 * @example
 * ```ts
 * import { createMemoryLogger, type MemoryLogger } from "@lib/role/mod.ts";
 * const log: MemoryLogger = createMemoryLogger();
 * log.info("tick");
 * console.log(log.events("tick").length); // 1
 * ```
 */
export interface MemoryLogger extends Logger {
  /** Every record so far, oldest first. */
  readonly records: LogEntry[];
  /** The records with this event name. */
  events(event: string): LogEntry[];
  /** Forgets the records. */
  clear(): void;
}

/**
 * A logger for unit tests: collects records (all levels by default) in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * let t = 0;
 * const log = createMemoryLogger({ limiter: { windowMs: 5000, now: () => t } });
 * for (let i = 0; i < 3; i++) log.limited("warn", "bad_message", { reason: "garbage" });
 * assert.equal(log.events("bad_message").length, 1);
 * t = 5000;
 * log.limited("warn", "bad_message", { reason: "garbage" });
 * assert.equal(log.events("bad_message")[1].fields.suppressed, 2);
 * ```
 */
export function createMemoryLogger(
  options: { role?: string; level?: LogLevel; limiter?: RateLimiterOptions } = {},
): MemoryLogger {
  const records: LogEntry[] = [];
  const limiter = new RateLimiter(options.limiter);
  const make = (bound: LogFields | undefined): MemoryLogger => {
    const inner = new SinkLogger(
      options.role ?? "test",
      LEVEL_RANK[options.level ?? "debug"],
      (entry) => records.push(entry),
      bound,
      limiter,
    );
    return {
      records,
      events: (event) => records.filter((r) => r.event === event),
      clear: () => void records.splice(0),
      debug: (e, f) => inner.debug(e, f),
      info: (e, f) => inner.info(e, f),
      warn: (e, f) => inner.warn(e, f),
      error: (e, f) => inner.error(e, f),
      fatal: (e, f) => inner.fatal(e, f),
      isEnabled: (level) => inner.isEnabled(level),
      limited: (level, e, f, key) => inner.limited(level, e, f, key),
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make(undefined);
}

/**
 * Options of {@link configureLogging}.
 *
 * @example
 * ```ts
 * import { configureLogging, type LoggingOptions } from "@lib/role/mod.ts";
 * const options: LoggingOptions = { role: "bench", level: "info", format: "json" };
 * configureLogging(options);
 * ```
 */
export interface LoggingOptions {
  /** Role name written in every record. */
  role: string;
  /** Lowest level written. */
  level: LogLevel;
  /** `auto` = JSON Lines unless stdout is a terminal. */
  format: LogFormat | "auto";
  /** Where lines go (default: stderr, synchronously). */
  write?: (line: string) => void;
  /** Colours for the pretty format (default: stderr is a terminal and NO_COLOR unset). */
  color?: boolean;
}

/** One limiter per process: repeated lines are limited across every child logger. */
const processLimiter = new RateLimiter();

class LogtapeRoleLogger extends LevelLogger {
  protected readonly limiter = processLimiter;
  constructor(private readonly inner: LogtapeLogger, private readonly bound?: LogFields) {
    super();
  }
  protected log(level: LogLevel, event: string, fields?: LogFields): void {
    const lt = TO_LOGTAPE[level];
    if (!this.inner.isEnabledFor(lt)) return;
    const props = this.bound ? { ...this.bound, ...fields } : (fields ?? {});
    switch (level) {
      case "debug":
        return this.inner.debug(event, props);
      case "info":
        return this.inner.info(event, props);
      case "warn":
        return this.inner.warn(event, props);
      case "error":
        return this.inner.error(event, props);
      case "fatal":
        return this.inner.fatal(event, props);
    }
  }
  isEnabled(level: LogLevel): boolean {
    return this.inner.isEnabledFor(TO_LOGTAPE[level]);
  }
  child(fields: LogFields): Logger {
    return new LogtapeRoleLogger(this.inner, { ...this.bound, ...fields });
  }
}

/**
 * Resolves `auto` to the format a role uses: JSON Lines unless stdout is a terminal.
 *
 * @example
 * ```ts
 * import { resolveLogFormat } from "@lib/role/mod.ts";
 * resolveLogFormat("auto"); // "json" when piped
 * ```
 */
export function resolveLogFormat(format: LogFormat | "auto"): LogFormat {
  if (format !== "auto") return format;
  return Deno.stdout.isTerminal() ? "pretty" : "json";
}

/**
 * Configures the process-wide logging (logtape) for a role. Called by `runRole`; call it
 * yourself only in a program that does not use `runRole`.
 *
 * @example
 * ```ts
 * import { configureLogging, getRoleLogger } from "@lib/role/mod.ts";
 * configureLogging({ role: "bench", level: "info", format: "auto" });
 * getRoleLogger().info("started");
 * ```
 */
export function configureLogging(options: LoggingOptions): void {
  const format = resolveLogFormat(options.format);
  const write = options.write ?? stderrLine;
  const color = options.color ?? (Deno.stderr.isTerminal() && !Deno.noColor);
  const sink = (record: LogRecord): void => {
    const fields = record.category.length > 1
      ? { component: record.category.slice(1).join("."), ...record.properties }
      : record.properties;
    const entry: LogEntry = {
      ts: record.timestamp,
      level: FROM_LOGTAPE[record.level],
      role: options.role,
      event: typeof record.rawMessage === "string"
        ? record.rawMessage
        : record.message.map(String).join(""),
      fields,
    };
    write(format === "json" ? formatJson(entry) : formatPretty(entry, color));
  };
  configureSync({
    reset: true,
    sinks: { role: sink },
    loggers: [
      { category: [LOG_CATEGORY], sinks: ["role"], lowestLevel: TO_LOGTAPE[options.level] },
      { category: ["logtape", "meta"], sinks: ["role"], lowestLevel: "warning" },
    ],
  });
}

/**
 * A logger backed by the process-wide logging setup. `component` (e.g. "zmq") is added to
 * each record as the `component` field. Records before {@link configureLogging} are dropped.
 *
 * @example
 * ```ts
 * import { getRoleLogger } from "@lib/role/mod.ts";
 * const log = getRoleLogger("zmq");
 * log.debug("socket_closed", { type: "ROUTER" });
 * ```
 */
export function getRoleLogger(component?: string): Logger {
  const category = component ? [LOG_CATEGORY, ...component.split(".")] : [LOG_CATEGORY];
  return new LogtapeRoleLogger(getLogger(category));
}

/**
 * Flushes buffered records of the process-wide logging; with `dispose` also shuts it down
 * (used right before `Deno.exit`).
 *
 * @example
 * ```ts
 * import { flushLogs } from "@lib/role/mod.ts";
 * await flushLogs();
 * ```
 */
export async function flushLogs(dispose = false): Promise<void> {
  try {
    await drain();
  } catch {
    // nothing buffered or not configured
  }
  if (dispose) {
    try {
      disposeSync();
    } catch {
      // not configured
    }
  }
}

/**
 * Parses a level name (`warning` is accepted for `warn`), or returns undefined.
 *
 * @example
 * ```ts
 * import { parseLevel } from "@lib/role/mod.ts";
 * parseLevel("warning"); // "warn"
 * ```
 */
export function parseLevel(text: string): LogLevel | undefined {
  const t = text.toLowerCase();
  if (t === "warning") return "warn";
  return (LOG_LEVELS as readonly string[]).includes(t) ? t as LogLevel : undefined;
}
