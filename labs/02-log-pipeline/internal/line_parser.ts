/**
 * Detects a line's format, parses and anonymises it, and turns a whole batch of lines
 * into NDJSON records plus dead letters. This is the parser role's work, and also what
 * the benchmark runs in a single process as the baseline.
 *
 * @module
 */
import { type Anonymiser, ScrubBudgetError } from "./anonymiser.ts";
import { parseCombined } from "./access_log.ts";
import { parseJsonLine } from "./json_line.ts";
import type { EcsRecord } from "./record.ts";
import { type ParseContext, ParseError, parseRfc3164, parseRfc5424 } from "./syslog.ts";

/** A line that could not be parsed, as the parser forwards it to the sink. */
export interface DeadLetter {
  /** Index of the line in its batch. */
  index: number;
  /** Why it failed (what was expected, what was got). */
  reason: string;
  /** The line after free-text scrubbing (never the raw line: it may hold addresses). */
  line: string;
}

/** A parsed batch: NDJSON text (one record per line) and the failures. */
export interface ParsedBatch {
  /** Records as NDJSON, each line ending in "\n". */
  ndjson: string;
  /** How many records `ndjson` holds. */
  count: number;
  dead: DeadLetter[];
}

/**
 * Parses one line, picking the format from its first characters:
 * `<PRI>1 ` → RFC 5424, `<PRI>` otherwise → RFC 3164, `{` → JSON, else combined.
 * Throws {@linkcode ParseError} with the reason.
 *
 * @example
 * ```ts
 * const rec = parseLine("<13>Oct 11 22:14:15 host app: hi", ctx);
 * ```
 */
export function parseLine(line: string, ctx: ParseContext): EcsRecord {
  if (line.length === 0 || line.trim() === "") throw new ParseError("empty line");
  const c = line[0];
  if (c === "<") {
    return /^<\d{1,3}>[1-9]\d{0,2} /.test(line) ? parseRfc5424(line, ctx) : parseRfc3164(line, ctx);
  }
  if (c === "{") return parseJsonLine(line, ctx);
  if (/^[0-9A-Fa-f:.\[]/.test(c) || /^\S+ \S+ \S+ \[/.test(line)) return parseCombined(line, ctx);
  throw new ParseError(
    `unrecognised format: expected RFC 5424/3164 syslog, combined access log or a JSON object, got ${
      JSON.stringify(line.slice(0, 16))
    }...`,
  );
}

/** Options for {@linkcode processBatch}. */
export interface ProcessOptions {
  anon: Anonymiser;
  /** Collector run id and batch sequence, used for record ids. */
  run: string;
  seq: number;
  now?: Date;
  /** Indexes of lines the collector cut because they were too long, with their size. */
  oversize?: Map<number, number>;
  /** Longest line kept, for the dead-letter reason of oversize lines. */
  maxLineBytes?: number;
  /** Indexes of lines that were not valid UTF-8: their records are tagged `invalid_utf8`. */
  invalidUtf8?: Set<number>;
}

/** What a dead letter keeps of a line: the scrubbed text, or nothing if it cannot be scrubbed. */
function safeText(anon: Anonymiser, line: string): string {
  try {
    return anon.text(line);
  } catch (error) {
    if (!(error instanceof ScrubBudgetError)) throw error;
    return `[REDACTED:unscrubbable line of ${line.length} characters]`;
  }
}

/**
 * Parses and anonymises a batch. Every line becomes exactly one record or one dead
 * letter: `count + dead.length === lines.length`.
 *
 * @example
 * ```ts
 * const out = processBatch(["{\"msg\":\"hi\"}", "garbage"], { anon, run: "r1", seq: 0 });
 * // out.count === 1, out.dead[0].index === 1
 * ```
 */
export function processBatch(lines: string[], options: ProcessOptions): ParsedBatch {
  const now = options.now ?? new Date();
  const ingested = now.toISOString();
  const dead: DeadLetter[] = [];
  const parts: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const ctx: ParseContext = {
      anon: options.anon,
      id: `${options.run}-${options.seq}-${index}`,
      now,
      ingested,
    };
    const cut = options.oversize?.get(index);
    if (cut !== undefined) {
      dead.push({
        index,
        reason: `line too long: expected at most ${
          options.maxLineBytes ?? "the limit"
        } bytes, got ${cut}`,
        line: safeText(options.anon, line),
      });
      continue;
    }
    const invalid = options.invalidUtf8?.has(index) ?? false;
    try {
      const record = parseLine(line, ctx);
      if (invalid) record.tags = ["invalid_utf8"];
      parts.push(JSON.stringify(record));
    } catch (error) {
      // A line whose scrubbing ran over its budget is dead-lettered with that reason.
      let reason = error instanceof ParseError || error instanceof ScrubBudgetError
        ? error.message
        : `parser error: ${String(error)}`;
      if (invalid) reason += " (the line was not valid UTF-8)";
      dead.push({
        index,
        reason: safeText(options.anon, reason),
        line: safeText(options.anon, line),
      });
    }
  }
  return { ndjson: parts.length ? parts.join("\n") + "\n" : "", count: parts.length, dead };
}
