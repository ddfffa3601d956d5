/**
 * Lab 18 wire protocol. A video frame is one two-part message:
 *
 * ```
 * camera_feed (PUB or ROUTER)                          analytics_engine (SUB or DEALER)
 *   | [ header: msgpack FrameHeader ] [ payload: NV12 bytes ]  ------->  |
 *   | <-------  [ msgpack {kind: "credit", credit: n} ]   (credit mode only)
 *   | <-------  [ msgpack {kind: "bye"} ]                 (credit mode only)
 * ```
 *
 * The header is its own small frame (copied by libzmq); the payload is the pool buffer
 * itself, sent zero-copy. A malformed header throws BadMessageError; the engine logs it as
 * `bad_message`, discards the rest of the message and goes on.
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** The only pixel format this lab streams. */
export const FORMAT = "NV12";
/** Largest header frame an engine accepts (bytes). */
export const MAX_HEADER_BYTES = 512;
/** Largest engine → camera control frame the camera accepts (bytes; libzmq drops larger). */
export const MAX_CONTROL_BYTES = 1024;
/** Largest credit a single message may grant. */
export const MAX_CREDIT = 1000;

/** The frame header: its own frame, before the payload. */
export const FrameHeader = s.object({
  /** Random per camera start: a new stream resets gap counting. */
  stream: s.string({ min: 1, max: 64 }),
  /** Frame id, from 0, +1 per frame the camera sent (gaps are drops). */
  id: s.int({ min: 0 }),
  /** Presentation timestamp: capture time in µs since the Unix epoch (wall clock). */
  pts_us: s.number({ min: 0 }),
  width: s.int({ min: 2, max: 16384 }),
  height: s.int({ min: 2, max: 16384 }),
  format: s.literal(FORMAT),
  /** Payload bytes. */
  size: s.int({ min: 1 }),
  /** `frameChecksum` of the payload. */
  checksum: s.int({ min: 0, max: 0xffff_ffff }),
}, { strict: true });
/** The frame header. */
export type FrameHeader = Infer<typeof FrameHeader>;

/** Engine → camera (credit mode): grants `credit` more frames; 0 is a keep-alive. */
export const Credit = s.object({
  kind: s.literal("credit"),
  credit: s.int({ min: 0, max: MAX_CREDIT }),
}, { strict: true });
/** Engine → camera: grants credit. */
export type Credit = Infer<typeof Credit>;

/** Engine → camera (credit mode): the engine leaves; forget its credit now. */
export const Bye = s.object({ kind: s.literal("bye") }, { strict: true });
/** Engine → camera: the engine leaves. */
export type Bye = Infer<typeof Bye>;

/**
 * Encodes a frame header.
 *
 * @example
 * ```ts
 * import { decodeHeader, encodeHeader } from "./protocol.ts";
 * const bytes = encodeHeader({
 *   stream: "s1", id: 1, pts_us: 1e15, width: 2, height: 2, format: "NV12", size: 6, checksum: 0,
 * });
 * console.log(decodeHeader(bytes).id); // 1
 * ```
 */
export function encodeHeader(header: FrameHeader): Uint8Array {
  return encode(header);
}

/**
 * Decodes and checks a header frame (size consistent with width × height × 1.5); throws
 * BadMessageError otherwise.
 *
 * @example
 * ```ts
 * import { decodeHeader } from "./protocol.ts";
 * try {
 *   decodeHeader(new Uint8Array([0xc1]));
 * } catch (error) {
 *   console.log((error as Error).name); // BadMessageError
 * }
 * ```
 */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  const header = decode(bytes, FrameHeader);
  if (header.width % 2 !== 0 || header.height % 2 !== 0) {
    throw new BadMessageError(`odd frame size ${header.width}x${header.height}`);
  }
  if (header.size !== header.width * header.height * 3 / 2) {
    throw new BadMessageError(
      `size ${header.size} is not NV12 ${header.width}x${header.height} (${
        header.width * header.height * 3 / 2
      })`,
    );
  }
  return header;
}

/**
 * Encodes a credit grant (0 = keep-alive).
 *
 * @example
 * ```ts
 * import { decodeControl, encodeCredit } from "./protocol.ts";
 * console.log(decodeControl([encodeCredit(4)])); // { kind: "credit", credit: 4 }
 * ```
 */
export function encodeCredit(credit: number): Uint8Array {
  return encode({ kind: "credit", credit } satisfies Credit);
}

/**
 * Encodes a goodbye.
 *
 * @example
 * ```ts
 * import { decodeControl, encodeBye } from "./protocol.ts";
 * console.log(decodeControl([encodeBye()]).kind); // "bye"
 * ```
 */
export function encodeBye(): Uint8Array {
  return encode({ kind: "bye" } satisfies Bye);
}

/**
 * Decodes an engine → camera message (one frame: credit or bye); throws BadMessageError.
 *
 * @example
 * ```ts
 * import { decodeControl, encodeCredit } from "./protocol.ts";
 * const msg = decodeControl([encodeCredit(1)]);
 * ```
 */
export function decodeControl(frames: Uint8Array[]): Credit | Bye {
  if (frames.length !== 1) throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  return decode(frames[0], s.oneOf(Credit, Bye));
}
