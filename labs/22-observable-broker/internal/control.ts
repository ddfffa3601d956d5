/**
 * The control protocol of `zmq_proxy_steerable` (libzmq 4.3): single-frame commands
 * `PAUSE`, `RESUME`, `TERMINATE`, `STATISTICS` (exact bytes, case-sensitive). A REP
 * control socket answers PAUSE/RESUME/TERMINATE (and anything else) with one empty frame;
 * a PAIR answers nothing. STATISTICS is answered on both with 8 frames of one uint64 each
 * (libzmq copies the host's uint64_t: little-endian on every platform this lab runs on),
 * in this order: frontend received msgs, bytes; frontend sent msgs, bytes; backend
 * received msgs, bytes; backend sent msgs, bytes. As in libzmq, "msgs" counts message
 * parts (each frame is one zmq_msg_t).
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";

/** A control command. */
export type ControlCommand = "PAUSE" | "RESUME" | "TERMINATE" | "STATISTICS";

/** The commands, in the order the documentation lists them. */
export const CONTROL_COMMANDS: readonly ControlCommand[] = [
  "PAUSE",
  "RESUME",
  "TERMINATE",
  "STATISTICS",
];

/** The 8 counters of a STATISTICS reply, in wire order. */
export interface SteerableStatistics {
  frontendReceivedMessages: number;
  frontendReceivedBytes: number;
  frontendSentMessages: number;
  frontendSentBytes: number;
  backendReceivedMessages: number;
  backendReceivedBytes: number;
  backendSentMessages: number;
  backendSentBytes: number;
}

const STAT_ORDER: readonly (keyof SteerableStatistics)[] = [
  "frontendReceivedMessages",
  "frontendReceivedBytes",
  "frontendSentMessages",
  "frontendSentBytes",
  "backendReceivedMessages",
  "backendReceivedBytes",
  "backendSentMessages",
  "backendSentBytes",
];

const decoder = new TextDecoder();

/**
 * Parses one control message; throws `BadMessageError` for anything but one frame holding
 * exactly one of the four commands.
 *
 * @example
 * ```ts
 * import { parseControl } from "./control.ts";
 * parseControl([new TextEncoder().encode("PAUSE")]); // "PAUSE"
 * ```
 */
export function parseControl(frames: Uint8Array[]): ControlCommand {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected a 1-frame control command, got ${frames.length} frames`);
  }
  const f = frames[0];
  if (f.length <= 10) {
    const text = decoder.decode(f);
    if ((CONTROL_COMMANDS as readonly string[]).includes(text)) return text as ControlCommand;
  }
  throw new BadMessageError(
    `expected PAUSE|RESUME|TERMINATE|STATISTICS, got ${f.length} bytes ${
      JSON.stringify(decoder.decode(f.subarray(0, 32)))
    }`,
  );
}

/**
 * The 8-frame STATISTICS reply (uint64 little-endian each).
 *
 * @example
 * ```ts
 * import { decodeStatistics, encodeStatistics } from "./control.ts";
 * const frames = encodeStatistics({ frontendReceivedMessages: 2, frontendReceivedBytes: 10,
 *   frontendSentMessages: 2, frontendSentBytes: 10, backendReceivedMessages: 2,
 *   backendReceivedBytes: 10, backendSentMessages: 2, backendSentBytes: 10 });
 * decodeStatistics(frames).frontendReceivedBytes; // 10
 * ```
 */
export function encodeStatistics(stats: SteerableStatistics): Uint8Array[] {
  return STAT_ORDER.map((name) => {
    const frame = new Uint8Array(8);
    new DataView(frame.buffer).setBigUint64(0, BigInt(stats[name]), true);
    return frame;
  });
}

/** Reads a STATISTICS reply; throws `BadMessageError` unless it is 8 frames of 8 bytes. */
export function decodeStatistics(frames: Uint8Array[]): SteerableStatistics {
  if (frames.length !== 8 || frames.some((f) => f.length !== 8)) {
    throw new BadMessageError(
      `expected 8 frames of 8 bytes, got ${frames.length} frames (${
        frames.map((f) => f.length).join(",")
      } bytes)`,
    );
  }
  const out = {} as SteerableStatistics;
  STAT_ORDER.forEach((name, i) => {
    const f = frames[i];
    out[name] = Number(new DataView(f.buffer, f.byteOffset, 8).getBigUint64(0, true));
  });
  return out;
}
