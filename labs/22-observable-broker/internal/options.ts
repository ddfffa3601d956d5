/**
 * Option parsers of Lab 22's roles.
 *
 * @module
 */
import { endpoint, InvalidArgumentError } from "@lib/role/mod.ts";

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

/** A listen address `host:port` (port 0 = any), or `off`. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `host:port` (IPv4 or a name; port 0..65535) or `off` (null).
 *
 * @example
 * ```ts
 * import { listenAddress } from "./options.ts";
 * listenAddress("127.0.0.1:9464"); // { hostname: "127.0.0.1", port: 9464 }
 * listenAddress("off"); // null
 * ```
 */
export function listenAddress(value: string): ListenAddress | null {
  if (value === "off") return null;
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidArgumentError(`expected host:port (port 0..65535) or off, got "${value}"`);
  }
  return { hostname: m[1], port };
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
