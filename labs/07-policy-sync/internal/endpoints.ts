/**
 * The RFC's port layout: a CHP server is one address and port P, with its snapshot ROUTER
 * on P, its PUB on P+1 and its collector on P+2.
 *
 * @module
 */
import { InvalidArgumentError } from "@lib/role/mod.ts";

/** The three endpoints of one server. */
export interface ServerEndpoints {
  snapshot: string;
  updates: string;
  collector: string;
}

const TCP_RE = /^tcp:\/\/(.+):(\d+|\*)$/;

/**
 * Parses `tcp://host:P` (or `tcp://host:*` when `wildcard`) as a CHP server address; throws
 * a RangeError otherwise (P must leave room for P+2).
 *
 * @example
 * ```ts
 * import { chpAddress } from "./endpoints.ts";
 * chpAddress("tcp://127.0.0.1:5570"); // { host: "127.0.0.1", port: 5570 }
 * ```
 */
export function chpAddress(
  endpoint: string,
  wildcard = false,
): { host: string; port: number | "*" } {
  const m = TCP_RE.exec(endpoint);
  const port = m?.[2] === "*" ? "*" : Number(m?.[2]);
  if (!m || (port === "*" && !wildcard) || (port !== "*" && !(port >= 1 && port <= 65533))) {
    throw new RangeError(
      `expected tcp://host:P with P 1..65533${
        wildcard ? " or *" : ""
      } (the server uses P, P+1 and P+2), got ${JSON.stringify(endpoint)}`,
    );
  }
  return { host: m[1], port };
}

/**
 * The snapshot, updates and collector endpoints of the server at `tcp://host:P`.
 *
 * @example
 * ```ts
 * import { serverEndpoints } from "./endpoints.ts";
 * serverEndpoints("tcp://127.0.0.1:5570").collector; // "tcp://127.0.0.1:5572"
 * ```
 */
export function serverEndpoints(endpoint: string): ServerEndpoints {
  const { host, port } = chpAddress(endpoint);
  const p = port as number;
  return {
    snapshot: `tcp://${host}:${p}`,
    updates: `tcp://${host}:${p + 1}`,
    collector: `tcp://${host}:${p + 2}`,
  };
}

/**
 * A command-line parser for a CHP server address `tcp://host:P` (commander style: throws
 * `InvalidArgumentError` with the expected form).
 *
 * @example
 * ```ts
 * import { chpEndpoint } from "./endpoints.ts";
 * chpEndpoint("tcp://127.0.0.1:5570"); // "tcp://127.0.0.1:5570"
 * ```
 */
export function chpEndpoint(value: string): string {
  return parseWith(value, false);
}

/**
 * Like {@link chpEndpoint}, also accepting `tcp://host:*` (the server picks a free P with
 * P+1 and P+2 free too).
 *
 * @example
 * ```ts
 * import { chpBindEndpoint } from "./endpoints.ts";
 * chpBindEndpoint("tcp://127.0.0.1:*"); // "tcp://127.0.0.1:*"
 * ```
 */
export function chpBindEndpoint(value: string): string {
  return parseWith(value, true);
}

function parseWith(value: string, wildcard: boolean): string {
  try {
    chpAddress(value, wildcard);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}
