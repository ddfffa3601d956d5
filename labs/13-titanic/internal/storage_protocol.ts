/**
 * The storage protocol between titanic_broker (a DEALER) and storage_service (a ROUTER):
 * one msgpack frame each way, every request carrying an `id` its answer repeats.
 *
 * ```
 * put    {id, op, uuid, service, body}       -> {id, ok}           stored (fsynced) first
 * get    {id, op, uuid}                      -> {id, ok, lookup}
 * reply  {id, op, uuid, body}                -> {id, ok, body?}    first reply wins
 * fail   {id, op, uuid, reason, retry_at?}   -> {id, ok}           no retry_at: dead letter
 * remove {id, op, uuid}                      -> {id, ok}           idempotent
 * due    {id, op, limit, exclude}            -> {id, ok, items}
 * any failure                                -> {id, ok: false, error}
 * ```
 *
 * @module
 */
import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";
import type { DueRequest, Lookup } from "./store.ts";

/** A 9/TSP UUID as this lab makes them: 32 lower-case hex characters. */
export const UUID_PATTERN: RegExp = /^[0-9a-fA-F]{32}$/;

const uuid = s.string({ min: 32, max: 32 });
const frames = s.array(s.bytes({ max: 16 * 1024 * 1024 }), { min: 1, max: 1000 });

/** The schema of a storage request. */
export const StorageRequest = s.oneOf(
  s.object({
    id: s.int(),
    op: s.literal("put"),
    uuid,
    service: s.string({ min: 1, max: 255 }),
    body: frames,
  }),
  s.object({ id: s.int(), op: s.literal("get"), uuid }),
  s.object({ id: s.int(), op: s.literal("reply"), uuid, body: frames }),
  s.object({
    id: s.int(),
    op: s.literal("fail"),
    uuid,
    reason: s.string({ max: 1000 }),
    retry_at: s.optional(s.int()),
  }),
  s.object({ id: s.int(), op: s.literal("remove"), uuid }),
  s.object({
    id: s.int(),
    op: s.literal("due"),
    limit: s.int({ min: 1, max: 10_000 }),
    exclude: s.array(uuid, { max: 10_000 }),
  }),
);

/** One storage request. */
export type StorageRequest =
  | { id: number; op: "put"; uuid: string; service: string; body: Uint8Array[] }
  | { id: number; op: "get"; uuid: string }
  | { id: number; op: "reply"; uuid: string; body: Uint8Array[] }
  | { id: number; op: "fail"; uuid: string; reason: string; retry_at?: number }
  | { id: number; op: "remove"; uuid: string }
  | { id: number; op: "due"; limit: number; exclude: string[] };

/** The answer to one storage request. */
export interface StorageAnswer {
  id: number;
  ok: boolean;
  error?: string;
  lookup?: Lookup;
  body?: Uint8Array[];
  items?: DueRequest[];
}

const Answer = s.object({
  id: s.int(),
  ok: s.boolean(),
  error: s.optional(s.string()),
  lookup: s.optional(s.unknown()),
  body: s.optional(s.array(s.bytes())),
  items: s.optional(s.array(s.object({
    uuid,
    service: s.string(),
    body: s.array(s.bytes()),
    attempts: s.int(),
  }))),
});

/**
 * Decodes a storage request frame; throws `BadMessageError` saying expected vs got.
 *
 * @example
 * ```ts
 * import { decodeStorageRequest, encodeStorage } from "./storage_protocol.ts";
 * decodeStorageRequest(encodeStorage({ id: 1, op: "get", uuid: "0".repeat(32) })).op; // "get"
 * ```
 */
export function decodeStorageRequest(frame: Uint8Array): StorageRequest {
  const request = decode(frame, StorageRequest) as StorageRequest;
  if ("uuid" in request && !UUID_PATTERN.test(request.uuid)) {
    throw new BadMessageError(`uuid: expected 32 hex characters, got "${request.uuid}"`);
  }
  return request;
}

/**
 * Decodes a storage answer frame; throws `BadMessageError`.
 *
 * @example
 * ```ts
 * import { decodeStorageAnswer, encodeStorage } from "./storage_protocol.ts";
 * decodeStorageAnswer(encodeStorage({ id: 1, ok: true })).ok; // true
 * ```
 */
export function decodeStorageAnswer(frame: Uint8Array): StorageAnswer {
  const answer = decode(frame, Answer) as StorageAnswer;
  if (answer.lookup !== undefined) answer.lookup = checkLookup(answer.lookup);
  return answer;
}

function checkLookup(value: unknown): Lookup {
  const v = value as Record<string, unknown>;
  const bad = () =>
    new BadMessageError(`lookup: expected {state: pending|done|dead|unknown}, got ${typeof value}`);
  if (typeof v !== "object" || v === null) throw bad();
  switch (v.state) {
    case "unknown":
      return { state: "unknown" };
    case "pending":
      return { state: "pending", attempts: Number(v.attempts) || 0 };
    case "dead":
      return { state: "dead", attempts: Number(v.attempts) || 0, reason: String(v.reason) };
    case "done":
      if (!Array.isArray(v.body) || !v.body.every((f) => f instanceof Uint8Array)) throw bad();
      return { state: "done", body: v.body as Uint8Array[] };
    default:
      throw bad();
  }
}

/**
 * Encodes a storage request or answer as one frame.
 *
 * @example
 * ```ts
 * import { encodeStorage } from "./storage_protocol.ts";
 * encodeStorage({ id: 7, op: "remove", uuid: "f".repeat(32) }).length > 0; // true
 * ```
 */
export function encodeStorage(message: StorageRequest | StorageAnswer): Uint8Array {
  return encode(message);
}
