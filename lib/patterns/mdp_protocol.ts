/**
 * 7/MDP (Majordomo Protocol 0.1) and 8/MMI constants and frame codecs, shared by the
 * Majordomo broker (Lab 12), its workers and clients, and the labs built on it (Titanic).
 *
 * Frames as a ROUTER sees them (the routing id first) and as a DEALER sends them:
 *
 * ```
 * client  → broker  ['', "MDPC01", service, body...]          (REQ adds the '' itself)
 * broker  → client  ['', "MDPC01", service, body...]
 * worker  → broker  ['', "MDPW01", 0x01, service]              READY
 * broker  → worker  ['', "MDPW01", 0x02, client, '', body...]  REQUEST
 * worker  → broker  ['', "MDPW01", 0x03, client, '', body...]  REPLY
 * either            ['', "MDPW01", 0x04]                       HEARTBEAT
 * either            ['', "MDPW01", 0x05]                       DISCONNECT
 * ```
 *
 * Decoders throw `BadMessageError` with a reason that says expected vs got.
 *
 * @module
 */

import { BadMessageError } from "../codec/schema.ts";
import type { Frames } from "./port.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Client protocol header, MDP/Client v0.1.
 *
 * @example
 * ```ts
 * import { MDPC01 } from "@lib/patterns/mod.ts";
 * new TextDecoder().decode(MDPC01); // "MDPC01"
 * ```
 */
export const MDPC01: Uint8Array = encoder.encode("MDPC01");
/**
 * Worker protocol header, MDP/Worker v0.1.
 *
 * @example
 * ```ts
 * import { MDPW01 } from "@lib/patterns/mod.ts";
 * new TextDecoder().decode(MDPW01); // "MDPW01"
 * ```
 */
export const MDPW01: Uint8Array = encoder.encode("MDPW01");

/**
 * Worker command bytes.
 *
 * @example
 * ```ts
 * import { MdpCommand } from "@lib/patterns/mod.ts";
 * MdpCommand.HEARTBEAT; // 0x04
 * ```
 */
export const MdpCommand = {
  READY: 0x01,
  REQUEST: 0x02,
  REPLY: 0x03,
  HEARTBEAT: 0x04,
  DISCONNECT: 0x05,
} as const;

/** One of the five worker command names. */
export type MdpCommandName = keyof typeof MdpCommand;

/**
 * 7/MDP defaults: heartbeat interval (ms) and silent intervals before a peer is dead.
 *
 * @example
 * ```ts
 * import { MDP_HEARTBEAT_INTERVAL_MS } from "@lib/patterns/mod.ts";
 * console.log(MDP_HEARTBEAT_INTERVAL_MS); // 2500
 * ```
 */
export const MDP_HEARTBEAT_INTERVAL_MS = 2500;
/**
 * Silent heartbeat intervals before a peer is considered disconnected.
 *
 * @example
 * ```ts
 * import { MDP_HEARTBEAT_LIVENESS } from "@lib/patterns/mod.ts";
 * console.log(MDP_HEARTBEAT_LIVENESS); // 3
 * ```
 */
export const MDP_HEARTBEAT_LIVENESS = 3;
/**
 * Longest service name this implementation accepts (bytes).
 *
 * @example
 * ```ts
 * import { MDP_MAX_SERVICE_BYTES } from "@lib/patterns/mod.ts";
 * console.log(MDP_MAX_SERVICE_BYTES); // 255
 * ```
 */
export const MDP_MAX_SERVICE_BYTES = 255;

/**
 * 8/MMI: the namespace the broker answers itself.
 *
 * @example
 * ```ts
 * import { MMI_PREFIX } from "@lib/patterns/mod.ts";
 * "mmi.service".startsWith(MMI_PREFIX); // true
 * ```
 */
export const MMI_PREFIX = "mmi.";
/**
 * 8/MMI status codes.
 *
 * @example
 * ```ts
 * import { MmiStatus } from "@lib/patterns/mod.ts";
 * console.log(MmiStatus.NOT_FOUND); // "404"
 * ```
 */
export const MmiStatus = { FOUND: "200", NOT_FOUND: "404", NOT_IMPLEMENTED: "501" } as const;

/**
 * The first body frame of an error reply made by the broker itself (not by a worker):
 * `[..., service, "mdp.error", code, text]`. Codes: `503` (the service's queue is full, or
 * the broker is stopping), `504` (no worker took the request before its deadline).
 *
 * @example
 * ```ts
 * import { MDP_ERROR } from "@lib/patterns/mod.ts";
 * console.log(MDP_ERROR); // "mdp.error"
 * ```
 */
export const MDP_ERROR = "mdp.error";

const COMMAND_NAMES: Record<number, MdpCommandName> = Object.fromEntries(
  Object.entries(MdpCommand).map(([name, byte]) => [byte, name as MdpCommandName]),
);

/** A decoded client message (after the routing id and delimiter). */
export interface MdpClientMessage {
  service: string;
  body: Frames;
}

/** A decoded worker message. */
export type MdpWorkerMessage =
  | { command: "READY"; service: string }
  | { command: "REQUEST" | "REPLY"; client: Uint8Array; body: Frames }
  | { command: "HEARTBEAT" | "DISCONNECT" };

/**
 * True when both byte arrays hold the same bytes.
 *
 * @example
 * ```ts
 * import { sameBytes } from "@lib/patterns/mod.ts";
 * sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)); // true
 * ```
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A frame as text for log lines (printable, cut at 32 characters).
 *
 * @example
 * ```ts
 * import { frameText } from "@lib/patterns/mod.ts";
 * frameText(new TextEncoder().encode("a\nb")); // "a?b"
 * ```
 */
export function frameText(frame: Uint8Array): string {
  const text = decoder.decode(frame.subarray(0, 32));
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, "?") + (frame.length > 32 ? "..." : "");
}

const bytes = (value: string | Uint8Array): Uint8Array =>
  typeof value === "string" ? encoder.encode(value) : value;

/**
 * Checks a service name: 1 to 255 bytes of printable UTF-8 text (no control characters).
 * Returns the name as a string; throws `BadMessageError`.
 *
 * @example
 * ```ts
 * import { decodeServiceName } from "@lib/patterns/mod.ts";
 * decodeServiceName(new TextEncoder().encode("echo")); // "echo"
 * ```
 */
export function decodeServiceName(frame: Uint8Array): string {
  if (frame.length === 0 || frame.length > MDP_MAX_SERVICE_BYTES) {
    throw new BadMessageError(
      `service name: expected 1..${MDP_MAX_SERVICE_BYTES} bytes, got ${frame.length}`,
    );
  }
  let name: string;
  try {
    name = new TextDecoder("utf-8", { fatal: true }).decode(frame);
  } catch {
    throw new BadMessageError("service name: expected UTF-8 text, got invalid bytes");
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) {
    throw new BadMessageError(`service name: expected printable text, got "${frameText(frame)}"`);
  }
  return name;
}

/**
 * A client REQUEST as a DEALER sends it: `['', "MDPC01", service, body...]`.
 *
 * @example
 * ```ts
 * import { encodeClientRequest } from "@lib/patterns/mod.ts";
 * encodeClientRequest("echo", ["hello"]); // ["", "MDPC01", "echo", "hello"] as bytes
 * ```
 */
export function encodeClientRequest(service: string, body: (string | Uint8Array)[]): Frames {
  return [new Uint8Array(0), MDPC01, encoder.encode(service), ...body.map(bytes)];
}

/**
 * A broker REPLY to a client, with the routing id: `[client, '', "MDPC01", service, body...]`.
 *
 * @example
 * ```ts
 * import { encodeClientReply } from "@lib/patterns/mod.ts";
 * encodeClientReply(Uint8Array.of(0, 1), "echo", ["hello"]); // [id, "", "MDPC01", "echo", "hello"]
 * ```
 */
export function encodeClientReply(
  client: Uint8Array,
  service: string | Uint8Array,
  body: (string | Uint8Array)[],
): Frames {
  return [client, new Uint8Array(0), MDPC01, bytes(service), ...body.map(bytes)];
}

/**
 * Decodes a client message after the delimiter: `["MDPC01", service, body...]` with at
 * least one body frame. The header must already have been checked by the caller or is
 * checked here.
 *
 * @example
 * ```ts
 * import { decodeClientMessage, encodeClientRequest } from "@lib/patterns/mod.ts";
 * decodeClientMessage(encodeClientRequest("echo", ["hi"]).slice(1)).service; // "echo"
 * ```
 */
export function decodeClientMessage(frames: Frames): MdpClientMessage {
  if (frames.length < 3) {
    throw new BadMessageError(
      `client message: expected "MDPC01", service and 1+ body frames, got ${frames.length} frame(s)`,
    );
  }
  if (!sameBytes(frames[0], MDPC01)) {
    throw new BadMessageError(
      `client message: expected header "MDPC01", got "${frameText(frames[0])}"`,
    );
  }
  return { service: decodeServiceName(frames[1]), body: frames.slice(2) };
}

/**
 * Decodes a REPLY as a client receives it: from a REQ socket `["MDPC01", service, body...]`,
 * from a DEALER the same after a leading empty frame (`delimited: true`).
 *
 * @example
 * ```ts
 * import { decodeClientReply, encodeClientRequest } from "@lib/patterns/mod.ts";
 * decodeClientReply(encodeClientRequest("echo", ["hi"]), true).body.length; // 1
 * ```
 */
export function decodeClientReply(frames: Frames, delimited = false): MdpClientMessage {
  if (delimited) {
    if (frames.length === 0 || frames[0].length !== 0) {
      throw new BadMessageError("client reply: expected an empty delimiter frame first");
    }
    frames = frames.slice(1);
  }
  return decodeClientMessage(frames);
}

/**
 * A worker command as a DEALER sends it (and, after the routing id, as the broker sends
 * it): `['', "MDPW01", command, ...]`.
 *
 * @example
 * ```ts
 * import { encodeWorker } from "@lib/patterns/mod.ts";
 * encodeWorker({ command: "READY", service: "echo" }); // ["", "MDPW01", 0x01, "echo"]
 * ```
 */
export function encodeWorker(message: MdpWorkerMessage): Frames {
  const head = [new Uint8Array(0), MDPW01, Uint8Array.of(MdpCommand[message.command])];
  switch (message.command) {
    case "READY":
      return [...head, encoder.encode(message.service)];
    case "REQUEST":
    case "REPLY":
      return [...head, message.client, new Uint8Array(0), ...message.body];
    default:
      return head;
  }
}

/**
 * Decodes a worker command after the delimiter: `["MDPW01", command, ...]`, each command
 * with exactly its frames (READY: one service; REQUEST/REPLY: client, '', 1+ body;
 * HEARTBEAT/DISCONNECT: none).
 *
 * @example
 * ```ts
 * import { decodeWorkerMessage, encodeWorker } from "@lib/patterns/mod.ts";
 * decodeWorkerMessage(encodeWorker({ command: "HEARTBEAT" }).slice(1)); // { command: "HEARTBEAT" }
 * ```
 */
export function decodeWorkerMessage(frames: Frames): MdpWorkerMessage {
  if (frames.length < 2) {
    throw new BadMessageError(
      `worker message: expected "MDPW01" and a command, got ${frames.length} frame(s)`,
    );
  }
  if (!sameBytes(frames[0], MDPW01)) {
    throw new BadMessageError(
      `worker message: expected header "MDPW01", got "${frameText(frames[0])}"`,
    );
  }
  const code = frames[1];
  const command = code.length === 1 ? COMMAND_NAMES[code[0]] : undefined;
  if (!command) {
    throw new BadMessageError(
      `worker message: expected a command byte 0x01..0x05, got ${code.length} byte(s) ${
        [...code.subarray(0, 4)].map((b) => "0x" + b.toString(16).padStart(2, "0")).join(" ")
      }`,
    );
  }
  const rest = frames.slice(2);
  switch (command) {
    case "READY":
      if (rest.length !== 1) {
        throw new BadMessageError(`READY: expected 1 service frame, got ${rest.length}`);
      }
      return { command, service: decodeServiceName(rest[0]) };
    case "REQUEST":
    case "REPLY":
      if (rest.length < 3 || rest[1].length !== 0 || rest[0].length === 0) {
        throw new BadMessageError(
          `${command}: expected client address, empty delimiter and 1+ body frames, got ${rest.length} frame(s)`,
        );
      }
      return { command, client: rest[0], body: rest.slice(2) };
    default:
      if (rest.length !== 0) {
        throw new BadMessageError(
          `${command}: expected no frames after the command, got ${rest.length}`,
        );
      }
      return { command };
  }
}

/** Which sub-protocol a message after the routing id belongs to. */
export type MdpPeerKind = "client" | "worker";

/**
 * Splits a message as a ROUTER receives it (`[routing id, '', header, ...]`) into the
 * sender, the sub-protocol (by header) and the frames from the header on.
 *
 * @example
 * ```ts
 * import { encodeWorker, splitRouterMessage } from "@lib/patterns/mod.ts";
 * splitRouterMessage([Uint8Array.of(7), ...encodeWorker({ command: "HEARTBEAT" })]).kind; // "worker"
 * ```
 */
export function splitRouterMessage(
  frames: Frames,
): { sender: Uint8Array; kind: MdpPeerKind; rest: Frames } {
  if (frames.length < 3) {
    throw new BadMessageError(
      `expected routing id, empty delimiter and an MDP header, got ${frames.length} frame(s)`,
    );
  }
  if (frames[1].length !== 0) {
    throw new BadMessageError(`expected an empty delimiter frame, got ${frames[1].length} bytes`);
  }
  const header = frames[2];
  const kind = sameBytes(header, MDPC01)
    ? "client"
    : sameBytes(header, MDPW01)
    ? "worker"
    : undefined;
  if (!kind) {
    throw new BadMessageError(`expected header "MDPC01" or "MDPW01", got "${frameText(header)}"`);
  }
  return { sender: frames[0], kind, rest: frames.slice(2) };
}

/**
 * The broker's own error reply body (see {@link MDP_ERROR}), or null when `body` is an
 * ordinary reply.
 *
 * @example
 * ```ts
 * import { errorReplyBody, parseErrorReply } from "@lib/patterns/mod.ts";
 * parseErrorReply(errorReplyBody("503", "full")); // { code: "503", text: "full" }
 * ```
 */
export function parseErrorReply(body: Frames): { code: string; text: string } | null {
  if (body.length !== 3 || decoder.decode(body[0]) !== MDP_ERROR) return null;
  return { code: decoder.decode(body[1]), text: decoder.decode(body[2]) };
}

/**
 * The body of a broker error reply: `["mdp.error", code, text]`.
 *
 * @example
 * ```ts
 * import { errorReplyBody } from "@lib/patterns/mod.ts";
 * errorReplyBody("504", "no worker"); // ["mdp.error", "504", "no worker"] as bytes
 * ```
 */
export function errorReplyBody(code: "503" | "504", text: string): Frames {
  return [encoder.encode(MDP_ERROR), encoder.encode(code), encoder.encode(text)];
}
