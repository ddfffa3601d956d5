/**
 * The checks of a WebSocket upgrade (before `Deno.upgradeWebSocket`): the `Origin` header
 * against an allow-list (browsers always send it, RFC 6455 §4.1 item 8 and §10.2) and the
 * token of the `?token=` query parameter, compared in constant time. Also the
 * `--listen <host:port>` option parser.
 *
 * @module
 */

import { InvalidArgumentError } from "@lib/role/mod.ts";

/**
 * True when `origin` is exactly one of `allowed` (a missing Origin is refused: every
 * browser sends one, and a script may send any it likes, so it is no authentication, only
 * the guard against other web pages).
 *
 * @example
 * ```ts
 * import { checkOrigin } from "./upgrade.ts";
 * checkOrigin("http://127.0.0.1:5516", new Set(["http://127.0.0.1:5516"])); // true
 * checkOrigin("https://evil.example", new Set(["http://127.0.0.1:5516"])); // false
 * ```
 */
export function checkOrigin(origin: string | null, allowed: ReadonlySet<string>): boolean {
  return origin !== null && allowed.has(origin);
}

const encoder = new TextEncoder();

/**
 * Compares a presented token with the expected one without an early exit on the first
 * differing byte (only the length may show).
 *
 * @example
 * ```ts
 * import { tokenMatches } from "./upgrade.ts";
 * tokenMatches("s3cret-token", "s3cret-token"); // true
 * tokenMatches(null, "s3cret-token"); // false
 * ```
 */
export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = encoder.encode(presented);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

/**
 * Parses `--listen host:port` (`[v6]:port` too; port 0 = any free port).
 *
 * @example
 * ```ts
 * import { listenAddress } from "./upgrade.ts";
 * listenAddress("127.0.0.1:5516"); // { hostname: "127.0.0.1", port: 5516 }
 * ```
 */
export function listenAddress(value: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidArgumentError(
      `expected host:port like 127.0.0.1:5516, got ${JSON.stringify(value)}`,
    );
  }
  return { hostname: m[1] ?? m[2], port };
}
