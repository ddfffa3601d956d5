/**
 * The node inspector's wire protocol, version 1, over ZeroMQ REQ-REP.
 *
 * Every request and reply is ONE frame (REQ/REP add and strip the envelope), a msgpack map:
 *
 * - request: `{v: 1, cmd: "info"|"mem"|"ps"|"disk"|"ping", args: {...}}`
 * - success: `{v: 1, ok: true, data: {...}}`
 * - failure: `{v: 1, ok: false, error: {code, message}}` with `code` from {@linkcode ERROR_CODES}
 *
 * Only the read-only commands in {@linkcode COMMANDS} exist. `ps` takes
 * `{top?: 1..10000, sort?: "cpu"|"mem"|"pid", filter?: string (≤ 200 chars)}`; the other
 * commands take `{}`. Unknown argument names are `bad_args`.
 *
 * @module
 */

import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";
import { type ProcessQuery, PS_SORT_KEYS } from "./process_query.ts";

/** Protocol version carried in every message as `v`. */
export const PROTOCOL_VERSION = 1;
/** The allow-listed, read-only commands. */
export const COMMANDS = ["info", "mem", "ps", "disk", "ping"] as const;
/** One allow-listed command. */
export type Command = typeof COMMANDS[number];
/** Error codes of a failure reply. */
export const ERROR_CODES = {
  /** The request was not one frame holding a msgpack `{v, cmd, args}` map. */
  badMessage: "bad_message",
  /** `v` is not a version this agent speaks. */
  unsupportedVersion: "unsupported_version",
  /** `cmd` is not in the allow-list. */
  unknownCommand: "unknown_command",
  /** `args` do not fit the command. */
  badArgs: "bad_args",
  /** This host cannot answer the command (a helper program is missing). */
  unsupported: "unsupported",
  /** The agent failed while answering. */
  internal: "internal",
} as const;
/** One error code. */
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES];
/** Largest request frame the agent reads (bytes); larger ones are `bad_message`. */
export const MAX_REQUEST_BYTES = 4096;
/** libzmq's hard limit on the agent's socket: larger messages drop the connection. */
export const AGENT_MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest `ps` top-N. */
export const PS_MAX_TOP = 10_000;
/** Longest `ps` filter text. */
export const PS_MAX_FILTER = 200;
/** The agent's default endpoint (lab 03's demo port). */
export const DEFAULT_ENDPOINT = "tcp://127.0.0.1:5531";

/** A decoded request. */
export interface Request {
  v: number;
  cmd: string;
  args: Record<string, unknown>;
}

/** A failure's body. */
export interface ReplyError {
  code: string;
  message: string;
}

/** A decoded reply. */
export type Reply =
  | { v: number; ok: true; data: unknown }
  | { v: number; ok: false; error: ReplyError };

/** A request the agent refuses, with the code of its failure reply. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

const RequestSchema = s.object({
  v: s.int(),
  cmd: s.string(),
  args: s.optional(s.record(s.unknown())),
});

const ReplySchema = s.object({
  v: s.int(),
  ok: s.boolean(),
  data: s.optional(s.unknown()),
  error: s.optional(s.object({ code: s.string(), message: s.string() })),
});

/**
 * Encodes a request frame.
 *
 * @example
 * ```ts
 * await req.send(encodeRequest("ps", { top: 5, sort: "mem" }));
 * ```
 */
export function encodeRequest(cmd: string, args: Record<string, unknown> = {}): Uint8Array {
  return encode({ v: PROTOCOL_VERSION, cmd, args });
}

/**
 * Decodes the frames of a request as the agent received them. Throws
 * {@linkcode ProtocolError} with `bad_message`, `unsupported_version` or `unknown_command`.
 *
 * @example
 * ```ts
 * const { cmd, args } = decodeRequest(await rep.receive());
 * ```
 */
export function decodeRequest(frames: Uint8Array[]): Request & { cmd: Command } {
  if (frames.length !== 1) {
    throw new ProtocolError(
      ERROR_CODES.badMessage,
      `expected 1 frame, got ${frames.length}`,
    );
  }
  const [frame] = frames;
  if (frame.length > MAX_REQUEST_BYTES) {
    throw new ProtocolError(
      ERROR_CODES.badMessage,
      `expected a request of at most ${MAX_REQUEST_BYTES} bytes, got ${frame.length}`,
    );
  }
  let req: { v: number; cmd: string; args?: Record<string, unknown> };
  try {
    req = decode(frame, RequestSchema);
  } catch (err) {
    if (err instanceof BadMessageError) {
      throw new ProtocolError(ERROR_CODES.badMessage, `expected {v, cmd, args}: ${err.reason}`);
    }
    throw err;
  }
  if (req.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ERROR_CODES.unsupportedVersion,
      `expected protocol version ${PROTOCOL_VERSION}, got ${req.v}`,
    );
  }
  if (!(COMMANDS as readonly string[]).includes(req.cmd)) {
    throw new ProtocolError(
      ERROR_CODES.unknownCommand,
      `expected one of ${COMMANDS.join(", ")}, got ${JSON.stringify(req.cmd.slice(0, 64))}`,
    );
  }
  return { v: req.v, cmd: req.cmd as Command, args: req.args ?? {} };
}

/**
 * Checks the arguments of `cmd` and returns them typed. Throws {@linkcode ProtocolError}
 * `bad_args` naming the argument, what was expected and what was got.
 *
 * @example
 * ```ts
 * checkArgs("ps", { top: 3 }); // { top: 3 }
 * ```
 */
export function checkArgs(cmd: Command, args: Record<string, unknown>): ProcessQuery {
  const allowed = cmd === "ps" ? ["top", "sort", "filter"] : [];
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      throw new ProtocolError(
        ERROR_CODES.badArgs,
        `${cmd}: expected ${
          allowed.length ? `arguments ${allowed.join(", ")}` : "no arguments"
        }, got ${JSON.stringify(key.slice(0, 64))}`,
      );
    }
  }
  if (cmd !== "ps") return {};
  const out: ProcessQuery = {};
  const bad = (name: string, expected: string, got: unknown): never => {
    throw new ProtocolError(
      ERROR_CODES.badArgs,
      `ps: ${name}: expected ${expected}, got ${JSON.stringify(got)?.slice(0, 64)}`,
    );
  };
  if (args.top !== undefined && args.top !== null) {
    const top = args.top;
    if (typeof top !== "number" || !Number.isInteger(top) || top < 1 || top > PS_MAX_TOP) {
      bad("top", `an integer in [1, ${PS_MAX_TOP}]`, top);
    }
    out.top = top as number;
  }
  if (args.sort !== undefined && args.sort !== null) {
    if (!(PS_SORT_KEYS as readonly unknown[]).includes(args.sort)) {
      bad("sort", PS_SORT_KEYS.join(" | "), args.sort);
    }
    out.sort = args.sort as ProcessQuery["sort"];
  }
  if (args.filter !== undefined && args.filter !== null) {
    if (typeof args.filter !== "string" || args.filter.length > PS_MAX_FILTER) {
      bad("filter", `a string of at most ${PS_MAX_FILTER} characters`, args.filter);
    }
    out.filter = args.filter as string;
  }
  return out;
}

/**
 * Encodes a success reply.
 *
 * @example
 * ```ts
 * await rep.send(encodeData({ pong: true }));
 * ```
 */
export function encodeData(data: unknown): Uint8Array {
  return encode({ v: PROTOCOL_VERSION, ok: true, data });
}

/**
 * Encodes a failure reply.
 *
 * @example
 * ```ts
 * await rep.send(encodeError("unknown_command", 'expected one of info, ..., got "reboot"'));
 * ```
 */
export function encodeError(code: ErrorCode, message: string): Uint8Array {
  return encode({ v: PROTOCOL_VERSION, ok: false, error: { code, message } });
}

/**
 * Decodes a reply as the client received it. Throws `BadMessageError` (from the codec)
 * when it is not one frame holding a version-1 reply map.
 *
 * @example
 * ```ts
 * const reply = decodeReply(await client.request([encodeRequest("ping")]));
 * if (!reply.ok) console.error(reply.error.code);
 * ```
 */
export function decodeReply(frames: Uint8Array[]): Reply {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected a 1-frame reply, got ${frames.length} frames`);
  }
  const r = decode(frames[0], ReplySchema);
  if (r.v !== PROTOCOL_VERSION) {
    throw new BadMessageError(`expected reply version ${PROTOCOL_VERSION}, got ${r.v}`);
  }
  if (r.ok) return { v: r.v, ok: true, data: r.data ?? null };
  if (!r.error) throw new BadMessageError("expected error {code, message} in a failure reply");
  return { v: r.v, ok: false, error: r.error };
}
