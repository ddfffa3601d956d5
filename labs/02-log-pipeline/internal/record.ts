/**
 * The one normalised record schema every parser produces (ECS-style field names; see
 * SUMMARY.md for the table). Addresses and user names only ever hold pseudonyms
 * (`ip_<hex>`, `user_<hex>`); free text is scrubbed before it is stored.
 *
 * @module
 */

/** Input formats the parsers recognise. */
export type LogFormat = "rfc5424" | "rfc3164" | "combined" | "json";

/** A normalised log record (one NDJSON line in storage). */
export interface EcsRecord {
  /** When the event happened (ISO 8601, UTC). */
  "@timestamp": string;
  /** Flags about the input, e.g. `invalid_utf8` (bytes replaced by U+FFFD). */
  tags?: string[];
  event: {
    /** Unique, stable record id: `<run>-<seq>-<index>` (collector run, batch, line). */
    id: string;
    /** Source dataset: `syslog`, `nginx.access` or `json`. */
    dataset: string;
    /** When the parser processed the line (ISO 8601, UTC). */
    ingested: string;
  };
  log: {
    /** Input format the line was parsed as. */
    format: LogFormat;
    /** Severity keyword (`emerg` ... `debug`, or the JSON line's level). */
    level?: string;
    syslog?: {
      priority: number;
      facility: { code: number };
      severity: { code: number };
      version?: number;
      msgid?: string;
      /** RFC 5424 STRUCTURED-DATA: `{ sdId: { param: value } }` (values scrubbed). */
      structured_data?: Record<string, Record<string, string>>;
    };
  };
  host?: { name?: string };
  process?: { name?: string; pid?: number };
  /** Client address pseudonym. */
  source?: { ip: string };
  /** User name pseudonym. */
  user?: { name: string };
  http?: {
    version?: string;
    request?: { method?: string; referrer?: string };
    response?: { status_code?: number; body?: { bytes: number } };
  };
  url?: { original: string };
  user_agent?: { original: string };
  /** Scrubbed free text. */
  message?: string;
  /** Other JSON-line fields, flattened to `a.b` keys, values scrubbed strings. */
  labels?: Record<string, string>;
}

/** Syslog severity keywords, indexed by severity code (RFC 5424 table 2). */
export const SEVERITY_NAMES = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
] as const;
