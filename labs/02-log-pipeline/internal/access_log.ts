/**
 * Parser for the nginx/Apache "combined" access log format:
 * `%h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`.
 *
 * @module
 */
import type { EcsRecord } from "./record.ts";
import { type ParseContext, ParseError } from "./syslog.ts";

const COMBINED =
  /^(\S+) (\S+) (\S+) \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Undoes the `\"`/`\\`/`\xHH` escaping nginx and Apache apply inside quoted fields. */
function unescape(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(
    /\\(x[0-9A-Fa-f]{2}|.)/g,
    (_m, e: string) => e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e,
  );
}

/**
 * Parses one combined-format line (the common format, without referrer and user agent,
 * is accepted too).
 *
 * @example
 * ```ts
 * parseCombined('1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl/8"', ctx);
 * ```
 */
export function parseCombined(line: string, ctx: ParseContext): EcsRecord {
  const m = COMBINED.exec(line);
  if (!m) {
    throw new ParseError(
      `combined: expected '%h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"', got ${
        JSON.stringify(line.slice(0, 40))
      }`,
    );
  }
  const [, host, , user, dd, mon, yyyy, hh, mi, ss, tz, request, status, bytes, ref, ua] = m;
  const month = MONTHS.indexOf(mon);
  if (month < 0) {
    throw new ParseError(`combined: expected a month name, got ${JSON.stringify(mon)}`);
  }
  const offsetMin = (tz[0] === "-" ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(3)));
  const t = Date.UTC(Number(yyyy), month, Number(dd), Number(hh), Number(mi), Number(ss)) -
    offsetMin * 60_000;
  if (Number.isNaN(t) || Number(dd) > 31 || Number(hh) > 23 || Number(mi) > 59) {
    throw new ParseError(
      `combined: expected a valid [%t], got ${JSON.stringify(`${dd}/${mon}/${yyyy}`)}`,
    );
  }
  const source = ctx.anon.ip(host);
  const record: EcsRecord = {
    "@timestamp": new Date(t).toISOString(),
    event: { id: ctx.id, dataset: "nginx.access", ingested: ctx.ingested },
    log: { format: "combined" },
    http: {
      response: { status_code: Number(status), body: { bytes: bytes === "-" ? 0 : Number(bytes) } },
    },
  };
  if (source !== null) record.source = { ip: source };
  else record.host = { name: ctx.anon.text(host) };
  if (user !== "-") record.user = { name: ctx.anon.user(unescape(user)) };
  const req = /^([A-Z]{2,16}) (\S+)(?: HTTP\/(\d(?:\.\d)?))?$/.exec(unescape(request));
  if (req) {
    record.http!.request = { method: req[1] };
    if (req[3]) record.http!.version = req[3];
    record.url = { original: ctx.anon.text(req[2]) };
  } else if (request !== "-" && request !== "") {
    record.message = ctx.anon.text(unescape(request));
  }
  if (ref !== undefined && ref !== "-") {
    record.http!.request = { ...record.http!.request, referrer: ctx.anon.text(unescape(ref)) };
  }
  if (ua !== undefined && ua !== "-") record.user_agent = { original: ctx.anon.text(unescape(ua)) };
  return record;
}
