/**
 * Lab 02 wire protocol (LOGPIPE/1). Every message is multipart:
 *
 * ```
 * collector PUSH -> parser PULL     [ "LOGPIPE/1", "BATCH",  msgpack Batch  ]
 * parser PUSH    -> sink PULL       [ "LOGPIPE/1", "PARSED", msgpack Parsed ]
 * sink ROUTER    -> collector DEALER [ <run id>, "LOGPIPE/1", "ACK", msgpack Ack ]
 * ```
 *
 * (The collector DEALER's routing id is its run id, so the sink's ROUTER addresses the
 * ack to the collector that owns the batch; the DEALER receives `["LOGPIPE/1", "ACK", body]`.)
 *
 * @module
 */
import { BadMessageError, decode, encode, s, type Schema } from "@lib/codec/mod.ts";

/** Protocol name and version: first frame of every message. */
export const PROTOCOL = "LOGPIPE/1";
/** Message types (second frame). */
export const BATCH = "BATCH";
export const PARSED = "PARSED";
export const ACK = "ACK";

/** Defaults shared by the roles. */
export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_WINDOW = 16;
export const DEFAULT_ACK_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;
/** Largest batch a parser accepts (lines). */
export const MAX_BATCH_LINES = 10_000;
/** Largest message any socket accepts (bytes); bigger ones are refused by libzmq. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** High-water marks: few messages queue per pipe, so memory is bounded by the window. */
export const PIPE_HWM = 4;
/** After SIGTERM, parsers and the sink keep pulling until nothing came for this long (ms). */
export const DRAIN_IDLE_MS = 300;
/** Run ids: 16 lower-case hex characters. */
export const RUN_ID_RE = /^[0-9a-f]{16}$/;

const RunSchema = s.string({ min: 16, max: 16 });
const SeqSchema = s.int({ min: 0 });

const BatchSchema = s.object({
  run: RunSchema,
  seq: SeqSchema,
  lines: s.array(s.string(), { min: 1, max: MAX_BATCH_LINES }),
  oversize: s.optional(
    s.array(s.array(s.int({ min: 0 }), { min: 2, max: 2 }), { max: MAX_BATCH_LINES }),
  ),
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

/** Thrown for a message that breaks the protocol; `reason` goes into `bad_message`. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

const text = new TextDecoder();
const utf8 = new TextEncoder();
const PROTOCOL_FRAME = utf8.encode(PROTOCOL);
const BATCH_FRAME = utf8.encode(BATCH);
const PARSED_FRAME = utf8.encode(PARSED);
const ACK_FRAME = utf8.encode(ACK);

function checkHeader(frames: Uint8Array[], type: string, count: number): Uint8Array {
  if (frames.length !== count) {
    throw new ProtocolError(`expected ${count} frames, got ${frames.length}`);
  }
  const proto = text.decode(frames[0]);
  if (proto !== PROTOCOL) {
    throw new ProtocolError(
      `expected protocol ${PROTOCOL}, got ${JSON.stringify(proto.slice(0, 32))}`,
    );
  }
  const got = text.decode(frames[1]);
  if (got !== type) {
    throw new ProtocolError(`expected ${type}, got ${JSON.stringify(got.slice(0, 32))}`);
  }
  return frames[2];
}

function body<T>(bytes: Uint8Array, schema: Schema<unknown>): T {
  try {
    return decode(bytes, schema) as T;
  } catch (error) {
    if (error instanceof BadMessageError) throw new ProtocolError(error.reason);
    throw error;
  }
}

function checkRun(run: string): void {
  if (!RUN_ID_RE.test(run)) {
    throw new ProtocolError(`expected a 16-hex run id, got ${JSON.stringify(run.slice(0, 40))}`);
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

/** Decodes and checks a BATCH message; throws {@linkcode ProtocolError}. */
export function decodeBatch(frames: Uint8Array[]): Batch {
  const b = body<Batch>(checkHeader(frames, BATCH, 3), BatchSchema);
  checkRun(b.run);
  for (const [index] of b.oversize ?? []) {
    if (index >= b.lines.length) {
      throw new ProtocolError(`expected oversize index < ${b.lines.length}, got ${index}`);
    }
  }
  return b;
}

/** Encodes a PARSED message. */
export function encodeParsed(parsed: Parsed): Uint8Array[] {
  return [PROTOCOL_FRAME, PARSED_FRAME, encode(parsed)];
}

/** Decodes and checks a PARSED message (counts must add up); throws {@linkcode ProtocolError}. */
export function decodeParsed(frames: Uint8Array[]): Parsed {
  const p = body<Parsed>(checkHeader(frames, PARSED, 3), ParsedSchema);
  checkRun(p.run);
  if (p.count + p.dead.length !== p.lines) {
    throw new ProtocolError(
      `expected count + dead = lines, got ${p.count} + ${p.dead.length} != ${p.lines}`,
    );
  }
  let newlines = 0;
  for (let i = p.records.indexOf("\n"); i >= 0; i = p.records.indexOf("\n", i + 1)) newlines++;
  if (newlines !== p.count || (p.count > 0 && !p.records.endsWith("\n"))) {
    throw new ProtocolError(`expected ${p.count} NDJSON lines, got ${newlines}`);
  }
  return p;
}

/** Encodes an ACK for the sink's ROUTER (the run id is the routing frame). */
export function encodeAck(ack: Ack): Uint8Array[] {
  return [utf8.encode(ack.run), PROTOCOL_FRAME, ACK_FRAME, encode(ack)];
}

/** Decodes an ACK as the collector's DEALER receives it; throws {@linkcode ProtocolError}. */
export function decodeAck(frames: Uint8Array[]): Ack {
  const a = body<Ack>(checkHeader(frames, ACK, 3), AckSchema);
  checkRun(a.run);
  return a;
}

/** A fresh random run id. */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
