/**
 * Option parser for CURVE keys given in Z85 (ZeroMQ RFC 32): 40 characters for 32 bytes.
 *
 * @module
 */

import { InvalidArgumentError } from "@lib/role/mod.ts";

/** The Z85 alphabet (RFC 32). */
const Z85_KEY_RE = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Checks a Z85-encoded 32-byte CURVE key; a bad one throws commander's
 * `InvalidArgumentError` (the role prints one line and exits 2).
 *
 * @example
 * ```ts
 * cmd.option("--server-key <z85>", "agent's CURVE public key", z85Key);
 * ```
 */
export function z85Key(value: string): string {
  const text = value.trim();
  if (!Z85_KEY_RE.test(text)) {
    throw new InvalidArgumentError(
      `expected a 40-character Z85 CURVE key, got ${
        text.length === 40 ? "characters outside the Z85 alphabet" : `${text.length} characters`
      }`,
    );
  }
  return text;
}
