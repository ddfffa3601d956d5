/**
 * Option parsers shared by the lab's roles (commander parse functions that throw
 * `InvalidArgumentError` with "expected X, got Y").
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { ALERT_LEVELS, type AlertLevel, NODE_PATTERN, RACK_PATTERN } from "./protocol.ts";

/** A commander parse function. */
export type Parse<T> = (value: string) => T;

function check(pattern: RegExp, what: string): Parse<string> {
  return (value) => {
    if (!pattern.test(value)) {
      throw new InvalidArgumentError(
        `expected a ${what} matching ${pattern}, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
}

/**
 * A rack name (letters, digits, `_`, `-`; no dots, so prefixes stay exact).
 *
 * @example
 * ```ts
 * rackName("A"); // "A"
 * ```
 */
export const rackName: Parse<string> = check(RACK_PATTERN, "rack name");

/**
 * A node name (letters, digits, `_`, `-`, `.`).
 *
 * @example
 * ```ts
 * nodeName("web-01.example"); // "web-01.example"
 * ```
 */
export const nodeName: Parse<string> = check(NODE_PATTERN, "node name");

/**
 * An alert level: `warning` or `critical`.
 *
 * @example
 * ```ts
 * alertLevel("critical"); // "critical"
 * ```
 */
export const alertLevel: Parse<AlertLevel> = (value) => {
  if (!(ALERT_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `expected one of ${ALERT_LEVELS.join("|")}, got ${JSON.stringify(value)}`,
    );
  }
  return value as AlertLevel;
};

/**
 * A default node name from a host name: characters outside the node pattern become `-`.
 *
 * @example
 * ```ts
 * safeNodeName("my host"); // "my-host"
 * ```
 */
export function safeNodeName(hostname: string): string {
  const name = hostname.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 128);
  return name === "" ? "localhost" : name;
}
