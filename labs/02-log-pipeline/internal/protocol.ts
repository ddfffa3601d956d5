/**
 * Lab 02 wire protocol (LOGPIPE/1). Every message is multipart:
 *
 * ```
 * parser DEALER  -> collector ROUTER [ "LOGPIPE/1", "CREDIT", msgpack Credit ]
 * collector ROUTER -> parser DEALER [ <parser id>, "LOGPIPE/1", "BATCH", msgpack Batch ]
 * parser PUSH    -> sink PULL       [ "LOGPIPE/1", "PARSED", msgpack Parsed ]
 * sink ROUTER    -> collector DEALER [ <run id>, "LOGPIPE/1", "ACK", msgpack Ack ]
 * ```
 *
 * (Batches go only to a parser with credit: see `credit_dispatch.ts`. The parser's
 * DEALER receives `["LOGPIPE/1", "BATCH", body]`.)
 *
 * (The collector DEALER's routing id is its run id, so the sink's ROUTER addresses the
 * ack to the collector that owns the batch; the DEALER receives `["LOGPIPE/1", "ACK", body]`.)
 *
 * @module
 */
import { BadMessageError, decode, encode, s, type Schema } from "@lib/codec/mod.ts";
import { toHex } from "@lib/async/mod.ts";

/** Protocol name and version: first frame of every message. */
export const PROTOCOL = "LOGPIPE/1";
/** Message types (second frame). */
export const BATCH = "BATCH";
export const PARSED = "PARSED";
export const ACK = "ACK";
export const CREDIT = "CREDIT";

/** Defaults shared by the roles. */
export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_WINDOW = 16;
export const DEFAULT_ACK_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;
/** Largest batch a parser accepts (lines). */
export const MAX_BATCH_LINES = 10_000;
/** Largest message any socket accepts (bytes); bigger ones are refused by libzmq. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/**
 * Default cap on a batch's line bytes. Parsing can make a line's text up to ~12× longer
 * on the wire (JSON escapes of control characters are 6 bytes, and a request line is kept
 * twice, as message and URL), so 4 MiB of input stays below the 64 MiB message limit.
 */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Largest `--max-batch-bytes` (MAX_MESSAGE_BYTES / 12, for the same reason). */
export const MAX_BATCH_BYTES = Math.floor(MAX_MESSAGE_BYTES / 12);
/** Batches a parser may hold at once (sent to it, not yet handed to the sink). */
export const DEFAULT_PARSER_WINDOW = 2;
/** Largest parser `--window`. */
export const MAX_PARSER_WINDOW = 16;
/** How often a parser re-sends its credit report when nothing happens (ms). */
export const CREDIT_REFRESH_MS = 1000;
/** Highest batch seq accepted: far beyond any run, far below 2^53 (seq + 1 stays exact). */
export const MAX_SEQ = 2 ** 40;
/** High-water marks: few messages queue per pipe, so memory is bounded by the window. */
export const PIPE_HWM = 4;
/** After SIGTERM, parsers and the sink keep pulling until nothing came for this long (ms). */
export const DRAIN_IDLE_MS = 300;
/** Run ids: 16 lower-case hex characters. */
export const RUN_ID_RE = /^[0-9a-f]{16}$/;

const RunSchema = s.string({ min: 16, max: 16 });
const SeqSchema = s.int({ min: 0, max: MAX_SEQ });

const BatchSchema = s.object({
  run: RunSchema,
  seq: SeqSchema,
  lines: s.array(s.string(), { min: 1, max: MAX_BATCH_LINES }),
  oversize: s.optional(
    s.array(s.array(s.int({ min: 0 }), { min: 2, max: 2 }), { max: MAX_BATCH_LINES }),
  ),
  invalid_utf8: s.optional(s.array(s.int({ min: 0 }), { max: MAX_BATCH_LINES })),
});

const CreditSchema = s.object({
  window: s.int({ min: 1, max: MAX_PARSER_WINDOW }),
  received: s.int({ min: 0 }),
  done: s.int({ min: 0 }),
});

const ParsedSchema = s.object({
  run: RunSchema,
  seq: SeqSchema,
  lines: s.int({ min: 1, max: MAX_BATCH_LINES }),
  count: s.int({ min: 0, max: MAX_BATCH_LINES }),
  records: s.string(),
  dead: s.array(
    s.object({ index: s.int({ min: 0 }), reason: s.string(), line: s.string() }),
    { max: MAX_BATCH_LINES },
  ),
  parser: s.string({ max: 128 }),
});

const AckSchema = s.object({
  run: RunSchema,
  seq: SeqSchema,
  stored: s.int({ min: 0 }),
  dead: s.int({ min: 0 }),
  duplicate: s.boolean(),
});

/** A batch of raw lines from one collector run. */
export interface Batch {
  run: string;
  /** 0, 1, 2, ... per run. */
  seq: number;
  lines: string[];
  /** `[index, original bytes]` of lines the collector cut to the line limit. */
  oversize?: [number, number][];
  /** Indexes of lines whose bytes were not valid UTF-8. */
  invalid_utf8?: number[];
}

/**
 * A parser's credit report: it may hold `window` batches; it has received `received`
 * and finished `done` since it started (absolute counters, so a lost or repeated report
 * does no harm and a restarted collector can pick up from any report).
 */
export interface Credit {
  window: number;
  received: number;
  done: number;
}

/** A parsed batch: NDJSON records and dead letters. */
export interface Parsed {
  run: string;
  seq: number;
  /** Lines in the original batch (= count + dead.length). */
  lines: number;
  /** Records in `records`. */
  count: number;
  /** NDJSON, one record per line. */
  records: string;
  dead: { index: number; reason: string; line: string }[];
  /** Parser instance that did the work (for logs). */
  parser: string;
}

/** The sink's acknowledgement of a stored batch. */
export interface Ack {
  run: string;
  seq: number;
  stored: number;
  dead: number;
  /** True when the batch had been stored before (a re-send). */
  duplicate: boolean;
}

export { BadMessageError };

const text = new TextDecoder();
const utf8 = new TextEncoder();
const PROTOCOL_FRAME = utf8.encode(PROTOCOL);
const BATCH_FRAME = utf8.encode(BATCH);
const PARSED_FRAME = utf8.encode(PARSED);
const ACK_FRAME = utf8.encode(ACK);
const CREDIT_FRAME = utf8.encode(CREDIT);

function checkHeader(frames: Uint8Array[], type: string, count: number): Uint8Array {
  if (frames.length !== count) {
    throw new BadMessageError(`expected ${count} frames, got ${frames.length}`);
  }
  const proto = text.decode(frames[0]);
  if (proto !== PROTOCOL) {
    throw new BadMessageError(
      `expected protocol ${PROTOCOL}, got ${JSON.stringify(proto.slice(0, 32))}`,
    );
  }
  const got = text.decode(frames[1]);
  if (got !== type) {
    throw new BadMessageError(`expected ${type}, got ${JSON.stringify(got.slice(0, 32))}`);
  }
  return frames[2];
}

function body<T>(bytes: Uint8Array, schema: Schema<unknown>): T {
  return decode(bytes, schema) as T;
}

function checkRun(run: string): void {
  if (!RUN_ID_RE.test(run)) {
    throw new BadMessageError(`expected a 16-hex run id, got ${JSON.stringify(run.slice(0, 40))}`);
  }
}

/**
 * Encodes a BATCH message.
 *
 * @example
 * ```ts
 * await push.send(encodeBatch({ run: "0123456789abcdef", seq: 0, lines: ["x"] }));
 * ```
 */
export function encodeBatch(batch: Batch): Uint8Array[] {
  return [PROTOCOL_FRAME, BATCH_FRAME, encode(batch)];
}

/** Decodes and checks a BATCH message; throws {@linkcode BadMessageError}. */
export function decodeBatch(frames: Uint8Array[]): Batch {
  const b = body<Batch>(checkHeader(frames, BATCH, 3), BatchSchema);
  checkRun(b.run);
  for (const index of [...(b.oversize ?? []).map(([i]) => i), ...(b.invalid_utf8 ?? [])]) {
    if (index >= b.lines.length) {
      throw new BadMessageError(`expected line index < ${b.lines.length}, got ${index}`);
    }
  }
  return b;
}

/** Encodes a CREDIT report (parser DEALER -> collector ROUTER). */
export function encodeCredit(credit: Credit): Uint8Array[] {
  return [PROTOCOL_FRAME, CREDIT_FRAME, encode(credit)];
}

/**
 * Decodes a CREDIT report as the collector's ROUTER receives it: `[peer, proto, type,
 * body]`; returns the peer's routing id and the report. Throws {@linkcode BadMessageError}.
 */
export function decodeCredit(frames: Uint8Array[]): { peer: Uint8Array; credit: Credit } {
  if (frames.length !== 4) throw new BadMessageError(`expected 4 frames, got ${frames.length}`);
  const credit = body<Credit>(checkHeader(frames.slice(1), CREDIT, 3), CreditSchema);
  if (credit.done > credit.received) {
    throw new BadMessageError(
      `expected done <= received, got ${credit.done} > ${credit.received}`,
    );
  }
  return { peer: frames[0], credit };
}

/** Encodes a PARSED message. */
export function encodeParsed(parsed: Parsed): Uint8Array[] {
  return [PROTOCOL_FRAME, PARSED_FRAME, encode(parsed)];
}

/** Decodes and checks a PARSED message (counts must add up); throws {@linkcode BadMessageError}. */
export function decodeParsed(frames: Uint8Array[]): Parsed {
  const p = body<Parsed>(checkHeader(frames, PARSED, 3), ParsedSchema);
  checkRun(p.run);
  if (p.count + p.dead.length !== p.lines) {
    throw new BadMessageError(
      `expected count + dead = lines, got ${p.count} + ${p.dead.length} != ${p.lines}`,
    );
  }
  // Every record must be a JSON object whose id is one of this batch's line positions,
  // and every position must be used once (records + dead letters): nothing unparsed or
  // foreign reaches storage.
  const seen = new Uint8Array(p.lines);
  const prefix = `${p.run}-${p.seq}-`;
  const claim = (index: number, what: string) => {
    if (!(index >= 0 && index < p.lines) || seen[index]) {
      throw new BadMessageError(
        `expected each line index 0..${p.lines - 1} once, got ${what} for index ${index}`,
      );
    }
    seen[index] = 1;
  };
  let records = 0;
  let start = 0;
  while (start < p.records.length) {
    const nl = p.records.indexOf("\n", start);
    if (nl < 0) throw new BadMessageError("expected records to end with a newline, got none");
    let record: unknown;
    try {
      record = JSON.parse(p.records.slice(start, nl));
    } catch {
      throw new BadMessageError(`expected a JSON record on line ${records + 1}, got non-JSON text`);
    }
    const id = (record as { event?: { id?: unknown } } | null)?.event?.id;
    if (
      typeof id !== "string" || !id.startsWith(prefix) || !/^\d+$/.test(id.slice(prefix.length))
    ) {
      throw new BadMessageError(
        `expected record ${records + 1} to have event.id ${prefix}<index>, got ${
          JSON.stringify(String(id).slice(0, 60))
        }`,
      );
    }
    claim(Number(id.slice(prefix.length)), "a record");
    records++;
    start = nl + 1;
  }
  if (records !== p.count) {
    throw new BadMessageError(`expected ${p.count} NDJSON lines, got ${records}`);
  }
  for (const d of p.dead) claim(d.index, "a dead letter");
  return p;
}

/** Encodes an ACK for the sink's ROUTER (the run id is the routing frame). */
export function encodeAck(ack: Ack): Uint8Array[] {
  return [utf8.encode(ack.run), PROTOCOL_FRAME, ACK_FRAME, encode(ack)];
}

/** Decodes an ACK as the collector's DEALER receives it; throws {@linkcode BadMessageError}. */
export function decodeAck(frames: Uint8Array[]): Ack {
  const a = body<Ack>(checkHeader(frames, ACK, 3), AckSchema);
  checkRun(a.run);
  return a;
}

/** A fresh random run id. */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return toHex(bytes);
}
