/**
 * The secure_server's client allow-list (Ironhouse): the public keys of a directory of
 * zcert certificates. `apply` swaps in a freshly loaded directory and says which keys
 * came and went (a removed key is revoked: its live connection is closed by the role);
 * `decide` is the ZAP (RFC 27) decision: 200 with `User-Id` = the client's public key for
 * a listed CURVE key, 400 for anything else (another key, NULL, PLAIN).
 *
 * @module
 */
import type { ZapDecision, ZapRequest } from "@lib/zmq/mod.ts";

/** What a reload changed. */
export interface TrustChange {
  added: string[];
  removed: string[];
}

/**
 * The allow-list.
 *
 * @example
 * ```ts
 * import { TrustList } from "./trust.ts";
 * const trust = new TrustList();
 * const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
 * trust.apply(new Map([[key, "client1"]])); // { added: [key], removed: [] }
 * trust.decide({ mechanism: "CURVE", publicKey: key }).status; // 200
 * ```
 */
export class TrustList {
  #keys = new Map<string, string>();

  /** Replaces the list; returns what changed. */
  apply(loaded: ReadonlyMap<string, string>): TrustChange {
    const added = [...loaded.keys()].filter((key) => !this.#keys.has(key));
    const removed = [...this.#keys.keys()].filter((key) => !loaded.has(key));
    this.#keys = new Map(loaded);
    return { added, removed };
  }

  /** The certificate name of a listed key. */
  name(key: string): string | undefined {
    return this.#keys.get(key);
  }

  /** Whether `key` is listed. */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** How many keys are listed. */
  get size(): number {
    return this.#keys.size;
  }

  /** Every listed key. */
  keys(): string[] {
    return [...this.#keys.keys()];
  }

  /** The ZAP decision for one handshake. */
  decide(request: Pick<ZapRequest, "mechanism" | "publicKey">): ZapDecision {
    if (request.mechanism !== "CURVE" || request.publicKey === undefined) {
      return { status: 400, text: `expected CURVE, got ${request.mechanism}` };
    }
    if (!this.#keys.has(request.publicKey)) {
      return { status: 400, text: "client key not in the allow-list" };
    }
    return { status: 200, userId: request.publicKey };
  }
}
