/**
 * 9/TSP (Titanic Service Protocol) over 7/MDP: service names, status codes, the UUIDs, the
 * request checks and the answers, and the dispatcher's retry decision. Sans-IO.
 *
 * ```
 * titanic.request  [service, body...]  -> ["200", uuid] | ["500"]
 * titanic.reply    [uuid]              -> ["200", body...] | ["300"] | ["400"] | ["500 ..."]
 * titanic.close    [uuid]              -> ["200"]   (idempotent)
 * ```
 *
 * @module
 */
import { backoffDelay, type BackoffOptions, toHex } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { decodeServiceName, frameText, MMI_PREFIX } from "@lib/patterns/mod.ts";
import type { Lookup } from "./store.ts";
import { UUID_PATTERN } from "./storage_protocol.ts";

/** The three 9/TSP services. */
export const TSP_SERVICES = ["titanic.request", "titanic.reply", "titanic.close"] as const;
/** One 9/TSP service name. */
export type TspService = typeof TSP_SERVICES[number];

/**
 * 9/TSP status codes.
 *
 * @example
 * ```ts
 * import { TspStatus } from "./tsp.ts";
 * console.log(TspStatus.PENDING); // "300"
 * ```
 */
export const TspStatus = { OK: "200", PENDING: "300", UNKNOWN: "400", ERROR: "500" } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A fresh request UUID: 128 random bits as 32 lower-case hex characters.
 *
 * @example
 * ```ts
 * import { newUuid } from "./tsp.ts";
 * newUuid().length; // 32
 * ```
 */
export function newUuid(
  random: () => Uint8Array = () => crypto.getRandomValues(new Uint8Array(16)),
): string {
  return toHex(random());
}

/**
 * Checks a `titanic.request` body: `[service, body...]` with a service outside `mmi.` and
 * `titanic.`, and at least one body frame. Throws `BadMessageError`.
 *
 * @example
 * ```ts
 * import { parseTitanicRequest } from "./tsp.ts";
 * const e = new TextEncoder();
 * parseTitanicRequest([e.encode("echo"), e.encode("hi")]).service; // "echo"
 * ```
 */
export function parseTitanicRequest(frames: Uint8Array[]): { service: string; body: Uint8Array[] } {
  if (frames.length < 2) {
    throw new BadMessageError(
      `titanic.request: expected a service and 1+ body frames, got ${frames.length} frame(s)`,
    );
  }
  const service = decodeServiceName(frames[0]);
  if (service.startsWith(MMI_PREFIX) || service.startsWith("titanic.")) {
    throw new BadMessageError(`titanic.request: expected an application service, got "${service}"`);
  }
  return { service, body: frames.slice(1) };
}

/**
 * Checks a `titanic.reply` / `titanic.close` body: exactly one 32-hex UUID frame; returns
 * it in lower case. Throws `BadMessageError`.
 *
 * @example
 * ```ts
 * import { parseUuidFrame } from "./tsp.ts";
 * parseUuidFrame([new TextEncoder().encode("AB".repeat(16))]); // "ab" x 16
 * ```
 */
export function parseUuidFrame(frames: Uint8Array[]): string {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected 1 UUID frame, got ${frames.length} frame(s)`);
  }
  const text = frames[0].length === 32 ? decoder.decode(frames[0]) : "";
  if (!UUID_PATTERN.test(text)) {
    throw new BadMessageError(
      `expected a UUID of 32 hex characters, got "${frameText(frames[0])}"`,
    );
  }
  return text.toLowerCase();
}

/**
 * The `titanic.reply` answer for what the store knows. A dead letter answers 500 with its
 * reason as text (the RFC's "cannot complete"; the text is for people, not programs).
 *
 * @example
 * ```ts
 * import { replyAnswer } from "./tsp.ts";
 * replyAnswer({ state: "pending", attempts: 0 }).map((f) => new TextDecoder().decode(f)); // ["300"]
 * ```
 */
export function replyAnswer(lookup: Lookup): Uint8Array[] {
  switch (lookup.state) {
    case "done":
      return [encoder.encode(TspStatus.OK), ...lookup.body];
    case "pending":
      return [encoder.encode(TspStatus.PENDING)];
    case "unknown":
      return [encoder.encode(TspStatus.UNKNOWN)];
    case "dead":
      return [
        encoder.encode(
          `${TspStatus.ERROR} dead letter after ${lookup.attempts} attempts: ${lookup.reason}`,
        ),
      ];
  }
}

/**
 * An answer made of status (and text) frames.
 *
 * @example
 * ```ts
 * import { statusFrames } from "./tsp.ts";
 * statusFrames("200", "0".repeat(32)).length; // 2
 * ```
 */
export function statusFrames(...frames: string[]): Uint8Array[] {
  return frames.map((f) => encoder.encode(f));
}

/** What the dispatcher does after a failed attempt. */
export type RetryDecision = { retryAt: number; delayMs: number } | { retryAt: null };

/**
 * After failed attempt number `attempts` (1-based, counting this one): retry after a capped
 * backoff delay (the per-request count lives in the store, so the stateless `backoffDelay`),
 * or dead-letter when `attempts` reached `maxAttempts`.
 *
 * @example
 * ```ts
 * import { retryDecision } from "./tsp.ts";
 * const backoff = { initialMs: 100, maxMs: 1000, jitter: "none" } as const;
 * retryDecision(2, 5, backoff, 0); // { retryAt: 200, delayMs: 200 }
 * ```
 */
export function retryDecision(
  attempts: number,
  maxAttempts: number,
  backoff: BackoffOptions,
  now: number,
): RetryDecision {
  if (attempts >= maxAttempts) return { retryAt: null };
  const delayMs = backoffDelay(attempts - 1, backoff);
  return { retryAt: now + delayMs, delayMs };
}
