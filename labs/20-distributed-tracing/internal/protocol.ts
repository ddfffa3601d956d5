/**
 * The request chain's wire protocol (DEALER → ROUTER at every hop). The W3C trace context
 * rides in its own frames, the HTTP header values verbatim (empty frame = header absent):
 *
 * ```
 * caller (DEALER)                                            service (ROUTER)
 *   [ "" ][ request-id ][ traceparent ][ tracestate ][ body ]  ------->
 *   <-------  [ "" ][ request-id ][ "ok" | "error" ][ traceresponse ][ body | error text ]
 * ```
 *
 * - request-id: 1..64 bytes chosen by the caller, echoed in the reply (a DEALER has many
 *   requests in flight).
 * - traceparent / tracestate: W3C Trace Context values (`trace_context.ts`), at most 512 and
 *   8192 bytes; anything else there is an invalid header (the trace restarts), not a bad message.
 * - traceresponse: the callee's own span as a traceparent-shaped value (W3C Trace Context
 *   Level 2's `traceresponse`), so a caller learns the trace id; empty when not tracing.
 * - body: msgpack `{item: string, failAt?: string}` going down; the last hop's reply body
 *   is msgpack `{item, servedBy}` and travels back up unchanged.
 *
 * @module
 */

import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

/** Longest traceparent frame read (longer: treated as an invalid header). */
export const MAX_TRACEPARENT_BYTES = 512;
/** Longest tracestate frame read (longer: discarded). */
export const MAX_TRACESTATE_BYTES = 8192;

/** A decoded request envelope (after the ROUTER's routing frames). */
export interface RequestEnvelope {
  requestId: Uint8Array;
  traceparent: string;
  tracestate: string;
  body: Uint8Array;
}

/** A decoded reply envelope. */
export interface ReplyEnvelope {
  requestId: Uint8Array;
  ok: boolean;
  traceresponse: string;
  body: Uint8Array;
}

/** What a request asks for. */
export interface RequestBody {
  item: string;
  /** The service that should fail this request (an injected error, for demos and tests). */
  failAt?: string;
}

const RequestBodySchema = s.object({
  item: s.string({ max: 1024 }),
  failAt: s.optional(s.string({ max: 64 })),
});

const EMPTY = new Uint8Array(0);

function checkRequestId(id: Uint8Array): void {
  if (id.length < 1 || id.length > 64) {
    throw new BadMessageError(`request id must be 1..64 bytes, got ${id.length}`);
  }
}

/**
 * Request frames (as a DEALER sends them).
 *
 * @example
 * ```ts
 * import { encodeRequest } from "./protocol.ts";
 * encodeRequest("1", "", "", { item: "book" }).length; // 5
 * ```
 */
export function encodeRequest(
  requestId: string | Uint8Array,
  traceparent: string,
  tracestate: string,
  body: RequestBody | Uint8Array,
): Uint8Array[] {
  return [
    EMPTY,
    typeof requestId === "string" ? enc.encode(requestId) : requestId,
    traceparent ? enc.encode(traceparent) : EMPTY,
    tracestate ? enc.encode(tracestate) : EMPTY,
    body instanceof Uint8Array ? body : encode(body),
  ];
}

/** Decodes request frames (without routing frames); throws `BadMessageError`. */
export function decodeRequest(frames: Uint8Array[]): RequestEnvelope {
  if (frames.length !== 5) throw new BadMessageError(`expected 5 frames, got ${frames.length}`);
  if (frames[0].length !== 0) throw new BadMessageError("missing empty delimiter frame");
  checkRequestId(frames[1]);
  return {
    requestId: frames[1],
    // Oversized values are kept as a marker that fails parsing (an invalid header).
    traceparent: frames[2].length > MAX_TRACEPARENT_BYTES ? "oversized" : dec.decode(frames[2]),
    tracestate: frames[3].length > MAX_TRACESTATE_BYTES ? "" : dec.decode(frames[3]),
    body: frames[4],
  };
}

/** Decodes a request body; throws `BadMessageError`. */
export function decodeRequestBody(body: Uint8Array): RequestBody {
  return decode(body, RequestBodySchema);
}

/**
 * Reply frames (as a ROUTER sends them, before the routing frames are prepended).
 *
 * @example
 * ```ts
 * import { encodeReply } from "./protocol.ts";
 * encodeReply(new Uint8Array([49]), false, "", "boom").length; // 5
 * ```
 */
export function encodeReply(
  requestId: Uint8Array,
  ok: boolean,
  traceresponse: string,
  body: Uint8Array | string,
): Uint8Array[] {
  return [
    EMPTY,
    requestId,
    enc.encode(ok ? "ok" : "error"),
    traceresponse ? enc.encode(traceresponse) : EMPTY,
    typeof body === "string" ? enc.encode(body) : body,
  ];
}

/** Decodes reply frames; throws `BadMessageError`. */
export function decodeReply(frames: Uint8Array[]): ReplyEnvelope {
  if (frames.length !== 5) throw new BadMessageError(`expected 5 frames, got ${frames.length}`);
  if (frames[0].length !== 0) throw new BadMessageError("missing empty delimiter frame");
  checkRequestId(frames[1]);
  const status = dec.decode(frames[2]);
  if (status !== "ok" && status !== "error") {
    throw new BadMessageError(`status must be "ok" or "error", got ${JSON.stringify(status)}`);
  }
  if (frames[3].length > MAX_TRACEPARENT_BYTES) throw new BadMessageError("traceresponse too long");
  return {
    requestId: frames[1],
    ok: status === "ok",
    traceresponse: dec.decode(frames[3]),
    body: frames[4],
  };
}

/** Frame bytes as text (error messages, ids). */
export function text(bytes: Uint8Array): string {
  return dec.decode(bytes);
}
