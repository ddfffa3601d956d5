/**
 * The receiver's exactly-once, in-order rule for one batch, as a pure function: which
 * readings of the batch to store, given what is already stored for the device.
 *
 * A reading id is (device, epoch, seq). Per device the store keeps the last stored seq of
 * the current epoch. A reading at or below it is a duplicate (a replay after a lost ack, or
 * after a failover) and is skipped; the next seq is stored; a jump is stored only when the
 * device says everything before it is gone for good (the reading is the device's `floor`,
 * its oldest held reading: the ones before it were dropped by its bounded queue), and the
 * skipped seqs are counted as missing. Any other jump means an earlier reading is still
 * on its way (lost with a connection, or sent to another receiver): the rest of the batch
 * is not stored and the device is told to `rewind` and send again from `upto + 1`, so
 * readings are stored in seq order per device.
 *
 * @module
 */
import type { Batch, Reading } from "./protocol.ts";

/** What is stored for one device. */
export interface DevicePosition {
  epoch: string;
  lastSeq: number;
}

/** The verdict on one batch. */
export interface BatchVerdict {
  /** Readings to store, in order. */
  store: Reading[];
  /** Readings skipped as already stored. */
  duplicates: number;
  /** Seqs the device dropped before they were stored (a known gap). */
  missing: number;
  /** The device's numbering started over (first contact, or a new epoch). */
  restart: boolean;
  /** Everything up to this seq is stored once `store` is. */
  upto: number;
  /** `rewind`: the batch did not follow; the device sends again from `upto + 1`. */
  status: "ok" | "rewind";
}

/**
 * Judges a batch against the device's stored position (undefined: never seen).
 *
 * @example
 * ```ts
 * import { judgeBatch } from "./ingest.ts";
 * const r = (seq: number) => ({ seq, t: 0, v: 0 });
 * judgeBatch({ epoch: "e", lastSeq: 1 }, { device: "d", epoch: "e", floor: 1, readings: [r(1), r(2)] });
 * // { store: [r(2)], duplicates: 1, missing: 0, restart: false, upto: 2, status: "ok" }
 * ```
 */
export function judgeBatch(
  position: DevicePosition | undefined,
  batch: Batch,
): BatchVerdict {
  const restart = position === undefined || position.epoch !== batch.epoch;
  // On first contact (or a new epoch) the device's floor is where its numbering stands.
  let last = restart ? batch.floor - 1 : position.lastSeq;
  let missing = restart ? batch.floor : 0;
  const store: Reading[] = [];
  let duplicates = 0;
  let status: "ok" | "rewind" = "ok";
  for (const reading of batch.readings) {
    const expected = last + 1;
    if (reading.seq < expected) {
      duplicates++;
      continue;
    }
    if (reading.seq > expected) {
      if (reading.seq !== batch.floor) {
        status = "rewind";
        break;
      }
      missing += reading.seq - expected;
    }
    store.push(reading);
    last = reading.seq;
  }
  return { store, duplicates, missing, restart, upto: last, status };
}
