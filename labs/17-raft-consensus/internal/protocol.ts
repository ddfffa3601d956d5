/**
 * Lab 17 wire protocol (msgpack, schema-checked on the way in: a malformed frame throws
 * BadMessageError, which the roles log as `bad_message` and drop).
 *
 * Peer bus (PUB-SUB mesh): every node binds one PUB; every node's SUB connects to every
 * peer's PUB and subscribes to its own id. A message is two frames:
 *
 * ```
 * [ to (node id, the SUB topic) ][ msgpack RaftMessage ]
 * ```
 *
 * ZeroMQ topics are prefixes ("n1" also matches "n10"), so a receiver also checks that the
 * first frame equals its id exactly.
 *
 * Clients (ROUTER on each node, DEALER on the client): `[ msgpack ClientRequest ]` in,
 * `[ msgpack ClientReply ]` out.
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** Longest node id. */
export const MAX_ID = 32;
/** Longest key / value of the key-value state machine. */
export const MAX_KEY = 256;
/** Longest value. */
export const MAX_VALUE = 64 * 1024;
/** Most entries in one AppendEntries. */
export const MAX_BATCH = 512;

const id = s.string({ min: 1, max: MAX_ID });
const index = s.int({ min: 0 });

/** A command of the replicated key-value state machine. */
export const Command = s.oneOf(
  s.object({ op: s.literal("noop") }, { strict: true }),
  s.object({
    op: s.literal("put"),
    key: s.string({ min: 1, max: MAX_KEY }),
    value: s.string({ max: MAX_VALUE }),
    client: s.string({ min: 1, max: 64 }),
    seq: s.int({ min: 1 }),
  }, { strict: true }),
  s.object({
    op: s.literal("del"),
    key: s.string({ min: 1, max: MAX_KEY }),
    client: s.string({ min: 1, max: 64 }),
    seq: s.int({ min: 1 }),
  }, { strict: true }),
);
/** A command of the replicated key-value state machine. */
export type Command = Infer<typeof Command>;

/** One log entry. */
export const Entry = s.object({
  index: s.int({ min: 1 }),
  term: s.int({ min: 1 }),
  command: Command,
});
/** One log entry. */
export type Entry = Infer<typeof Entry>;

const base = { from: id, to: id, term: index };

/** Every peer message (Raft RPCs and their answers). */
export const RaftMessage = s.oneOf(
  s.object({
    ...base,
    type: s.literal("pre_vote"),
    lastLogIndex: index,
    lastLogTerm: index,
  }, { strict: true }),
  s.object({ ...base, type: s.literal("pre_vote_reply"), granted: s.boolean() }, { strict: true }),
  s.object({
    ...base,
    type: s.literal("request_vote"),
    lastLogIndex: index,
    lastLogTerm: index,
  }, { strict: true }),
  s.object({ ...base, type: s.literal("vote_reply"), granted: s.boolean() }, { strict: true }),
  s.object({
    ...base,
    type: s.literal("append"),
    prevLogIndex: index,
    prevLogTerm: index,
    entries: s.array(Entry, { max: MAX_BATCH }),
    leaderCommit: index,
    /** ReadIndex round this heartbeat confirms (0: none). */
    readSeq: index,
    /** The leader's client endpoint, for redirects. */
    clientEndpoint: s.string({ max: 256 }),
  }, { strict: true }),
  s.object({
    ...base,
    type: s.literal("append_reply"),
    success: s.boolean(),
    /** On success the last index known to match; on failure the follower's last index. */
    matchIndex: index,
    readSeq: index,
  }, { strict: true }),
  s.object({
    ...base,
    type: s.literal("install_snapshot"),
    lastIncludedIndex: index,
    lastIncludedTerm: index,
    data: s.bytes({ max: 64 * 1024 * 1024 }),
    clientEndpoint: s.string({ max: 256 }),
  }, { strict: true }),
  s.object({
    ...base,
    type: s.literal("snapshot_reply"),
    matchIndex: index,
  }, { strict: true }),
);
/** Every peer message. */
export type RaftMessage = Infer<typeof RaftMessage>;
/** The `type` of a peer message. */
export type RaftMessageType = RaftMessage["type"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Frames of a peer message: the addressee's id as topic, then the body.
 *
 * @example
 * ```ts
 * import { decodePeerFrames, encodePeerFrames } from "./protocol.ts";
 * const frames = encodePeerFrames({ type: "vote_reply", from: "n2", to: "n1", term: 3, granted: true });
 * decodePeerFrames(frames, "n1").type; // "vote_reply"
 * ```
 */
export function encodePeerFrames(message: RaftMessage): [Uint8Array, Uint8Array] {
  return [encoder.encode(message.to), encode(message)];
}

/**
 * Decodes a peer message addressed to `self` (throws BadMessageError on a wrong topic, a
 * wrong frame count or a malformed body).
 */
export function decodePeerFrames(frames: Uint8Array[], self: string): RaftMessage {
  if (frames.length !== 2) throw new BadMessageError(`expected 2 frames, got ${frames.length}`);
  const topic = decoder.decode(frames[0]);
  if (topic !== self) {
    throw new BadMessageError(`expected topic ${self}, got ${topic.slice(0, 40)}`);
  }
  const message = decode(frames[1], RaftMessage);
  if (message.to !== self) throw new BadMessageError(`expected to=${self}, got ${message.to}`);
  return message;
}

/** A client request: a write (put/del) with client id and sequence, or a read. */
export const ClientRequest = s.oneOf(
  s.object({
    kind: s.literal("put"),
    /** Attempt id, echoed in the reply. */
    rid: s.string({ min: 1, max: 64 }),
    client: s.string({ min: 1, max: 64 }),
    seq: s.int({ min: 1 }),
    key: s.string({ min: 1, max: MAX_KEY }),
    value: s.string({ max: MAX_VALUE }),
  }, { strict: true }),
  s.object({
    kind: s.literal("del"),
    rid: s.string({ min: 1, max: 64 }),
    client: s.string({ min: 1, max: 64 }),
    seq: s.int({ min: 1 }),
    key: s.string({ min: 1, max: MAX_KEY }),
  }, { strict: true }),
  s.object({
    kind: s.literal("get"),
    rid: s.string({ min: 1, max: 64 }),
    key: s.string({ min: 1, max: MAX_KEY }),
  }, { strict: true }),
  s.object({ kind: s.literal("status"), rid: s.string({ min: 1, max: 64 }) }, { strict: true }),
);
/** A client request. */
export type ClientRequest = Infer<typeof ClientRequest>;

/** A reply to a client. */
export const ClientReply = s.oneOf(
  s.object({
    kind: s.literal("ok"),
    rid: s.string(),
    /** The value read (get) or the previous value (put/del); null when there was none. */
    value: s.nullable(s.string()),
    /** The log index the write was applied at, or the read index of a get. */
    index: index,
    /** True when a retried write had already been applied (answered from the dedup table). */
    duplicate: s.boolean(),
  }, { strict: true }),
  s.object({
    kind: s.literal("redirect"),
    rid: s.string(),
    /** The leader this node knows of, if any. */
    leader: s.nullable(s.string()),
    endpoint: s.nullable(s.string()),
  }, { strict: true }),
  s.object({ kind: s.literal("error"), rid: s.string(), reason: s.string() }, { strict: true }),
  s.object({
    kind: s.literal("status"),
    rid: s.string(),
    id: s.string(),
    role: s.string(),
    term: index,
    leader: s.nullable(s.string()),
    commitIndex: index,
    lastApplied: index,
  }, { strict: true }),
);
/** A reply to a client. */
export type ClientReply = Infer<typeof ClientReply>;

/**
 * Decodes a client request of one frame.
 *
 * @example
 * ```ts
 * import { decodeClientRequest } from "./protocol.ts";
 * import { encode } from "@lib/codec/mod.ts";
 * decodeClientRequest([encode({ kind: "get", rid: "r1", key: "x" })]).kind; // "get"
 * ```
 */
export function decodeClientRequest(frames: Uint8Array[]): ClientRequest {
  return decode(oneFrame(frames), ClientRequest);
}

/** Decodes a reply of one frame. */
export function decodeClientReply(frames: Uint8Array[]): ClientReply {
  return decode(oneFrame(frames), ClientReply);
}

function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  return frames[0];
}
