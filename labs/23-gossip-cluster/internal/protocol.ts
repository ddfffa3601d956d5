/**
 * Lab 23 wire protocol. Every node binds one XPUB; a message to node X is published as two
 * frames, `[topic, body]`: the topic is `X:` (X's inbox: X's SUB subscribed to exactly that
 * prefix on every peer it knows, so PUB-side filtering delivers it to X only), the body one
 * msgpack map checked by a schema on the way in (a malformed frame throws BadMessageError:
 * logged as `bad_message`, dropped).
 *
 * Joining: a new node's *seed* SUB also subscribes to `@<id> <endpoint>`. Nobody publishes
 * that topic; the seed's XPUB receives the subscription itself and so learns who wants in and
 * where to reach it (a join request carried by ZeroMQ's own subscription forwarding).
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** Node ids: 1..64 of `[A-Za-z0-9_.-]` (so `:` ends an inbox topic without ambiguity). */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Most application keys a node may publish. */
export const MAX_KV_KEYS = 32;
/** Most members a sync message may carry. */
export const MAX_SYNC_MEMBERS = 4096;

const id = s.string({ min: 1, max: 64 });
/** A member's endpoint as gossiped: tcp:// or ipc://, no spaces. */
export const ENDPOINT_PATTERN = /^(tcp|ipc):\/\/\S{1,250}$/;
const ep = s.string({ min: 1, max: 256 });
/**
 * Largest incarnation number on the wire (uint32, as memberlist). Accusations (suspect,
 * dead) must stay below it so that a node can always outbid one: a forged accusation at
 * 2^53 would otherwise push the refutation past what peers accept.
 */
export const MAX_INCARNATION = 0xffff_ffff;
const inc = s.int({ min: 0, max: MAX_INCARNATION });
const seq = s.int({ min: 0 });

/** Member states as gossiped. */
export const MemberStates = ["alive", "suspect", "dead", "left"] as const;
/** A member state. */
export type MemberState = typeof MemberStates[number];

/** An application value: a short string, a number, or null (deleted). */
export const KvValue = s.nullable(s.oneOf(s.string({ max: 256 }), s.number()));
/** An application value. */
export type KvValue = Infer<typeof KvValue>;

/** Gossip: `id` is alive at incarnation `inc`, reachable at `ep`. */
export const AliveItem = s.object({ k: s.literal("alive"), id, inc, ep }, { strict: true });
/** Gossip: `from` suspects `id` at incarnation `inc`. */
export const SuspectItem = s.object({ k: s.literal("suspect"), id, inc, from: id }, {
  strict: true,
});
/** Gossip: `from` declares `id` dead at `inc` (`from === id`: a graceful leave). */
export const DeadItem = s.object({ k: s.literal("dead"), id, inc, from: id }, { strict: true });
/** Gossip: application entry `key` of node `id`, version `ver`. */
export const KvItem = s.object({
  k: s.literal("kv"),
  id,
  key: s.string({ min: 1, max: 64 }),
  ver: s.int({ min: 0 }),
  val: KvValue,
}, { strict: true });
/** One piggybacked gossip item. */
export const GossipItem = s.oneOf(AliveItem, SuspectItem, DeadItem, KvItem);
/** One piggybacked gossip item. */
export type GossipItem = Infer<typeof GossipItem>;
/** One piggybacked membership item. */
export type AliveItem = Infer<typeof AliveItem>;
/** Gossip about a suspicion. */
export type SuspectItem = Infer<typeof SuspectItem>;
/** Gossip about a death or leave. */
export type DeadItem = Infer<typeof DeadItem>;
/** Gossip about an application entry. */
export type KvItem = Infer<typeof KvItem>;

const gossip = s.array(GossipItem, { max: 256 });

/** One member in a full-state sync. */
export const SyncMember = s.object({
  id,
  ep,
  inc,
  st: s.literal(...MemberStates),
}, { strict: true });
/** One member in a full-state sync. */
export type SyncMember = Infer<typeof SyncMember>;

/** SWIM ping (probe); the answer is an ack with the same seq. */
export const Ping = s.object({ t: s.literal("ping"), from: id, seq, g: gossip }, { strict: true });
/** SWIM ack of a ping (or, relayed, of a ping-req). */
export const Ack = s.object({ t: s.literal("ack"), from: id, seq, g: gossip }, { strict: true });
/** Lifeguard nack: the relay got no ack from the target in time (the relay itself is fine). */
export const Nack = s.object({ t: s.literal("nack"), from: id, seq }, { strict: true });
/** SWIM indirect probe request: ping `target` for me and relay its ack. */
export const PingReq = s.object({
  t: s.literal("ping_req"),
  from: id,
  seq,
  target: id,
  ep,
  g: gossip,
}, { strict: true });
/** Pure gossip (the periodic fan-out of pending broadcasts). */
export const Gossip = s.object({ t: s.literal("gossip"), from: id, g: gossip }, { strict: true });
/** Push-pull full state sync; `reply` false asks for the peer's state back. */
export const Sync = s.object({
  t: s.literal("sync"),
  from: id,
  reply: s.boolean(),
  members: s.array(SyncMember, { max: MAX_SYNC_MEMBERS }),
  kv: s.array(KvItem, { max: MAX_SYNC_MEMBERS * MAX_KV_KEYS }),
}, { strict: true });

/** Any message body. */
export const Message = s.oneOf(Ping, Ack, Nack, PingReq, Gossip, Sync);
/** Any message body. */
export type Message = Infer<typeof Message>;
/** A ping. */
export type Ping = Infer<typeof Ping>;
/** An ack. */
export type Ack = Infer<typeof Ack>;
/** A nack. */
export type Nack = Infer<typeof Nack>;
/** An indirect probe request. */
export type PingReq = Infer<typeof PingReq>;
/** A full-state sync. */
export type Sync = Infer<typeof Sync>;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

/**
 * The inbox topic of node `to`: `to:`.
 *
 * @example
 * ```ts
 * import { inboxTopic } from "./protocol.ts";
 * console.log(new TextDecoder().decode(inboxTopic("n1"))); // "n1:"
 * ```
 */
export function inboxTopic(to: string): Uint8Array {
  return utf8.encode(`${to}:`);
}

/**
 * The frames of a message to `to`: `[inbox topic, msgpack body]`.
 *
 * @example
 * ```ts
 * import { decodeFrames, encodeFrames } from "./protocol.ts";
 * const frames = encodeFrames("n2", { t: "ping", from: "n1", seq: 1, g: [] });
 * console.log(decodeFrames(frames, "n2").t); // "ping"
 * ```
 */
export function encodeFrames(to: string, message: Message): Uint8Array[] {
  return [inboxTopic(to), encode(message)];
}

/**
 * Decodes `[topic, body]` addressed to `self`; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeFrames, encodeFrames } from "./protocol.ts";
 * const msg = decodeFrames(encodeFrames("me", { t: "nack", from: "x", seq: 3 }), "me");
 * ```
 */
export function decodeFrames(frames: Uint8Array[], self: string): Message {
  if (frames.length !== 2) throw new BadMessageError(`expected 2 frames, got ${frames.length}`);
  let topic: string;
  try {
    topic = utf8d.decode(frames[0]);
  } catch {
    throw new BadMessageError("topic: expected UTF-8");
  }
  if (topic !== `${self}:`) {
    throw new BadMessageError(
      `topic: expected "${self}:", got ${JSON.stringify(topic.slice(0, 80))}`,
    );
  }
  const message = decode(frames[1], Message);
  checkIdsAndEndpoints(message);
  if (!ID_PATTERN.test(message.from)) {
    throw new BadMessageError(
      `from: expected an id of [A-Za-z0-9_.-], got ${JSON.stringify(message.from)}`,
    );
  }
  return message;
}

function checkIdsAndEndpoints(message: Message): void {
  const items: { id: string; ep?: string }[] = message.t === "sync"
    ? [...message.members, ...message.kv]
    : message.t === "nack"
    ? []
    : message.g.map((g) => ({ id: g.id, ep: g.k === "alive" ? g.ep : undefined }));
  if (message.t === "ping_req") items.push({ id: message.target, ep: message.ep });
  for (const { id, ep } of items) {
    if (!ID_PATTERN.test(id)) {
      throw new BadMessageError(
        `id: expected [A-Za-z0-9_.-]{1,64}, got ${JSON.stringify(id.slice(0, 80))}`,
      );
    }
    if (ep !== undefined && !ENDPOINT_PATTERN.test(ep)) {
      throw new BadMessageError(
        `ep: expected tcp://... or ipc://..., got ${JSON.stringify(ep.slice(0, 80))}`,
      );
    }
  }
}

/**
 * The subscription a joining node sends to a seed: `@<id> <endpoint>`.
 *
 * @example
 * ```ts
 * import { helloTopic, parseSubscription } from "./protocol.ts";
 * console.log(parseSubscription(helloTopic("n1", "tcp://127.0.0.1:5000")));
 * // { kind: "hello", subscribe: true, id: "n1", endpoint: "tcp://127.0.0.1:5000" }
 * ```
 */
export function helloTopic(self: string, endpoint: string): Uint8Array {
  return utf8.encode(`@${self} ${endpoint}`);
}

/** What an XPUB subscription frame means. */
export type Subscription =
  | { kind: "inbox"; subscribe: boolean; id: string }
  | { kind: "hello"; subscribe: boolean; id: string; endpoint: string };

/**
 * Parses a subscription frame as an XPUB receives it (`\x01` subscribe / `\x00` cancel, then
 * the prefix): an inbox `id:` or a hello `@id endpoint`. Throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { parseSubscription } from "./protocol.ts";
 * const frame = new Uint8Array([1, ...new TextEncoder().encode("n3:")]);
 * console.log(parseSubscription(frame)); // { kind: "inbox", subscribe: true, id: "n3" }
 * ```
 */
export function parseSubscription(frame: Uint8Array): Subscription {
  if (frame.length < 2 || frame[0] > 1) {
    throw new BadMessageError("subscription: expected \\x00 or \\x01 and a prefix");
  }
  const subscribe = frame[0] === 1;
  let text: string;
  try {
    text = utf8d.decode(frame.subarray(1));
  } catch {
    throw new BadMessageError("subscription: expected UTF-8");
  }
  if (text.startsWith("@")) {
    const space = text.indexOf(" ");
    const who = text.slice(1, space);
    const endpoint = text.slice(space + 1);
    if (space < 0 || !ID_PATTERN.test(who) || !ENDPOINT_PATTERN.test(endpoint)) {
      throw new BadMessageError(
        `subscription: expected "@<id> <endpoint>", got ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
    return { kind: "hello", subscribe, id: who, endpoint };
  }
  if (text.endsWith(":") && ID_PATTERN.test(text.slice(0, -1))) {
    return { kind: "inbox", subscribe, id: text.slice(0, -1) };
  }
  throw new BadMessageError(
    `subscription: expected "<id>:" or "@<id> <endpoint>", got ${
      JSON.stringify(text.slice(0, 80))
    }`,
  );
}
