/**
 * Lab 19 stream protocol: the secure_server PUBlishes readings, two frames each, inside
 * CURVE (RFC 26): `[topic, body]` where `topic` is `reading.<sensor>` (SUB filters on
 * it) and `body` one msgpack map checked by a schema on the way in (a malformed message
 * throws BadMessageError, which the client logs as `bad_message` and drops).
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** The topic prefix of every reading. */
export const TOPIC_PREFIX = "reading.";
/** Largest message the client accepts (libzmq drops the connection on a larger one). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * One reading: a per-server sequence (from 1, gapless: a gap means the subscriber lost
 * messages), the server's boot id (a new one means the server restarted and the
 * sequence starts over), the time, the sensor, its value and the stream's label.
 */
export const Reading = s.object({
  seq: s.int({ min: 1 }),
  boot: s.string(),
  ts: s.number(),
  sensor: s.string(),
  value: s.number(),
  label: s.string(),
}, { strict: true });
/** One reading. */
export type Reading = Infer<typeof Reading>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a reading as `[topic, body]`.
 *
 * @example
 * ```ts
 * import { decodeReading, encodeReading } from "./protocol.ts";
 * const reading = { seq: 1, boot: "b", ts: 0, sensor: "t1", value: 20.5, label: "lab" };
 * decodeReading(encodeReading(reading)).value; // 20.5
 * ```
 */
export function encodeReading(reading: Reading): Uint8Array[] {
  return [encoder.encode(`${TOPIC_PREFIX}${reading.sensor}`), encode(reading)];
}

/**
 * Decodes `[topic, body]`; throws BadMessageError when the frames, the schema or the
 * topic (it must match the body's sensor) are wrong.
 *
 * @example
 * ```ts
 * import { decodeReading } from "./protocol.ts";
 * try {
 *   decodeReading([new Uint8Array(1)]);
 * } catch (error) {
 *   console.log((error as Error).message); // expected [topic, body], got 1 frame(s)
 * }
 * ```
 */
export function decodeReading(frames: Uint8Array[]): Reading {
  if (frames.length !== 2) {
    throw new BadMessageError(`expected [topic, body], got ${frames.length} frame(s)`);
  }
  const reading = decode(frames[1], Reading);
  const topic = decoder.decode(frames[0]);
  if (topic !== `${TOPIC_PREFIX}${reading.sensor}`) {
    throw new BadMessageError(`expected topic ${TOPIC_PREFIX}<sensor>, got one for another sensor`);
  }
  return reading;
}
