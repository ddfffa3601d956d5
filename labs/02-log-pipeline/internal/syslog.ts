/**
 * Syslog parsers: RFC 5424 (the structured syslog protocol) and RFC 3164 (the BSD
 * syslog format), to {@linkcode EcsRecord}.
 *
 * @module
 */
import type { Anonymiser } from "./anonymiser.ts";
import { type EcsRecord, SEVERITY_NAMES } from "./record.ts";

/** A line that cannot be parsed; `message` is the dead-letter reason. */
export class ParseError extends Error {
  override name = "ParseError";
}

/** What every parser gets besides the line. */
export interface ParseContext {
  anon: Anonymiser;
  /** Record id (`<run>-<seq>-<index>`). */
  id: string;
  /** Processing time (ISO); also the reference for RFC 3164's year-less timestamps. */
  now: Date;
  ingested: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses `<PRI>` at the start of a line; returns [pri, rest]. */
function parsePri(line: string, format: string): [number, string] {
  const close = line.indexOf(">");
  if (line[0] !== "<" || close < 2 || close > 4) {
    throw new ParseError(
      `${format}: expected <PRI> at the start, got ${JSON.stringify(line.slice(0, 6))}`,
    );
  }
  const digits = line.slice(1, close);
  if (!/^\d+$/.test(digits) || (digits.length > 1 && digits[0] === "0") || Number(digits) > 191) {
    throw new ParseError(`${format}: expected PRI 0..191, got ${JSON.stringify(digits)}`);
  }
  return [Number(digits), line.slice(close + 1)];
}

function syslogFields(pri: number) {
  const severity = pri & 7;
  return {
    level: SEVERITY_NAMES[severity],
    syslog: { priority: pri, facility: { code: pri >> 3 }, severity: { code: severity } },
  };
}

/** Hostnames may be addresses: pseudonymise those, keep names. */
function hostName(ctx: ParseContext, host: string): string {
  return ctx.anon.ip(host.replace(/^\[|\]$/g, "")) ?? ctx.anon.text(host);
}

/** Validates an RFC 3339 timestamp as RFC 5424 restricts it and returns it as UTC ISO. */
export function parseRfc3339(text: string): string | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || y < 1) return null;
  return new Date(ms).toISOString();
}

/** Reads one RFC 5424 header field (up to the next space). */
function field(rest: string, pos: number, name: string, max: number): [string, number] {
  const sp = rest.indexOf(" ", pos);
  if (sp < 0) {
    throw new ParseError(`rfc5424: expected ${name} followed by a space, got end of line`);
  }
  const value = rest.slice(pos, sp);
  if (value.length === 0 || value.length > max) {
    throw new ParseError(
      `rfc5424: expected ${name} of 1..${max} characters, got ${JSON.stringify(value)}`,
    );
  }
  return [value, sp + 1];
}

/** Parses RFC 5424 STRUCTURED-DATA starting at `pos`; returns [data, next position]. */
function structuredData(
  ctx: ParseContext,
  s: string,
  pos: number,
): [Record<string, Record<string, string>> | undefined, number] {
  if (s[pos] === "-") return [undefined, pos + 1];
  if (s[pos] !== "[") {
    throw new ParseError(
      `rfc5424: expected STRUCTURED-DATA ("-" or "["), got ${
        JSON.stringify(s.slice(pos, pos + 8))
      }`,
    );
  }
  const data: Record<string, Record<string, string>> = {};
  while (s[pos] === "[") {
    const idMatch = /^[^\s=\]"]{1,32}/.exec(s.slice(pos + 1, pos + 34));
    if (!idMatch) throw new ParseError('rfc5424: expected SD-ID after "["');
    const params: Record<string, string> = {};
    pos += 1 + idMatch[0].length;
    while (s[pos] === " ") {
      const nameMatch = /^[^\s=\]"]{1,32}/.exec(s.slice(pos + 1, pos + 34));
      if (
        !nameMatch || s[pos + 1 + nameMatch[0].length] !== "=" ||
        s[pos + 2 + nameMatch[0].length] !== '"'
      ) {
        throw new ParseError(`rfc5424: expected PARAM-NAME="..." in [${idMatch[0]}]`);
      }
      pos += 3 + nameMatch[0].length;
      let value = "";
      for (;;) {
        const c = s[pos];
        if (c === undefined) {
          throw new ParseError(`rfc5424: unterminated PARAM-VALUE in [${idMatch[0]}]`);
        }
        if (c === "\\" && (s[pos + 1] === '"' || s[pos + 1] === "\\" || s[pos + 1] === "]")) {
          value += s[pos + 1];
          pos += 2;
        } else if (c === '"') {
          pos++;
          break;
        } else {
          value += c;
          pos++;
        }
      }
      params[nameMatch[0]] = ctx.anon.ip(value) ?? ctx.anon.text(value);
    }
    if (s[pos] !== "]") throw new ParseError(`rfc5424: expected "]" closing [${idMatch[0]}]`);
    pos++;
    data[idMatch[0]] = params;
  }
  return [data, pos];
}

/**
 * Parses an RFC 5424 line:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
 *
 * @example
 * ```ts
 * parseRfc5424('<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - su root failed', ctx);
 * ```
 */
export function parseRfc5424(line: string, ctx: ParseContext): EcsRecord {
  const [pri, rest] = parsePri(line, "rfc5424");
  const v = /^([1-9]\d{0,2}) /.exec(rest);
  if (!v) {
    throw new ParseError(
      `rfc5424: expected VERSION after PRI, got ${JSON.stringify(rest.slice(0, 4))}`,
    );
  }
  let pos = v[0].length;
  let ts: string, host: string, app: string, procid: string, msgid: string;
  [ts, pos] = field(rest, pos, "TIMESTAMP", 64);
  [host, pos] = field(rest, pos, "HOSTNAME", 255);
  [app, pos] = field(rest, pos, "APP-NAME", 48);
  [procid, pos] = field(rest, pos, "PROCID", 128);
  [msgid, pos] = field(rest, pos, "MSGID", 32);
  const timestamp = ts === "-" ? ctx.now.toISOString() : parseRfc3339(ts);
  if (timestamp === null) {
    throw new ParseError(`rfc5424: expected an RFC 3339 TIMESTAMP, got ${JSON.stringify(ts)}`);
  }
  const [sd, after] = structuredData(ctx, rest, pos);
  let msg: string | undefined;
  if (after < rest.length) {
    if (rest[after] !== " ") throw new ParseError("rfc5424: expected a space before MSG");
    msg = rest.slice(after + 1);
    if (msg.startsWith("\uFEFF")) msg = msg.slice(1);
  }
  const { level, syslog } = syslogFields(pri);
  const record: EcsRecord = {
    "@timestamp": timestamp,
    event: { id: ctx.id, dataset: "syslog", ingested: ctx.ingested },
    log: {
      format: "rfc5424",
      level,
      syslog: {
        ...syslog,
        version: Number(v[1]),
        ...(msgid !== "-" ? { msgid } : {}),
        ...(sd ? { structured_data: sd } : {}),
      },
    },
  };
  if (host !== "-") record.host = { name: hostName(ctx, host) };
  if (app !== "-" || procid !== "-") {
    record.process = {};
    if (app !== "-") record.process.name = app;
    if (/^\d+$/.test(procid)) record.process.pid = Number(procid);
  }
  if (msg !== undefined) addMessage(record, ctx, msg);
  return record;
}

/** Scrubs free text into `message` and fills `user.name` from it when found. */
export function addMessage(record: EcsRecord, ctx: ParseContext, msg: string): void {
  const { text, user } = ctx.anon.scrub(msg);
  record.message = text;
  if (user !== undefined && !record.user) record.user = { name: ctx.anon.user(user) };
}

/**
 * Parses an RFC 3164 line: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG`. The year is
 * not in the line: it is the reference year, or the one before when that would put the
 * event more than a day in the future (December logs read in January).
 *
 * @example
 * ```ts
 * parseRfc3164("<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed", ctx);
 * ```
 */
export function parseRfc3164(line: string, ctx: ParseContext): EcsRecord {
  const [pri, rest] = parsePri(line, "rfc3164");
  const m = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\S+) (.*)$/s.exec(rest);
  if (!m) {
    throw new ParseError(
      `rfc3164: expected "Mmm dd hh:mm:ss HOSTNAME MSG" after PRI, got ${
        JSON.stringify(rest.slice(0, 24))
      }`,
    );
  }
  const month = MONTHS.indexOf(m[1]);
  const [day, h, mi, s] = [Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5])];
  if (month < 0 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) {
    throw new ParseError(
      `rfc3164: expected a valid TIMESTAMP, got ${JSON.stringify(rest.slice(0, 15))}`,
    );
  }
  let year = ctx.now.getUTCFullYear();
  let t = Date.UTC(year, month, day, h, mi, s);
  if (t > ctx.now.getTime() + 86_400_000) t = Date.UTC(--year, month, day, h, mi, s);
  const { level, syslog } = syslogFields(pri);
  const record: EcsRecord = {
    "@timestamp": new Date(t).toISOString(),
    event: { id: ctx.id, dataset: "syslog", ingested: ctx.ingested },
    log: { format: "rfc3164", level, syslog },
    host: { name: hostName(ctx, m[6]) },
  };
  let msg = m[7];
  const tag = /^([\w./-]{1,32})(?:\[(\d{1,10})\])?: ?/.exec(msg);
  if (tag) {
    record.process = { name: tag[1] };
    if (tag[2] !== undefined) record.process.pid = Number(tag[2]);
    msg = msg.slice(tag[0].length);
  }
  addMessage(record, ctx, msg);
  return record;
}
