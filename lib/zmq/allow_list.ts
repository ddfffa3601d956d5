/**
 * A ZAP (RFC 27) decision for Ironhouse-style servers: only CURVE clients whose public key
 * is in a set get in; every other key and every other mechanism is refused with 400.
 *
 * @module
 */

import type { ZapDecision, ZapRequest } from "./zap.ts";

/**
 * Builds the ZAP authorizer for a fixed set of client public keys (Z85). Anything else,
 * including a non-CURVE mechanism, is denied with status 400.
 *
 * @example
 * ```ts
 * import { allowListAuthorizer, curveKeyPair } from "@lib/zmq/mod.ts";
 * const client = curveKeyPair();
 * const decide = allowListAuthorizer([client.publicKey]);
 * decide({ mechanism: "CURVE", publicKey: client.publicKey }); // { status: 200, userId: ... }
 * decide({ mechanism: "NULL" }); // { status: 400, text: "expected CURVE, got NULL" }
 * ```
 */
export function allowListAuthorizer(
  keys: Iterable<string>,
): (request: Pick<ZapRequest, "mechanism" | "publicKey">) => ZapDecision {
  const allowed = new Set(keys);
  return ({ mechanism, publicKey }) => {
    if (mechanism !== "CURVE" || publicKey === undefined) {
      return { status: 400, text: `expected CURVE, got ${mechanism}` };
    }
    if (!allowed.has(publicKey)) return { status: 400, text: "client key not allowed" };
    return { status: 200, userId: publicKey };
  };
}
