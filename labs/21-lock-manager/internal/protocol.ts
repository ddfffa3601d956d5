/**
 * Lab 21 wire protocols, one msgpack frame per message (a DEALER sends `[body]`, the ROUTER
 * sees `[identity, body]`), each checked by a schema on the way in: a malformed frame throws
 * BadMessageError, which the role logs as `bad_message` and answers with `error` when it can.
 *
 * Lock service (lock_client DEALER → lock_server ROUTER): `open`, `keepalive`, `acquire`,
 * `release`, `close`, `status`; every request carries a client-chosen `req` number that its
 * reply echoes. The session id is chosen by the client, so `open` (and every other request)
 * is idempotent and can be re-sent.
 *
 * Guard (resource_guard ROUTER): `read` and `write` of a counter, each with the writer's
 * fencing token.
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s, validate } from "@lib/codec/mod.ts";

/** Longest lock name accepted. */
export const MAX_LOCK_NAME = 128;
/** Longest session id accepted. */
export const MAX_SESSION_ID = 64;
/**
 * Largest request frame lock_server and resource_guard accept (libzmq `maxMessageSize`: a
 * bigger frame drops the sender's connection before it is read). Requests are a few hundred
 * bytes.
 */
export const MAX_REQUEST_BYTES = 64 * 1024;

const req = s.int({ min: 0 });
const session = s.string({ min: 1, max: MAX_SESSION_ID });
const lock = s.string({ min: 1, max: MAX_LOCK_NAME });
const token = s.int({ min: 1 });
/** A lock mode: one exclusive (write) holder, or any number of shared (read) holders. */
export const Mode = s.literal("exclusive", "shared");
/** A lock mode. */
export type Mode = Infer<typeof Mode>;

const requestSchemas = {
  open: s.object({ kind: s.literal("open"), req, session }, { strict: true }),
  keepalive: s.object({ kind: s.literal("keepalive"), req, session }, { strict: true }),
  acquire: s.object({
    kind: s.literal("acquire"),
    req,
    session,
    lock,
    mode: Mode,
    /** 0 = try once; otherwise wait in the FIFO queue at most this long. */
    wait_ms: s.int({ min: 0, max: 86_400_000 }),
  }, { strict: true }),
  release: s.object({ kind: s.literal("release"), req, session, lock, token }, { strict: true }),
  close: s.object({ kind: s.literal("close"), req, session }, { strict: true }),
  status: s.object({ kind: s.literal("status"), req }, { strict: true }),
};

/** A request to lock_server. */
export type LockRequest = { [K in keyof typeof requestSchemas]: Infer<(typeof requestSchemas)[K]> }[
  keyof typeof requestSchemas
];

/** One lock as `status` and the live view show it. */
export const LockInfo = s.object({
  lock,
  state: s.string(),
  token: s.int({ min: 0 }),
  holders: s.array(s.object({ session, token, mode: Mode, lease_ms: s.int() })),
  waiters: s.array(s.object({ session, mode: Mode, waited_ms: s.int() })),
  delay_ms: s.int({ min: 0 }),
});
/** One lock as `status` shows it. */
export type LockInfo = Infer<typeof LockInfo>;

const replySchemas = {
  opened: s.object({
    kind: s.literal("opened"),
    req,
    session,
    ttl_ms: s.int({ min: 1 }),
    lock_delay_ms: s.int({ min: 0 }),
  }),
  alive: s.object({ kind: s.literal("alive"), req, ttl_ms: s.int({ min: 1 }) }),
  granted: s.object({ kind: s.literal("granted"), req, lock, token, mode: Mode }),
  queued: s.object({ kind: s.literal("queued"), req, lock, position: s.int({ min: 1 }) }),
  not_granted: s.object({
    kind: s.literal("not_granted"),
    req,
    lock,
    reason: s.literal("held", "lock_delay", "timeout"),
  }),
  released: s.object({ kind: s.literal("released"), req, lock, token }),
  refused: s.object({
    kind: s.literal("refused"),
    req,
    reason: s.string(),
    lock: s.optional(lock),
  }),
  closed: s.object({ kind: s.literal("closed"), req }),
  status: s.object({
    kind: s.literal("status"),
    req,
    sessions: s.int({ min: 0 }),
    locks: s.array(LockInfo, { max: 100_000 }),
  }),
  error: s.object({ kind: s.literal("error"), req: s.optional(req), reason: s.string() }),
};

/** A reply from lock_server. */
export type LockReply = { [K in keyof typeof replySchemas]: Infer<(typeof replySchemas)[K]> }[
  keyof typeof replySchemas
];

/** A reply of one kind. */
export type ReplyOf<K extends LockReply["kind"]> = Extract<LockReply, { kind: K }>;

const Kinded = s.object({ kind: s.string({ max: 32 }) });

function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  return frames[0];
}

function byKind<T>(
  frames: Uint8Array[],
  schemas: Record<string, import("@lib/codec/mod.ts").Schema<unknown>>,
  what: string,
): T {
  const value = decode(oneFrame(frames), s.unknown());
  const { kind } = validate(value, Kinded);
  const schema = Object.hasOwn(schemas, kind) ? schemas[kind] : undefined;
  if (!schema) throw new BadMessageError(`unknown ${what} kind ${JSON.stringify(kind)}`);
  return validate(value, schema) as T;
}

/**
 * Encodes a request to lock_server.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest } from "./protocol.ts";
 * const frame = encodeRequest({ kind: "open", req: 1, session: "s1" });
 * console.log(decodeRequest([frame]).kind); // "open"
 * ```
 */
export function encodeRequest(request: LockRequest): Uint8Array {
  return encode(request);
}

/**
 * Decodes a request of one frame; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest } from "./protocol.ts";
 * decodeRequest([encodeRequest({ kind: "status", req: 7 })]); // { kind: "status", req: 7 }
 * ```
 */
export function decodeRequest(frames: Uint8Array[]): LockRequest {
  return byKind<LockRequest>(frames, requestSchemas, "request");
}

/**
 * Encodes a reply from lock_server.
 *
 * @example
 * ```ts
 * import { decodeReply, encodeReply } from "./protocol.ts";
 * const frame = encodeReply({ kind: "closed", req: 3 });
 * console.log(decodeReply([frame])); // { kind: "closed", req: 3 }
 * ```
 */
export function encodeReply(reply: LockReply): Uint8Array {
  return encode(reply);
}

/**
 * Decodes a reply of one frame; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeReply, encodeReply } from "./protocol.ts";
 * decodeReply([encodeReply({ kind: "alive", req: 1, ttl_ms: 5000 })]).kind; // "alive"
 * ```
 */
export function decodeReply(frames: Uint8Array[]): LockReply {
  return byKind<LockReply>(frames, replySchemas, "reply");
}

const guardSchemas = {
  read: s.object({ kind: s.literal("read"), req, token: s.optional(token) }, { strict: true }),
  write: s.object(
    { kind: s.literal("write"), req, token, value: s.int() },
    { strict: true },
  ),
};

/** A request to resource_guard. */
export type GuardRequest = { [K in keyof typeof guardSchemas]: Infer<(typeof guardSchemas)[K]> }[
  keyof typeof guardSchemas
];

const guardReplySchemas = {
  value: s.object({ kind: s.literal("value"), req, value: s.int(), highest: s.int({ min: 0 }) }),
  written: s.object({ kind: s.literal("written"), req, value: s.int(), token }),
  rejected: s.object({
    kind: s.literal("rejected"),
    req,
    reason: s.literal("stale_token"),
    token,
    highest: s.int({ min: 0 }),
  }),
  error: s.object({ kind: s.literal("error"), req: s.optional(req), reason: s.string() }),
};

/** A reply from resource_guard. */
export type GuardReply = {
  [K in keyof typeof guardReplySchemas]: Infer<(typeof guardReplySchemas)[K]>;
}[keyof typeof guardReplySchemas];

/**
 * Encodes a guard request or reply.
 *
 * @example
 * ```ts
 * import { decodeGuardRequest, encodeGuard } from "./protocol.ts";
 * decodeGuardRequest([encodeGuard({ kind: "read", req: 1 })]).kind; // "read"
 * ```
 */
export function encodeGuard(message: GuardRequest | GuardReply): Uint8Array {
  return encode(message);
}

/**
 * Decodes a request to resource_guard; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeGuardRequest, encodeGuard } from "./protocol.ts";
 * decodeGuardRequest([encodeGuard({ kind: "write", req: 2, token: 5, value: 1 })]).token; // 5
 * ```
 */
export function decodeGuardRequest(frames: Uint8Array[]): GuardRequest {
  return byKind<GuardRequest>(frames, guardSchemas, "guard request");
}

/**
 * Decodes a reply from resource_guard; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeGuardReply, encodeGuard } from "./protocol.ts";
 * decodeGuardReply([encodeGuard({ kind: "value", req: 1, value: 3, highest: 2 })]).value; // 3
 * ```
 */
export function decodeGuardReply(frames: Uint8Array[]): GuardReply {
  return byKind<GuardReply>(frames, guardReplySchemas, "guard reply");
}

/**
 * The `req` of a message that failed its schema, when it has one (so an `error` reply can
 * name the request it answers).
 *
 * @example
 * ```ts
 * import { encode } from "@lib/codec/mod.ts";
 * import { reqOf } from "./protocol.ts";
 * reqOf([encode({ kind: "acquire", req: 4 })]); // 4
 * ```
 */
export function reqOf(frames: Uint8Array[]): number | undefined {
  try {
    const value = decode(oneFrame(frames), s.object({ req }));
    return value.req;
  } catch {
    return undefined;
  }
}
