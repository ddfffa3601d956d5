/**
 * Asks a ZMTP 3 server which security mechanism it speaks (NULL, PLAIN, CURVE) by reading
 * its greeting over a raw STREAM connection. When a handshake fails, both sides close at
 * once, so the client often sees only "connection closed" (EPIPE) where the cause is a
 * mechanism mismatch; the server's greeting names its mechanism whatever the race.
 *
 * @module
 */

import { deadline } from "@lib/async/mod.ts";
import { Stream } from "@lib/zmq/mod.ts";

/** ZMTP 3 greeting (RFC 23): signature 10, version 2, mechanism 20, as-server 1, filler 31. */
const GREETING_BYTES = 64;
const MECHANISM_AT = 12;
const MECHANISM_BYTES = 20;

/** Our side of the greeting: the signature and major version 3 (the server then sends the rest). */
const HELLO = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3]);

/**
 * The mechanism named in a ZMTP 3 greeting, or undefined when `bytes` is not one (too
 * short, no signature, version below 3).
 *
 * @example
 * ```ts
 * import { greetingMechanism } from "./mechanism_probe.ts";
 * const greeting = new Uint8Array(64);
 * greeting.set([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0]);
 * greeting.set(new TextEncoder().encode("CURVE"), 12);
 * greetingMechanism(greeting); // "CURVE"
 * ```
 */
export function greetingMechanism(bytes: Uint8Array): string | undefined {
  if (bytes.length < GREETING_BYTES || bytes[0] !== 0xff || bytes[9] !== 0x7f) return undefined;
  if (bytes[10] < 3) return undefined;
  const field = bytes.subarray(MECHANISM_AT, MECHANISM_AT + MECHANISM_BYTES);
  const end = field.indexOf(0);
  const name = new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
  return /^[A-Z0-9_-]{1,20}$/.test(name) ? name : undefined;
}

/**
 * Connects to `endpoint` with a raw STREAM socket, reads the server's greeting and returns
 * its mechanism; undefined when nothing readable came within `timeoutMs`.
 *
 * @example
 * ```ts
 * import { probeMechanism } from "./mechanism_probe.ts";
 * const mechanism = await probeMechanism("tcp://127.0.0.1:5531", 2000); // "NULL", "CURVE", ...
 * ```
 */
export async function probeMechanism(
  endpoint: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const stream = new Stream({ linger: 0 });
  try {
    stream.connect(endpoint);
    const read = async (): Promise<string | undefined> => {
      let received = new Uint8Array(0);
      let greeted = false;
      for (;;) {
        const [id, data] = await stream.receive();
        if (!greeted) {
          // The first message on a STREAM connect is the empty "connected" notification.
          greeted = true;
          await stream.send([id, HELLO]);
          if (!data || data.length === 0) continue;
        }
        if (!data || data.length === 0) return undefined; // the server hung up
        const next = new Uint8Array(received.length + data.length);
        next.set(received);
        next.set(data, received.length);
        received = next;
        if (received.length >= GREETING_BYTES) return greetingMechanism(received);
      }
    };
    return await deadline(read(), timeoutMs, { what: `the greeting of ${endpoint}` });
  } catch {
    return undefined;
  } finally {
    stream.close({ linger: 0 });
  }
}
