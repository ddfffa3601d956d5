/**
 * Lab 14 wire protocol: one msgpack frame per message. Every node binds one ROUTER for
 * clients and peers; clients and peers talk to it over DEALERs, so the ROUTER sees
 * `[identity, body]` and answers `[identity, reply]`. Every request carries an `id` the
 * reply repeats (the DEALER side matches replies to requests with it). A malformed frame
 * throws BadMessageError: the node logs it as `bad_message` and drops it.
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s, validate } from "@lib/codec/mod.ts";

/** Longest key, in UTF-16 code units. */
export const MAX_KEY = 256;
/** Largest value, in bytes. */
export const MAX_VALUE = 64 * 1024;
/** Most items in one replica batch (`rput`). */
export const MAX_BATCH = 256;
/** Most members in one gossip message. */
export const MAX_MEMBERS = 256;

const key = s.string({ min: 1, max: MAX_KEY });
const nodeId = s.string({ min: 1, max: 64 });
const reqId = s.int({ min: 0 });
const stampShape = {
  wall: s.int({ min: 0 }),
  counter: s.int({ min: 0 }),
  node: nodeId,
};

/** Consistency of a client read or write: how many replicas must answer. */
export const Consistency = s.literal("one", "quorum", "all");
/** Consistency of a client read or write. */
export type Consistency = Infer<typeof Consistency>;

/** One version of one key on the wire (value null = tombstone). */
export const Item = s.object({
  key,
  value: s.nullable(s.bytes({ max: MAX_VALUE })),
  ...stampShape,
}, { strict: true });
/** One version of one key on the wire. */
export type Item = Infer<typeof Item>;

/** One member in a gossip message: versioned by its owner; heartbeat counts its rounds. */
export const Member = s.object({
  id: nodeId,
  endpoint: s.string({ min: 1, max: 256 }),
  status: s.literal("up", "left"),
  version: s.int({ min: 0 }),
  heartbeat: s.int({ min: 0 }),
  vnodes: s.int({ min: 1, max: 1024 }),
}, { strict: true });
/** One member in a gossip message. */
export type Member = Infer<typeof Member>;

/** Client write: a value, or null to delete (a tombstone). */
export const Put = s.object({
  kind: s.literal("put"),
  id: reqId,
  key,
  value: s.nullable(s.bytes({ max: MAX_VALUE })),
  consistency: Consistency,
}, { strict: true });
/** Client write. */
export type Put = Infer<typeof Put>;

/** Client read; `local` answers from this node's store only (a diagnostic). */
export const Get = s.object({
  kind: s.literal("get"),
  id: reqId,
  key,
  consistency: s.literal("one", "quorum", "all", "local"),
}, { strict: true });
/** Client read. */
export type Get = Infer<typeof Get>;

/** Client: the ring as this node sees it, and this node's own load. */
export const RingQuery = s.object({ kind: s.literal("ring"), id: reqId }, { strict: true });
/** Client ring query. */
export type RingQuery = Infer<typeof RingQuery>;

/** Peer: push-pull gossip of the membership. */
export const Gossip = s.object({
  kind: s.literal("gossip"),
  id: reqId,
  from: nodeId,
  members: s.array(Member, { max: MAX_MEMBERS }),
}, { strict: true });
/** Peer gossip. */
export type Gossip = Infer<typeof Gossip>;

/** Why a replica batch is sent. */
export const RputReason = s.literal("write", "hint", "transfer", "repair");
/** Why a replica batch is sent. */
export type RputReason = Infer<typeof RputReason>;

/** Peer: store these versions (a replica write, a hint handed off, a transfer, a repair). */
export const Rput = s.object({
  kind: s.literal("rput"),
  id: reqId,
  from: nodeId,
  reason: RputReason,
  items: s.array(Item, { min: 1, max: MAX_BATCH }),
}, { strict: true });
/** Peer replica write. */
export type Rput = Infer<typeof Rput>;

/** Peer: the version this replica holds for a key. */
export const Rget = s.object({
  kind: s.literal("rget"),
  id: reqId,
  from: nodeId,
  key,
}, { strict: true });
/** Peer replica read. */
export type Rget = Infer<typeof Rget>;

/** Any request a node takes on its ROUTER. */
export type Request = Put | Get | RingQuery | Gossip | Rput | Rget;

const requestSchemas = {
  put: Put,
  get: Get,
  ring: RingQuery,
  gossip: Gossip,
  rput: Rput,
  rget: Rget,
} as const;

/** The answer to a write. */
export const PutOk = s.object({
  kind: s.literal("put_ok"),
  id: reqId,
  ...stampShape,
  acks: s.int({ min: 0 }),
});
/** The answer to a write. */
export type PutOk = Infer<typeof PutOk>;

/** The answer to a read: the winning version, if any replica had one. */
export const GetOk = s.object({
  kind: s.literal("get_ok"),
  id: reqId,
  item: s.nullable(Item),
  replies: s.int({ min: 0 }),
});
/** The answer to a read. */
export type GetOk = Infer<typeof GetOk>;

/** The answer to a ring query. */
export const RingOk = s.object({
  kind: s.literal("ring_ok"),
  id: reqId,
  node: nodeId,
  n: s.int({ min: 1 }),
  r: s.int({ min: 1 }),
  w: s.int({ min: 1 }),
  members: s.array(
    s.object({
      id: nodeId,
      endpoint: s.string(),
      status: s.literal("up", "left"),
      liveness: s.string(),
      vnodes: s.int({ min: 1 }),
      share: s.number(),
    }),
    { max: MAX_MEMBERS },
  ),
  keys: s.int({ min: 0 }),
  live: s.int({ min: 0 }),
  hints: s.int({ min: 0 }),
});
/** The answer to a ring query. */
export type RingOk = Infer<typeof RingOk>;

/** The answer to gossip: the receiver's membership (the pull half). */
export const GossipOk = s.object({
  kind: s.literal("gossip_ok"),
  id: reqId,
  from: nodeId,
  members: s.array(Member, { max: MAX_MEMBERS }),
});
/** The answer to gossip. */
export type GossipOk = Infer<typeof GossipOk>;

/** The answer to a replica batch. */
export const RputOk = s.object({
  kind: s.literal("rput_ok"),
  id: reqId,
  from: nodeId,
  stored: s.int({ min: 0 }),
  stale: s.int({ min: 0 }),
  full: s.int({ min: 0 }),
});
/** The answer to a replica batch. */
export type RputOk = Infer<typeof RputOk>;

/** The answer to a replica read. */
export const RgetOk = s.object({
  kind: s.literal("rget_ok"),
  id: reqId,
  from: nodeId,
  item: s.nullable(Item),
});
/** The answer to a replica read. */
export type RgetOk = Infer<typeof RgetOk>;

/** A refusal: a failed quorum, a malformed request, a full store. */
export const ErrorReply = s.object({
  kind: s.literal("error"),
  id: reqId,
  reason: s.string({ max: 1000 }),
});
/** A refusal. */
export type ErrorReply = Infer<typeof ErrorReply>;

/** Any reply. */
export type Reply = PutOk | GetOk | RingOk | GossipOk | RputOk | RgetOk | ErrorReply;

const replySchemas = {
  put_ok: PutOk,
  get_ok: GetOk,
  ring_ok: RingOk,
  gossip_ok: GossipOk,
  rput_ok: RputOk,
  rget_ok: RgetOk,
  error: ErrorReply,
} as const;

const Envelope = s.object({ kind: s.string({ max: 16 }), id: reqId });

/**
 * Encodes any message as its one frame.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeMessage } from "./protocol.ts";
 * const frame = encodeMessage({ kind: "ring", id: 1 });
 * decodeRequest(frame).kind; // "ring"
 * ```
 */
export function encodeMessage(message: Request | Reply): Uint8Array {
  return encode(message);
}

/**
 * Decodes a request frame; throws BadMessageError for anything else.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeMessage } from "./protocol.ts";
 * decodeRequest(encodeMessage({ kind: "get", id: 7, key: "k", consistency: "quorum" }));
 * ```
 */
export function decodeRequest(frame: Uint8Array): Request {
  const head = decode(frame, Envelope);
  const schema = requestSchemas[head.kind as keyof typeof requestSchemas];
  if (!schema) {
    throw new BadMessageError(
      `kind: expected one of ${Object.keys(requestSchemas).join(", ")}, got "${head.kind}"`,
    );
  }
  return validate(head, schema as typeof Put) as Request;
}

/**
 * Decodes a reply frame; throws BadMessageError for anything else.
 *
 * @example
 * ```ts
 * import { decodeReply, encodeMessage } from "./protocol.ts";
 * decodeReply(encodeMessage({ kind: "error", id: 1, reason: "no quorum" })).kind; // "error"
 * ```
 */
export function decodeReply(frame: Uint8Array): Reply {
  const head = decode(frame, Envelope);
  const schema = replySchemas[head.kind as keyof typeof replySchemas];
  if (!schema) {
    throw new BadMessageError(
      `kind: expected one of ${Object.keys(replySchemas).join(", ")}, got "${head.kind}"`,
    );
  }
  return validate(head, schema as typeof PutOk) as Reply;
}

/** The one body frame of a message from a DEALER (`[body]`); throws for anything else. */
export function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  }
  return frames[0];
}
