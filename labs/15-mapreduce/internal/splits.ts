/**
 * Input splits: the master cuts each input file into byte ranges of about `splitSize`;
 * a map task reads the records (lines) that START in its range. A record that crosses the
 * end of the range is read to its newline by this split; the next split skips the partial
 * line it begins in. Every line is thus read by exactly one split, whatever the cut points
 * (the Hadoop `LineRecordReader` rule).
 *
 * @module
 */

/** One map task's input: `[start, end)` of `file`. */
export interface Split {
  file: string;
  start: number;
  end: number;
}

/**
 * Cuts files (path and size) into splits of at most `splitSize` bytes; an empty file
 * gives no split.
 *
 * @example
 * ```ts
 * import { computeSplits } from "./splits.ts";
 * computeSplits([{ path: "a.txt", size: 250 }], 100).length; // 3
 * ```
 */
export function computeSplits(
  files: readonly { path: string; size: number }[],
  splitSize: number,
): Split[] {
  if (!(splitSize >= 1)) throw new RangeError(`expected splitSize >= 1, got ${splitSize}`);
  const splits: Split[] = [];
  for (const { path, size } of files) {
    for (let start = 0; start < size; start += splitSize) {
      splits.push({ file: path, start, end: Math.min(size, start + splitSize) });
    }
  }
  return splits;
}

/** One record of a split. */
export interface RecordAt {
  /** Byte offset of the record's first byte in the file. */
  offset: number;
  /** The record's bytes (no newline; a trailing CR removed), or null if it was too long. */
  bytes: Uint8Array | null;
  /** Its length in bytes (also when it was too long and not kept). */
  length: number;
}

const NL = 10;
const CHUNK = 64 * 1024;

/**
 * Reads the records of `[start, end)` of an open file (anything with `seek` and `read`),
 * keeping at most `maxRecord` bytes of one record (a longer one comes back with `bytes`
 * null, to be skipped and reported).
 *
 * @example
 * ```ts
 * import { readSplit } from "./splits.ts";
 * using file = await Deno.open("input.txt");
 * for await (const record of readSplit(file, 0, 100, 1 << 20)) console.log(record.offset);
 * ```
 */
export async function* readSplit(
  file: Pick<Deno.FsFile, "seek" | "read">,
  start: number,
  end: number,
  maxRecord: number,
): AsyncGenerator<RecordAt> {
  let pos = start === 0 ? 0 : start - 1; // file offset of buf[0]
  await file.seek(pos, Deno.SeekMode.Start);
  const chunk = new Uint8Array(CHUNK);
  // Bytes of the record being read, as pieces (no copy until it ends).
  let pieces: Uint8Array[] = [];
  let kept = 0;
  let recordStart = start === 0 ? 0 : -1; // -1: skipping the line the split begins in
  let tooLong = false;
  let length = 0;
  while (true) {
    const n = await file.read(chunk);
    if (n === null || n === 0) break;
    const data = chunk.subarray(0, n);
    let i = 0;
    while (i < data.length) {
      if (recordStart < 0) {
        const nl = data.indexOf(NL, i);
        if (nl < 0) {
          i = data.length;
          continue;
        }
        i = nl + 1;
        recordStart = pos + i;
        if (recordStart >= end) return;
        continue;
      }
      const nl = data.indexOf(NL, i);
      const stop = nl < 0 ? data.length : nl;
      const piece = data.subarray(i, stop);
      length += piece.length;
      if (!tooLong) {
        if (kept + piece.length > maxRecord + 1) {
          tooLong = true;
          pieces = [];
          kept = 0;
        } else {
          pieces.push(piece.slice());
          kept += piece.length;
        }
      }
      if (nl < 0) {
        i = data.length;
        continue;
      }
      yield finish(recordStart, pieces, kept, tooLong, length, maxRecord);
      pieces = [];
      kept = 0;
      tooLong = false;
      length = 0;
      i = nl + 1;
      recordStart = pos + i;
      if (recordStart >= end) return;
    }
    pos += n;
  }
  // The last record of the file has no newline.
  if (recordStart >= 0 && recordStart < end && length > 0) {
    yield finish(recordStart, pieces, kept, tooLong, length, maxRecord);
  }
}

function finish(
  offset: number,
  pieces: Uint8Array[],
  kept: number,
  tooLong: boolean,
  length: number,
  maxRecord: number,
): RecordAt {
  let bytes: Uint8Array | null = null;
  if (!tooLong) {
    bytes = pieces.length === 1 ? pieces[0] : new Uint8Array(kept);
    if (pieces.length !== 1) {
      let at = 0;
      for (const p of pieces) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    if (bytes.length > maxRecord) bytes = null;
  }
  return { offset, bytes, length };
}
