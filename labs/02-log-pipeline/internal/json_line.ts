/**
 * Parser for JSON-lines logs (one JSON object per line, as written by bunyan, pino,
 * zap, logrus or ECS loggers).
 *
 * @module
 */
import type { EcsRecord } from "./record.ts";
import { addMessage, type ParseContext, ParseError, parseRfc3339 } from "./syslog.ts";

/** At most this many extra fields are kept in `labels`. */
export const MAX_LABELS = 32;

const TIME_KEYS = ["@timestamp", "timestamp", "time", "ts", "date"];
const LEVEL_KEYS = ["level", "severity", "log.level", "lvl"];
const MESSAGE_KEYS = ["message", "msg"];
const IP_KEYS = [
  "ip",
  "client_ip",
  "clientip",
  "remote_addr",
  "remote_ip",
  "src_ip",
  "source.ip",
  "client.ip",
];
const USER_KEYS = ["user", "username", "user.name", "user_name", "login"];
const HOST_KEYS = ["host", "hostname", "host.name"];

function flatten(value: unknown, prefix: string, out: Map<string, unknown>, depth: number): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && depth < 4) {
    for (const [k, v] of Object.entries(value)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
    }
  } else {
    out.set(prefix, value);
  }
}

function take(fields: Map<string, unknown>, keys: string[]): unknown {
  for (const k of keys) {
    if (fields.has(k)) {
      const v = fields.get(k);
      fields.delete(k);
      return v;
    }
  }
  return undefined;
}

function asTime(value: unknown): string | null {
  if (typeof value === "number" && Number.isFinite(value)) {
    // Seconds (bunyan/zap "ts") or milliseconds since the epoch.
    const ms = value < 1e11 ? value * 1000 : value;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  if (typeof value === "string") return parseRfc3339(value.replace(" ", "T"));
  return null;
}

const PINO_LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/**
 * Parses one JSON object line into the record schema. Known keys map to ECS fields;
 * addresses and user names are pseudonymised; every other scalar goes to `labels`
 * (scrubbed).
 *
 * @example
 * ```ts
 * parseJsonLine('{"time":"2026-01-01T00:00:00Z","level":"info","msg":"hi","ip":"10.0.0.1"}', ctx);
 * ```
 */
export function parseJsonLine(line: string, ctx: ParseContext): EcsRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ParseError(`json: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ParseError(
      `json: expected an object, got ${Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const fields = new Map<string, unknown>();
  flatten(value, "", fields, 0);
  const rawTime = take(fields, TIME_KEYS);
  const timestamp = rawTime === undefined ? ctx.now.toISOString() : asTime(rawTime);
  if (timestamp === null) {
    throw new ParseError(
      `json: expected an RFC 3339 or epoch time, got ${JSON.stringify(rawTime)}`,
    );
  }
  const record: EcsRecord = {
    "@timestamp": timestamp,
    event: { id: ctx.id, dataset: "json", ingested: ctx.ingested },
    log: { format: "json" },
  };
  const level = take(fields, LEVEL_KEYS);
  if (typeof level === "string") record.log.level = level.toLowerCase().slice(0, 16);
  else if (typeof level === "number") record.log.level = PINO_LEVELS[level] ?? String(level);
  const ip = take(fields, IP_KEYS);
  if (ip !== undefined) {
    const token = ctx.anon.ip(String(ip));
    if (token === null) {
      throw new ParseError(
        `json: expected an IP address in the address field, got ${
          JSON.stringify(ctx.anon.text(String(ip)))
        }`,
      );
    }
    record.source = { ip: token };
  }
  const user = take(fields, USER_KEYS);
  if (typeof user === "string" && user !== "") record.user = { name: ctx.anon.user(user) };
  const host = take(fields, HOST_KEYS);
  if (typeof host === "string") record.host = { name: ctx.anon.ip(host) ?? ctx.anon.text(host) };
  const msg = take(fields, MESSAGE_KEYS);
  if (msg !== undefined) {
    addMessage(record, ctx, typeof msg === "string" ? msg : JSON.stringify(msg));
  }
  if (fields.size > 0) {
    const labels: Record<string, string> = {};
    let n = 0;
    for (const [k, v] of fields) {
      if (n++ >= MAX_LABELS) break;
      const text = typeof v === "string" ? v : JSON.stringify(v) ?? "null";
      labels[ctx.anon.text(k).slice(0, 64)] = ctx.anon.ip(text) ?? ctx.anon.text(text);
    }
    record.labels = labels;
  }
  return record;
}
