/**
 * The node_agent's optional client allow-list: a ZAP (ZeroMQ RFC 27) decision that lets
 * in only CURVE clients whose public key was listed with `--allow-key`.
 *
 * @module
 */

import type { ZapDecision, ZapRequest } from "@lib/zmq/mod.ts";

/** ZAP domain the agent's REP socket uses when an allow-list is set. */
export const ZAP_DOMAIN = "node_agent";

/**
 * Builds the ZAP authorizer for a fixed set of client public keys (Z85). Anything else,
 * including a non-CURVE mechanism, is denied with status 400.
 *
 * @example
 * ```ts
 * const zap = new ZapHandler(allowListAuthorizer([clientPublicKey]));
 * await zap.start();
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
