/**
 * Lab 24 wire formats.
 *
 * 1. UDP (discovery, plaintext by nature): the 36/ZRE beacon, 22 octets, exactly as
 *    `@lib/patterns/zre_beacon.ts` encodes it; and this lab's *key announcement*, a second
 *    datagram on the same UDP port that carries only public data (the device's UUID and
 *    its CURVE public key), so that a scanner in trust-on-first-use mode can learn the key
 *    (a beacon has room for UUID and port only):
 *
 *    ```text
 *    +---+---+---+------+  +-----------+  +----------------------+
 *    | Z | L | K | 0x01 |  | UUID (16) |  | CURVE public key (32)|   52 octets
 *    +---+---+---+------+  +-----------+  +----------------------+
 *    ```
 *
 *    A plain ZRE node (zyre) ignores it (wrong size and signature).
 *
 * 2. TCP, REQ/REP over CURVE (encrypted and authenticated): one msgpack frame per message,
 *    checked by a schema on the way in (a malformed frame throws BadMessageError).
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";
import { type Beacon, decodeBeacon, ZRE_BEACON_SIZE } from "@lib/patterns/zre_beacon.ts";
import { z85Decode, z85Encode } from "@lib/zmq/mod.ts";

/** Size of a key announcement in octets. */
export const KEY_ANNOUNCEMENT_SIZE = 52;
const KEY_SIGNATURE = [0x5a, 0x4c, 0x4b]; // "ZLK"

/** Largest REQ/REP message accepted (libzmq `maxMessageSize`). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** A device's public key as announced over UDP (public data only). */
export interface KeyAnnouncement {
  uuid: Uint8Array;
  /** Z85, 40 characters. */
  publicKey: string;
}

/** What one UDP datagram is. */
export type Datagram =
  | { kind: "beacon"; beacon: Beacon }
  | { kind: "key"; announcement: KeyAnnouncement }
  | { kind: "bad"; reason: string };

/**
 * Encodes a key announcement (52 octets).
 *
 * @example
 * ```ts
 * import { encodeKeyAnnouncement } from "./protocol.ts";
 * import { curveKeyPair } from "@lib/zmq/mod.ts";
 * const { publicKey } = curveKeyPair();
 * console.log(encodeKeyAnnouncement({ uuid: new Uint8Array(16), publicKey }).length); // 52
 * ```
 */
export function encodeKeyAnnouncement(announcement: KeyAnnouncement): Uint8Array {
  if (announcement.uuid.length !== 16) throw new RangeError("uuid: expected 16 octets");
  const key = z85Decode(announcement.publicKey);
  if (key.length !== 32) throw new RangeError("publicKey: expected 32 octets (40 Z85)");
  const out = new Uint8Array(KEY_ANNOUNCEMENT_SIZE);
  out.set(KEY_SIGNATURE, 0);
  out[3] = 0x01;
  out.set(announcement.uuid, 4);
  out.set(key, 20);
  return out;
}

/**
 * Classifies one UDP datagram: a ZRE beacon, a key announcement, or bad (with a reason).
 * Never throws.
 *
 * @example
 * ```ts
 * import { classifyDatagram } from "./protocol.ts";
 * console.log(classifyDatagram(new Uint8Array(3)).kind); // "bad"
 * ```
 */
export function classifyDatagram(bytes: Uint8Array): Datagram {
  if (bytes.length === KEY_ANNOUNCEMENT_SIZE) {
    if (
      bytes[0] !== KEY_SIGNATURE[0] || bytes[1] !== KEY_SIGNATURE[1] ||
      bytes[2] !== KEY_SIGNATURE[2]
    ) {
      return { kind: "bad", reason: "key announcement: bad signature" };
    }
    if (bytes[3] !== 0x01) {
      return { kind: "bad", reason: `key announcement: bad version ${bytes[3]}` };
    }
    return {
      kind: "key",
      announcement: { uuid: bytes.slice(4, 20), publicKey: z85Encode(bytes.slice(20, 52)) },
    };
  }
  const decoded = decodeBeacon(bytes);
  if (decoded.ok) return { kind: "beacon", beacon: decoded.beacon };
  return {
    kind: "bad",
    reason: bytes.length === ZRE_BEACON_SIZE
      ? `beacon: ${decoded.reason}`
      : `datagram of ${bytes.length} octets: neither a beacon (${ZRE_BEACON_SIZE}) nor a key announcement (${KEY_ANNOUNCEMENT_SIZE})`,
  };
}

/** A status query: `{ kind: "status", seq }`. */
export const StatusRequest = s.object(
  { kind: s.literal("status"), seq: s.int({ min: 0 }) },
  { strict: true },
);
/** A status query. */
export type StatusRequest = Infer<typeof StatusRequest>;

/**
 * A device's status. `note` is confidential (an operator's note, e.g. a maintenance code):
 * it only ever crosses the wire inside CURVE and is never logged or printed.
 */
export const StatusReply = s.object({
  kind: s.literal("status"),
  seq: s.int({ min: 0 }),
  uuid: s.string(),
  name: s.string(),
  uptime_ms: s.int({ min: 0 }),
  requests: s.int({ min: 0 }),
  readings: s.record(s.number()),
  note: s.string(),
});
/** A device's status. */
export type StatusReply = Infer<typeof StatusReply>;

/** The answer to a malformed request. */
export const Refusal = s.object({ kind: s.literal("error"), reason: s.string() });
/** The answer to a malformed request. */
export type Refusal = Infer<typeof Refusal>;

/**
 * Encodes a status query.
 *
 * @example
 * ```ts
 * import { decodeStatusRequest, encodeStatusRequest } from "./protocol.ts";
 * console.log(decodeStatusRequest([encodeStatusRequest(7)]).seq); // 7
 * ```
 */
export function encodeStatusRequest(seq: number): Uint8Array {
  return encode({ kind: "status", seq } satisfies StatusRequest);
}

/** Decodes a request of one frame; throws BadMessageError otherwise. */
export function decodeStatusRequest(frames: Uint8Array[]): StatusRequest {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  }
  return decode(frames[0], StatusRequest);
}

/** Encodes a status reply. */
export function encodeStatusReply(reply: Omit<StatusReply, "kind">): Uint8Array {
  return encode({ kind: "status", ...reply } satisfies StatusReply);
}

/** Encodes a refusal (REP must answer a malformed request too). */
export function encodeRefusal(reason: string): Uint8Array {
  return encode({ kind: "error", reason } satisfies Refusal);
}

/** Decodes a reply of one frame; throws BadMessageError otherwise. */
export function decodeReply(frames: Uint8Array[]): StatusReply | Refusal {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  }
  const value = decode(frames[0], s.unknown()) as { kind?: unknown };
  return value?.kind === "error" ? decode(frames[0], Refusal) : decode(frames[0], StatusReply);
}
