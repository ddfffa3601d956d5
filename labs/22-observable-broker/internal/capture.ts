/**
 * The capture stream's frames. Every forwarded message is published on the capture PUB as
 *
 * | frame | content                                                                   |
 * | ----- | ------------------------------------------------------------------------- |
 * | 0     | topic: `f2b` (frontend -> backend) or `b2f` (backend -> frontend)         |
 * | 1     | 16 bytes: capture sequence uint64 BE (per direction, from 1), wall clock  |
 * |       | ms float64 BE when the broker forwarded it                                |
 * | 2..   | the message's frames exactly as forwarded (the routing identity first)    |
 *
 * A gap in the sequence is a message this observer did not get: dropped by the broker
 * (the capture socket was full) or by libzmq. Subscribe to `f2b`, `b2f` or "" for both.
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";

/** A direction through the broker. */
export type Direction = "f2b" | "b2f";

/** Topic frames, encoded once. */
export const TOPIC: Readonly<Record<Direction, Uint8Array>> = {
  f2b: new TextEncoder().encode("f2b"),
  b2f: new TextEncoder().encode("b2f"),
};

/**
 * The 16-byte header frame.
 *
 * @example
 * ```ts
 * import { captureHeader, parseCapture, TOPIC } from "./capture.ts";
 * const msg = [TOPIC.f2b, captureHeader(1, Date.now()), new Uint8Array([1])];
 * parseCapture(msg).seq; // 1
 * ```
 */
export function captureHeader(seq: number, wallMs: number): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setBigUint64(0, BigInt(seq));
  v.setFloat64(8, wallMs);
  return h;
}

/** A captured message. */
export interface Captured {
  direction: Direction;
  seq: number;
  wallMs: number;
  /** The forwarded frames. */
  frames: Uint8Array[];
}

const decoder = new TextDecoder();

/** Parses a capture message; `BadMessageError` if it is not one. */
export function parseCapture(frames: Uint8Array[]): Captured {
  if (frames.length < 3) {
    throw new BadMessageError(`expected >= 3 capture frames, got ${frames.length}`);
  }
  const topic = decoder.decode(frames[0].subarray(0, 8));
  if (topic !== "f2b" && topic !== "b2f") {
    throw new BadMessageError(`expected topic f2b|b2f, got ${JSON.stringify(topic)}`);
  }
  const h = frames[1];
  if (h.length !== 16) throw new BadMessageError(`expected a 16-byte header, got ${h.length}`);
  const v = new DataView(h.buffer, h.byteOffset, 16);
  return {
    direction: topic,
    seq: Number(v.getBigUint64(0)),
    wallMs: v.getFloat64(8),
    frames: frames.slice(2),
  };
}
