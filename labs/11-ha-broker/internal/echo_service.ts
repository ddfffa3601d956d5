/**
 * The service both brokers offer: the Guide's `bstarsrv` echo. A client's request comes
 * through the ROUTER as `[identity, "", body...]` (a REQ envelope) and the reply is the
 * same frames, so the REQ client gets its request back. The Guide's `bstarcli.py` checks
 * exactly that (the reply equals the sequence number it sent), and so does client_app.
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import type { Frames } from "@lib/patterns/mod.ts";

/** Largest request the frontend accepts (libzmq drops the connection of a bigger one). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The reply to one request as received on the ROUTER: the frames unchanged. Throws
 * `BadMessageError` when there is no REQ envelope (an empty delimiter after the routing
 * frames) or no body: such a message is dropped and is not a client's vote.
 *
 * @example
 * ```ts
 * import { echoReply } from "./echo_service.ts";
 * const te = new TextEncoder();
 * const request = [te.encode("peer-1"), new Uint8Array(0), te.encode("17")];
 * echoReply(request); // the same three frames
 * ```
 */
export function echoReply(frames: Frames): Frames {
  const delimiter = frames.findIndex((f, i) => i > 0 && f.length === 0);
  if (delimiter < 0) {
    throw new BadMessageError(
      `request: expected [identity, "", body...] (a REQ envelope), got ${frames.length} frames without an empty delimiter`,
    );
  }
  if (delimiter === frames.length - 1) {
    throw new BadMessageError(
      "request: expected at least one body frame after the envelope, got none",
    );
  }
  return frames;
}
