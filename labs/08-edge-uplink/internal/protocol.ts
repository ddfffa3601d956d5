/**
 * Lab 08 wire protocol: 6/PPP (Paranoid Pirate) control frames plus readings and acks.
 *
 * The device connects a DEALER to the receiver's ROUTER, like a Paranoid Pirate worker to
 * its queue. Frames as the device sends them (the ROUTER adds the routing id in front):
 *
 * - `["\x01"]` READY: first message of every connection (6/PPP), the first one included.
 * - `["\x02"]` HEARTBEAT: every heartbeat interval, both ways (6/PPP, liveness 3).
 * - `["BATCH", batch]`: readings, `batch` = msgpack {@linkcode Batch}.
 * - receiver → device `["ACK", ack]`: `ack` = msgpack {@linkcode Ack}, sent after the
 *   readings are durable (committed and fsynced).
 *
 * One-frame messages are exactly the Guide's control words, so a Guide `ppworker` is a
 * device that never sends readings, and a Guide `ppqueue` is a receiver that never acks.
 *
 * @module
 */
import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** 6/PPP READY. */
export const READY = "\x01";
/** 6/PPP HEARTBEAT. */
export const HEARTBEAT = "\x02";
/** Kind frame of a batch of readings. */
export const BATCH = "BATCH";
/** Kind frame of an acknowledgement. */
export const ACK = "ACK";

/** Most readings in one batch. */
export const MAX_BATCH = 1000;

const Reading = s.object({
  /** Sequence number within the device's epoch: the reading id is (device, epoch, seq). */
  seq: s.int({ min: 0 }),
  /** When the reading was taken (wall clock, ms since the epoch). */
  t: s.number(),
  /** The measured value. */
  v: s.number(),
});

/** One reading. */
export type Reading = Infer<typeof Reading>;

const BatchSchema = s.object({
  device: s.string({ min: 1, max: 128 }),
  /** Identity of the device's store: a new one means its numbering started over. */
  epoch: s.string({ min: 1, max: 64 }),
  /**
   * Lowest seq the device still holds: anything below it was acked or dropped by the
   * device and will never be sent again (so a jump below it is a known gap, not a loss).
   */
  floor: s.int({ min: 0 }),
  readings: s.array(Reading, { min: 1, max: MAX_BATCH }),
});

/** A batch of readings, in seq order. */
export type Batch = Infer<typeof BatchSchema>;

const AckSchema = s.object({
  device: s.string({ min: 1, max: 128 }),
  epoch: s.string({ min: 1, max: 64 }),
  /** Every reading up to this seq is stored (-1: none yet). */
  upto: s.int({ min: -1 }),
  /** `rewind`: the batch did not follow what is stored: send again from `upto + 1`. */
  status: s.literal("ok", "rewind"),
});

/** An acknowledgement. */
export type Ack = Infer<typeof AckSchema>;

const text = new TextDecoder();
const bytes = new TextEncoder();

/** What one message from the other side is. */
export type Message =
  | { kind: "ready" }
  | { kind: "heartbeat" }
  | { kind: "batch"; batch: Batch }
  | { kind: "ack"; ack: Ack };

/**
 * Parses one message (frames after any routing id). Throws `BadMessageError` for
 * anything else.
 *
 * @example
 * ```ts
 * import { encodeBatch, parseMessage } from "./protocol.ts";
 * parseMessage(encodeBatch({ device: "d1", epoch: "e", floor: 0, readings: [{ seq: 0, t: 0, v: 1 }] }));
 * ```
 */
export function parseMessage(frames: Uint8Array[]): Message {
  if (frames.length === 1 && frames[0].length === 1) {
    if (frames[0][0] === 1) return { kind: "ready" };
    if (frames[0][0] === 2) return { kind: "heartbeat" };
  }
  if (frames.length === 2) {
    const kind = frames[0].length <= 8 ? text.decode(frames[0]) : "";
    if (kind === BATCH) {
      const batch = decode(frames[1], BatchSchema);
      for (let i = 1; i < batch.readings.length; i++) {
        if (batch.readings[i].seq <= batch.readings[i - 1].seq) {
          throw new BadMessageError(
            `batch: expected increasing seqs, got ${batch.readings[i - 1].seq} then ${
              batch.readings[i].seq
            }`,
          );
        }
      }
      if (batch.floor > batch.readings[0].seq) {
        throw new BadMessageError(
          `batch: expected floor <= first seq ${batch.readings[0].seq}, got ${batch.floor}`,
        );
      }
      return { kind: "batch", batch };
    }
    if (kind === ACK) return { kind: "ack", ack: decode(frames[1], AckSchema) };
  }
  throw new BadMessageError(
    `expected READY, HEARTBEAT, BATCH or ACK, got ${frames.length} frame(s) (${
      frames.slice(0, 8).map((f) => f.length).join(", ")
    } bytes)`,
  );
}

/** `["BATCH", msgpack]`. */
export function encodeBatch(batch: Batch): Uint8Array[] {
  return [bytes.encode(BATCH), encode(batch)];
}

/** `["ACK", msgpack]`. */
export function encodeAck(ack: Ack): Uint8Array[] {
  return [bytes.encode(ACK), encode(ack)];
}
