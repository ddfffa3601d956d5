/**
 * Lab 10 wire protocol: one msgpack frame per message, checked by a schema on the way in
 * (a malformed frame throws BadMessageError, which the role logs as `bad_message` and drops).
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** A request: `{ kind: "ping", seq }`. */
export const Ping = s.object({ kind: s.literal("ping"), seq: s.int({ min: 0 }) }, { strict: true });
/** A request. */
export type Ping = Infer<typeof Ping>;

/** The answer to a ping: the same `seq` and the name of the role that answered. */
export const Pong = s.object({ kind: s.literal("pong"), seq: s.int({ min: 0 }), role: s.string() });
/** The answer to a ping. */
export type Pong = Infer<typeof Pong>;

/** The answer to a malformed request: what was wrong with it. */
export const Refusal = s.object({ kind: s.literal("error"), reason: s.string() });
/** The answer to a malformed request. */
export type Refusal = Infer<typeof Refusal>;

/**
 * Encodes a ping.
 *
 * @example
 * ```ts
 * import { decodePing, encodePing } from "./protocol.ts";
 *
 * console.log(decodePing([encodePing(7)]).seq); // 7
 * ```
 */
export function encodePing(seq: number): Uint8Array {
  return encode({ kind: "ping", seq } satisfies Ping);
}

/**
 * Decodes a request of one frame; throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodePing, encodePing } from "./protocol.ts";
 *
 * const ping = decodePing([encodePing(1)]); // { kind: "ping", seq: 1 }
 * ```
 */
export function decodePing(frames: Uint8Array[]): Ping {
  return decode(oneFrame(frames), Ping);
}

/**
 * Encodes the answer to `seq`.
 *
 * @example
 * ```ts
 * import { decodeReply, encodePong } from "./protocol.ts";
 *
 * console.log(decodeReply([encodePong(3, "threat_feed")])); // { kind: "pong", seq: 3, role: "threat_feed" }
 * ```
 */
export function encodePong(seq: number, role: string): Uint8Array {
  return encode({ kind: "pong", seq, role } satisfies Pong);
}

/**
 * Encodes the answer to a malformed request.
 *
 * @example
 * ```ts
 * import { encodeRefusal } from "./protocol.ts";
 *
 * const frame = encodeRefusal("seq: expected integer >= 0, got -1");
 * ```
 */
export function encodeRefusal(reason: string): Uint8Array {
  return encode({ kind: "error", reason } satisfies Refusal);
}

/**
 * Decodes a reply (a pong or a refusal); throws BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeReply, encodeRefusal } from "./protocol.ts";
 *
 * console.log(decodeReply([encodeRefusal("no")]).kind); // "error"
 * ```
 */
export function decodeReply(frames: Uint8Array[]): Pong | Refusal {
  return decode(oneFrame(frames), s.oneOf(Pong, Refusal));
}

function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  return frames[0];
}
