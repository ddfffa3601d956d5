/**
 * Lab 05 wire protocol: client ↔ gateway (frontend) and gateway ↔ worker (backend).
 *
 * ## Client → gateway (frontend ROUTER; the client is a DEALER, or a REQ)
 *
 * A request is `['', body]` (REQ style, recommended for DEALERs too) or `[body]`. The body
 * is msgpack `{id, record}`: `id` is the client's correlation id (1..128 chars, unique per
 * record: it is also the dedup key), `record` any plain JSON value (the audit record).
 * The gateway answers with the same envelope (`['', reply]` or `[reply]`), reply one of:
 *
 * - `{id, status: "ok", seq, hash}`: durable in the chain at `seq` with `hash`. A retry of
 *   an id already stored gets the very same `seq`/`hash` (plus `duplicate: true`).
 * - `{id, status: "busy", retry_after_ms}`: the in-flight bound is reached; send the same
 *   request again after that many ms.
 * - `{id, status: "invalid", reason}`: the id was readable but the request is not valid
 *   (oversize, an id that is not UTF-8, a `__proto__` or repeated key, a record that is not
 *   JSON); retrying will not help. Unreadable garbage is dropped; a peer that sends mostly
 *   garbage is ignored for a while.
 *
 * ## Gateway ↔ worker (backend ROUTER; the worker is a DEALER)
 *
 * Every message is `[HEADER, command, body?]` (body msgpack):
 *
 * - worker → gateway: `READY {capacity}` (register; `capacity` = records it may hold
 *   unacknowledged: its credit), `ACK [{id, seq, hash, duplicate}]` (durable; each ack gives
 *   one credit back), `NACK [id]` (not taken; re-dispatch), `HB`, `BYE` (stopping).
 * - gateway → worker: `REC <client body bytes>` (one record; costs one credit), `HB`
 *   (answer to the worker's HB), `BYE_OK` (no more records after this; finish and go),
 *   `RESET` (unknown worker: send READY again).
 *
 * @module
 */
import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";
import { canonicalJson, type JsonValue } from "./canonical_json.ts";
import { checkStrictMsgpack } from "./strict_msgpack.ts";

/** First frame of every gateway ↔ worker message (protocol name + version). */
export const WORKER_HEADER = "AUDW01";
/** worker → gateway: register with a credit. */
export const W_READY = "READY";
/** worker → gateway: records made durable. */
export const W_ACK = "ACK";
/** worker → gateway: records handed back undone. */
export const W_NACK = "NACK";
/** both ways: heartbeat. */
export const HEARTBEAT = "HB";
/** worker → gateway: stopping, send nothing more. */
export const W_BYE = "BYE";
/** gateway → worker: one record. */
export const G_RECORD = "REC";
/** gateway → worker: BYE seen; nothing more follows. */
export const G_BYE_OK = "BYE_OK";
/** gateway → worker: unknown worker, register again. */
export const G_RESET = "RESET";
/** Longest accepted correlation id, in characters. */
export const MAX_ID_LENGTH = 128;
/** Largest accepted request body, in bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Largest accepted backend message body, in bytes (ACK batches). */
export const MAX_WORKER_BODY_BYTES = 4 * 1024 * 1024;
/** Status of a durable ack. */
export const STATUS_OK = "ok";
/** Status of an over-the-bound reply. */
export const STATUS_BUSY = "busy";
/** Status of a request that will never be accepted. */
export const STATUS_INVALID = "invalid";

/** A checked client request. */
export interface AuditRequest {
  /** Correlation id (dedup key). */
  id: string;
  /** The audit record. */
  record: JsonValue;
}

/** What the gateway answers. */
export type GatewayReply =
  | { id: string; status: "ok"; seq: number; hash: string; duplicate?: boolean }
  | { id: string; status: "busy"; retry_after_ms: number }
  | { id: string; status: "invalid"; reason: string };

/** One durable ack from a worker. */
export interface WorkerAck {
  id: string;
  seq: number;
  hash: string;
  duplicate: boolean;
}

/** A decoded worker → gateway message. */
export type WorkerMessage =
  | { command: "READY"; capacity: number }
  | { command: "ACK"; acks: WorkerAck[] }
  | { command: "NACK"; ids: string[] }
  | { command: "HB" }
  | { command: "BYE" };

/** A decoded gateway → worker message. */
export type GatewayMessage =
  | { command: "REC"; request: AuditRequest }
  | { command: "HB" }
  | { command: "BYE_OK" }
  | { command: "RESET" };

const RequestSchema = s.object({ id: s.string(), record: s.unknown() });
const ReplySchema = s.object({
  id: s.string(),
  status: s.literal("ok", "busy", "invalid"),
  seq: s.optional(s.int()),
  hash: s.optional(s.string()),
  duplicate: s.optional(s.boolean()),
  retry_after_ms: s.optional(s.int()),
  reason: s.optional(s.string()),
});
const ReadySchema = s.object({ capacity: s.int() });
const AckListSchema = s.array(
  s.object({ id: s.string(), seq: s.int(), hash: s.string(), duplicate: s.boolean() }),
);
const IdListSchema = s.array(s.string());

const text = new TextDecoder("utf-8", { fatal: true });
const bad = (reason: string): never => {
  throw new BadMessageError(reason);
};

function frameText(frame: Uint8Array, what: string): string {
  if (frame.length > 16) bad(`${what}: expected a short command frame, got ${frame.length} bytes`);
  try {
    return text.decode(frame);
  } catch {
    return bad(`${what}: expected UTF-8, got undecodable bytes`);
  }
}

/** A client request split into its envelope and body. */
export interface ClientEnvelope {
  /** Frames to put before the reply: `[route]` or `[route, '']`. */
  envelope: Uint8Array[];
  /** The body frame. */
  body: Uint8Array;
}

/**
 * Splits a frontend ROUTER message into envelope and body: `[route, '', body]` or
 * `[route, body]`. Throws BadMessageError for any other shape or an oversize body.
 *
 * @example
 * ```ts
 * const { envelope, body } = splitClientFrames(await frontend.receive());
 * ```
 */
export function splitClientFrames(frames: readonly Uint8Array[]): ClientEnvelope {
  const parts = clientParts(frames);
  if (parts === undefined) bad(clientShapeReason(frames));
  return parts!;
}

/**
 * {@link splitClientFrames} without throwing: undefined for any other shape (the hot path
 * of a gateway under a garbage flood does not pay for an exception).
 *
 * @example
 * ```ts
 * const parts = clientParts(frames) ?? drop(clientShapeReason(frames));
 * ```
 */
export function clientParts(frames: readonly Uint8Array[]): ClientEnvelope | undefined {
  if (frames.length === 3 && frames[1].length === 0) {
    return { envelope: [frames[0], frames[1]], body: frames[2] };
  }
  if (frames.length === 2 && frames[1].length > 0) {
    return { envelope: [frames[0]], body: frames[1] };
  }
  return undefined;
}

/**
 * Why frames are not a client request (for `bad_message`).
 *
 * @example
 * ```ts
 * clientShapeReason([new Uint8Array(1)]); // "expected frames [route, '', body] or [route, body], got 1 frames"
 * ```
 */
export function clientShapeReason(frames: readonly Uint8Array[]): string {
  return `expected frames [route, '', body] or [route, body], got ${frames.length} frames` +
    (frames.length === 3 ? " with a non-empty delimiter" : "");
}

/**
 * A request whose id was readable but which is invalid otherwise: the gateway answers it
 * with `invalid` (and logs bad_message).
 *
 * @example
 * ```ts
 * try { decodeRequest(body); } catch (e) { if (e instanceof InvalidRequestError) e.id; }
 * ```
 */
export class InvalidRequestError extends BadMessageError {
  /** The request's correlation id. */
  readonly id: string;
  constructor(id: string, reason: string) {
    super(reason);
    this.name = "InvalidRequestError";
    this.id = id;
  }
}

/** What {@link parseRequest} found: the request, or why not (with the id when readable). */
export type RequestCheck =
  | { ok: true; request: AuditRequest }
  | { ok: false; reason: string; id?: string };

/**
 * Checks a request body without throwing: at most {@link MAX_REQUEST_BYTES}, strict
 * msgpack (valid UTF-8 strings, string map keys, no repeated key, no `__proto__`; see
 * `strict_msgpack.ts`), the `{id, record}` shape, an id of 1..{@link MAX_ID_LENGTH}
 * characters and a record that is plain JSON. A refusal carries the `id` whenever the
 * top-level id string could be read (so the gateway can answer `invalid`).
 *
 * @example
 * ```ts
 * const check = parseRequest(encodeRequest({ id: "r1", record: { actor: "alice" } }));
 * if (check.ok) console.log(check.request.id);
 * ```
 */
export function parseRequest(body: Uint8Array): RequestCheck {
  const strict = checkStrictMsgpack(body);
  const refuse = (reason: string, id = strict.id): RequestCheck =>
    id === undefined ? { ok: false, reason } : { ok: false, reason, id };
  if (body.length > MAX_REQUEST_BYTES) {
    return refuse(`request: expected at most ${MAX_REQUEST_BYTES} bytes, got ${body.length}`);
  }
  if (strict.reason !== undefined) return refuse(strict.reason);
  let req: { id: string; record: unknown };
  try {
    req = decode(body, RequestSchema);
  } catch (error) {
    return refuse((error as BadMessageError).reason ?? String(error));
  }
  if (req.id.length < 1 || req.id.length > MAX_ID_LENGTH) {
    return refuse(`id: expected 1..${MAX_ID_LENGTH} characters, got ${req.id.length}`, req.id);
  }
  try {
    canonicalJson(req.record, "record");
  } catch (error) {
    return refuse((error as Error).message, req.id);
  }
  return { ok: true, request: { id: req.id, record: req.record as JsonValue } };
}

/**
 * Decodes and checks a request body ({@link parseRequest}). Throws BadMessageError; an
 * InvalidRequestError (with `id`) when the id was readable.
 *
 * @example
 * ```ts
 * const req = decodeRequest(encodeRequest({ id: "r1", record: { actor: "alice" } }));
 * ```
 */
export function decodeRequest(body: Uint8Array): AuditRequest {
  const check = parseRequest(body);
  if (check.ok) return check.request;
  if (check.id !== undefined) throw new InvalidRequestError(check.id, check.reason);
  throw new BadMessageError(check.reason);
}

/**
 * Encodes a request body.
 *
 * @example
 * ```ts
 * await dealer.send(["", encodeRequest({ id: "r1", record: { action: "login" } })]);
 * ```
 */
export function encodeRequest(request: AuditRequest): Uint8Array {
  return encode(request);
}

/**
 * Encodes a gateway reply.
 *
 * @example
 * ```ts
 * encodeReply({ id: "r1", status: "busy", retry_after_ms: 50 });
 * ```
 */
export function encodeReply(reply: GatewayReply): Uint8Array {
  return encode(reply);
}

/**
 * Decodes a gateway reply (client side).
 *
 * @example
 * ```ts
 * const reply = decodeReply(frames.at(-1)!);
 * if (reply.status === "ok") console.log(reply.seq);
 * ```
 */
export function decodeReply(body: Uint8Array): GatewayReply {
  const r = decode(body, ReplySchema);
  switch (r.status) {
    case "ok":
      if (r.seq === undefined || r.hash === undefined) bad("ok reply: expected seq and hash");
      return {
        id: r.id,
        status: "ok",
        seq: r.seq!,
        hash: r.hash!,
        ...(r.duplicate ? { duplicate: true } : {}),
      };
    case "busy":
      if (r.retry_after_ms === undefined) bad("busy reply: expected retry_after_ms");
      return { id: r.id, status: "busy", retry_after_ms: r.retry_after_ms! };
    default:
      return { id: r.id, status: "invalid", reason: r.reason ?? "" };
  }
}

/**
 * Frames of a worker → gateway message (without the routing id, which the DEALER adds).
 *
 * @example
 * ```ts
 * await dealer.send(workerFrames({ command: "READY", capacity: 64 }));
 * ```
 */
export function workerFrames(message: WorkerMessage): (string | Uint8Array)[] {
  switch (message.command) {
    case "READY":
      return [WORKER_HEADER, W_READY, encode({ capacity: message.capacity })];
    case "ACK":
      return [WORKER_HEADER, W_ACK, encode(message.acks)];
    case "NACK":
      return [WORKER_HEADER, W_NACK, encode(message.ids)];
    default:
      return [WORKER_HEADER, message.command];
  }
}

/**
 * Decodes a backend ROUTER message `[worker, HEADER, command, body?]`.
 *
 * @example
 * ```ts
 * const { worker, message } = decodeWorkerMessage(await backend.receive());
 * ```
 */
export function decodeWorkerMessage(
  frames: readonly Uint8Array[],
): { worker: Uint8Array; message: WorkerMessage } {
  if (frames.length < 3 || frames.length > 4) {
    bad(`expected frames [worker, ${WORKER_HEADER}, command, body?], got ${frames.length} frames`);
  }
  const [worker, header, commandFrame, body] = frames;
  if (frameText(header, "header") !== WORKER_HEADER) {
    bad(`header: expected ${WORKER_HEADER}, got another protocol`);
  }
  const command = frameText(commandFrame, "command");
  const needBody = command === W_READY || command === W_ACK || command === W_NACK;
  if (needBody !== (body !== undefined)) {
    bad(`${command}: expected ${needBody ? "a body frame" : "no body frame"}`);
  }
  if (body && body.length > MAX_WORKER_BODY_BYTES) {
    bad(`${command}: expected at most ${MAX_WORKER_BODY_BYTES} bytes, got ${body.length}`);
  }
  switch (command) {
    case W_READY: {
      const { capacity } = decode(body!, ReadySchema);
      if (capacity < 1 || capacity > 100_000) {
        bad(`READY: expected capacity 1..100000, got ${capacity}`);
      }
      return { worker, message: { command: "READY", capacity } };
    }
    case W_ACK:
      return { worker, message: { command: "ACK", acks: decode(body!, AckListSchema) } };
    case W_NACK:
      return { worker, message: { command: "NACK", ids: decode(body!, IdListSchema) } };
    case HEARTBEAT:
      return { worker, message: { command: "HB" } };
    case W_BYE:
      return { worker, message: { command: "BYE" } };
    default:
      return bad(`command: expected READY|ACK|NACK|HB|BYE, got ${JSON.stringify(command)}`);
  }
}

/**
 * Frames of a gateway → worker message, routing id first. `REC` carries the client's
 * checked body bytes unchanged.
 *
 * @example
 * ```ts
 * await backend.send(gatewayFrames(workerId, G_RECORD, body));
 * ```
 */
export function gatewayFrames(
  worker: Uint8Array,
  command: typeof G_RECORD | typeof HEARTBEAT | typeof G_BYE_OK | typeof G_RESET,
  body?: Uint8Array,
): (string | Uint8Array)[] {
  return body ? [worker, WORKER_HEADER, command, body] : [worker, WORKER_HEADER, command];
}

/**
 * Decodes a message the worker's DEALER received: `[HEADER, command, body?]`.
 *
 * @example
 * ```ts
 * const message = decodeGatewayMessage(await dealer.receive());
 * ```
 */
export function decodeGatewayMessage(frames: readonly Uint8Array[]): GatewayMessage {
  if (frames.length < 2 || frames.length > 3) {
    bad(`expected frames [${WORKER_HEADER}, command, body?], got ${frames.length} frames`);
  }
  if (frameText(frames[0], "header") !== WORKER_HEADER) {
    bad(`header: expected ${WORKER_HEADER}, got another protocol`);
  }
  const command = frameText(frames[1], "command");
  if ((command === G_RECORD) !== (frames.length === 3)) {
    bad(`${command}: expected ${command === G_RECORD ? "a body frame" : "no body frame"}`);
  }
  switch (command) {
    case G_RECORD:
      if (frames[2].length > MAX_REQUEST_BYTES) {
        bad(`REC: expected at most ${MAX_REQUEST_BYTES} bytes, got ${frames[2].length}`);
      }
      return { command: "REC", request: decodeRequest(frames[2]) };
    case HEARTBEAT:
      return { command: "HB" };
    case G_BYE_OK:
      return { command: "BYE_OK" };
    case G_RESET:
      return { command: "RESET" };
    default:
      return bad(`command: expected REC|HB|BYE_OK|RESET, got ${JSON.stringify(command)}`);
  }
}

export { BadMessageError };
