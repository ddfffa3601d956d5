/**
 * Option parsers of Lab 22's roles.
 *
 * @module
 */
import { endpoint, InvalidArgumentError } from "@lib/role/mod.ts";
export { type ListenAddress, listenAddress } from "@lib/role/mod.ts";

/**
 * A ZeroMQ endpoint, or `off` (returned as "") for an optional socket.
 *
 * @example
 * ```ts
 * import { endpointOrOff } from "./options.ts";
 * endpointOrOff("off"); // ""
 * endpointOrOff("tcp://127.0.0.1:5622"); // "tcp://127.0.0.1:5622"
 * ```
 */
export function endpointOrOff(value: string): string {
  return value === "off" ? "" : endpoint(value);
}

/**
 * An http(s) URL.
 *
 * @example
 * ```ts
 * import { httpUrl } from "./options.ts";
 * httpUrl("http://127.0.0.1:9464/metrics");
 * ```
 */
export function httpUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === "http:" || u.protocol === "https:") return u.href;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`expected an http:// URL, got "${value}"`);
}
