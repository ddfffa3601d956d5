/**
 * 12/CHP, the Clustered Hashmap Protocol (the Guide's Clone pattern, chapter 5), to the
 * letter of https://rfc.zeromq.org/spec/12/:
 *
 * - every message on the snapshot, publisher and collector sockets is a kvmsg of five
 *   frames `[key, sequence (8 bytes, network order), uuid (16 bytes or empty),
 *   properties ("name=value\n"...), body]`;
 * - `["ICANHAZ?", subtree]` asks for a snapshot; the server answers KVSYNC kvmsgs and
 *   `["KTHXBAI", sequence, "", "", subtree]`;
 * - KVPUB (server PUB) and KVSET (client to the collector) are kvmsgs; an empty body
 *   deletes the key; a `ttl` property (seconds) makes it expire;
 * - `HUGZ` is the server's heartbeat kvmsg.
 *
 * Decoding is strict: anything that is not exactly that shape throws `BadMessageError`
 * (the role logs it once, rate-limited, and drops it).
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";

/** Frames as they go on the wire. */
export type Frames = Uint8Array[];

/** Frame 0 of a snapshot request. */
export const ICANHAZ = "ICANHAZ?";
/** Key of the end-of-snapshot kvmsg. */
export const KTHXBAI = "KTHXBAI";
/** Key of the heartbeat kvmsg. */
export const HUGZ = "HUGZ";
/** Length of a non-empty uuid frame. */
export const UUID_BYTES = 16;
/** Longest key accepted (a peer cannot make us hold arbitrary keys). */
export const MAX_KEY_BYTES = 255;
/** Largest properties frame accepted. */
export const MAX_PROPERTIES_BYTES = 4096;

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** One key-value message (KVSYNC, KVPUB, KVSET, KTHXBAI or HUGZ). */
export interface KvMsg {
  key: string;
  /** 0 .. 2^53-1 (the wire carries 8 bytes; larger values are refused). */
  sequence: number;
  /** 16 bytes, or empty (the RFC allows an empty uuid). */
  uuid: Uint8Array;
  /** Properties in wire order. */
  properties: Map<string, string>;
  /** Empty means "delete the key". */
  body: Uint8Array;
}

/**
 * Writes a sequence number as 8 bytes, network order.
 *
 * @example
 * ```ts
 * import { encodeSequence } from "./protocol.ts";
 * encodeSequence(258); // Uint8Array [0, 0, 0, 0, 0, 0, 1, 2]
 * ```
 */
export function encodeSequence(sequence: number): Uint8Array {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new RangeError(`sequence: expected an integer 0..2^53-1, got ${sequence}`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(sequence));
  return out;
}

/**
 * Reads an 8-byte network-order sequence number; throws `BadMessageError` for another
 * length or a value beyond 2^53-1 (also a negative one from a signed writer).
 *
 * @example
 * ```ts
 * import { decodeSequence } from "./protocol.ts";
 * decodeSequence(new Uint8Array([0, 0, 0, 0, 0, 0, 1, 2])); // 258
 * ```
 */
export function decodeSequence(frame: Uint8Array): number {
  if (frame.length !== 8) {
    throw new BadMessageError(`sequence: expected 8 bytes, got ${frame.length}`);
  }
  const value = new DataView(frame.buffer, frame.byteOffset, 8).getBigUint64(0);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BadMessageError(`sequence: expected at most 2^53-1, got ${value}`);
  }
  return Number(value);
}

/**
 * The properties frame: zero or more `name=value\n`.
 *
 * @example
 * ```ts
 * import { encodeProperties } from "./protocol.ts";
 * new TextDecoder().decode(encodeProperties(new Map([["ttl", "30"]]))); // "ttl=30\n"
 * ```
 */
export function encodeProperties(properties: ReadonlyMap<string, string>): Uint8Array {
  let text = "";
  for (const [name, value] of properties) {
    if (name === "" || name.includes("=") || name.includes("\n") || value.includes("\n")) {
      throw new RangeError(`property: expected name=value without newlines, got ${name}=${value}`);
    }
    text += `${name}=${value}\n`;
  }
  return encoder.encode(text);
}

/**
 * Parses a properties frame. Each line is `name=value` (the value may contain `=`); the
 * last newline may be missing; an empty frame is no properties.
 *
 * @example
 * ```ts
 * import { decodeProperties } from "./protocol.ts";
 * decodeProperties(new TextEncoder().encode("ttl=30\n")).get("ttl"); // "30"
 * ```
 */
export function decodeProperties(frame: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  if (frame.length === 0) return out;
  if (frame.length > MAX_PROPERTIES_BYTES) {
    throw new BadMessageError(
      `properties: expected at most ${MAX_PROPERTIES_BYTES} bytes, got ${frame.length}`,
    );
  }
  const text = utf8(frame, "properties");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new BadMessageError(
        `properties: expected name=value lines, got ${JSON.stringify(line)}`,
      );
    }
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/**
 * A kvmsg as its five frames.
 *
 * @example
 * ```ts
 * import { encodeKv } from "./protocol.ts";
 * const frames = encodeKv({
 *   key: "/acl/dmz/web",
 *   sequence: 7,
 *   uuid: new Uint8Array(16),
 *   properties: new Map(),
 *   body: new TextEncoder().encode("allow any from any to any"),
 * });
 * frames.length; // 5
 * ```
 */
export function encodeKv(msg: KvMsg): Frames {
  return [
    encoder.encode(msg.key),
    encodeSequence(msg.sequence),
    msg.uuid,
    encodeProperties(msg.properties),
    msg.body,
  ];
}

/**
 * Parses five frames as a kvmsg; throws `BadMessageError` for any other shape (frame
 * count, key not UTF-8 or too long, sequence not 8 bytes, uuid neither 0 nor 16 bytes,
 * properties not `name=value` lines).
 *
 * @example
 * ```ts
 * import { decodeKv, encodeKv, newUuid } from "./protocol.ts";
 * const frames = encodeKv({
 *   key: "k",
 *   sequence: 1,
 *   uuid: newUuid(),
 *   properties: new Map(),
 *   body: new Uint8Array(),
 * });
 * decodeKv(frames).key; // "k"
 * ```
 */
export function decodeKv(frames: Frames): KvMsg {
  if (frames.length !== 5) {
    throw new BadMessageError(`kvmsg: expected 5 frames, got ${frames.length}`);
  }
  const [keyFrame, seqFrame, uuid, propFrame, body] = frames;
  if (keyFrame.length > MAX_KEY_BYTES) {
    throw new BadMessageError(
      `key: expected at most ${MAX_KEY_BYTES} bytes, got ${keyFrame.length}`,
    );
  }
  const key = utf8(keyFrame, "key");
  const sequence = decodeSequence(seqFrame);
  if (uuid.length !== 0 && uuid.length !== UUID_BYTES) {
    throw new BadMessageError(`uuid: expected 0 or ${UUID_BYTES} bytes, got ${uuid.length}`);
  }
  return { key, sequence, uuid, properties: decodeProperties(propFrame), body };
}

/**
 * The snapshot request `["ICANHAZ?", subtree]`.
 *
 * @example
 * ```ts
 * import { encodeIcanhaz } from "./protocol.ts";
 * encodeIcanhaz("/acl/dmz/").length; // 2
 * ```
 */
export function encodeIcanhaz(subtree: string): Frames {
  return [encoder.encode(ICANHAZ), encoder.encode(checkSubtree(subtree))];
}

/**
 * Parses a snapshot request (without the ROUTER identity frame) and returns its subtree;
 * throws `BadMessageError` unless it is exactly `["ICANHAZ?", subtree]` with a valid
 * subtree.
 *
 * @example
 * ```ts
 * import { decodeIcanhaz, encodeIcanhaz } from "./protocol.ts";
 * decodeIcanhaz(encodeIcanhaz("/acl/")); // "/acl/"
 * ```
 */
export function decodeIcanhaz(frames: Frames): string {
  if (frames.length !== 2) {
    throw new BadMessageError(`ICANHAZ: expected 2 frames, got ${frames.length}`);
  }
  const command = utf8(frames[0], "command");
  if (command !== ICANHAZ) {
    throw new BadMessageError(
      `snapshot request: expected "ICANHAZ?", got ${JSON.stringify(command.slice(0, 32))}`,
    );
  }
  const subtree = utf8(frames[1], "subtree");
  try {
    return checkSubtree(subtree);
  } catch (error) {
    throw new BadMessageError((error as Error).message);
  }
}

const SUBTREE_RE = /^(\/[^/\n]+)+\/$/;

/**
 * A subtree: empty (everything) or a slash, one or more path segments, and a final slash
 * (`/acl/dmz/`), as the RFC defines it. Throws a RangeError otherwise.
 *
 * @example
 * ```ts
 * import { checkSubtree } from "./protocol.ts";
 * checkSubtree("/acl/dmz/"); // "/acl/dmz/"
 * ```
 */
export function checkSubtree(subtree: string): string {
  if (subtree === "" || (subtree.length <= MAX_KEY_BYTES && SUBTREE_RE.test(subtree))) {
    return subtree;
  }
  throw new RangeError(
    `subtree: expected empty or /segment/.../ ending in a slash, got ${
      JSON.stringify(subtree.slice(0, 64))
    }`,
  );
}

/**
 * The end of a snapshot: `["KTHXBAI", sequence, "", "", subtree]`.
 *
 * @example
 * ```ts
 * import { encodeKthxbai } from "./protocol.ts";
 * encodeKthxbai(42, "").length; // 5
 * ```
 */
export function encodeKthxbai(sequence: number, subtree: string): Frames {
  return encodeKv({
    key: KTHXBAI,
    sequence,
    uuid: new Uint8Array(),
    properties: new Map(),
    body: encoder.encode(subtree),
  });
}

/**
 * A heartbeat: `["HUGZ", sequence, "", "", ""]`. The RFC's frame 1 reads `00000000`; the
 * Guide's reference servers (clonesrv5/6) put their current sequence there, and so do we:
 * a client that is behind learns it from the next HUGZ. Pass 0 for the RFC's literal form.
 *
 * @example
 * ```ts
 * import { encodeHugz } from "./protocol.ts";
 * encodeHugz(0)[0]; // "HUGZ" as bytes
 * ```
 */
export function encodeHugz(sequence: number): Frames {
  return encodeKv({
    key: HUGZ,
    sequence,
    uuid: new Uint8Array(),
    properties: new Map(),
    body: new Uint8Array(),
  });
}

/**
 * A fresh random (version 4) uuid as 16 bytes.
 *
 * @example
 * ```ts
 * import { newUuid } from "./protocol.ts";
 * newUuid().length; // 16
 * ```
 */
export function newUuid(): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(UUID_BYTES));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes;
}

/**
 * The `ttl` property in whole seconds, undefined when absent or 0 (the Guide's clients send
 * none for 0); throws `BadMessageError` for anything but a non-negative integer.
 *
 * @example
 * ```ts
 * import { ttlSeconds } from "./protocol.ts";
 * ttlSeconds(new Map([["ttl", "30"]])); // 30
 * ```
 */
export function ttlSeconds(properties: ReadonlyMap<string, string>): number | undefined {
  const raw = properties.get("ttl");
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new BadMessageError(
      `ttl: expected whole seconds, got ${JSON.stringify(raw.slice(0, 32))}`,
    );
  }
  const seconds = Number(raw);
  return seconds === 0 ? undefined : seconds;
}

function utf8(frame: Uint8Array, what: string): string {
  try {
    return strict.decode(frame);
  } catch {
    throw new BadMessageError(`${what}: expected UTF-8 text, got ${frame.length} other bytes`);
  }
}
