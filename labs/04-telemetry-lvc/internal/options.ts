/**
 * Command-line option parsers shared by the lab's roles.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { MAX_TOPIC_BYTES } from "./protocol.ts";

/**
 * A topic prefix: any text up to the topic size limit ("" subscribes to everything).
 *
 * @example
 * ```ts
 * topicPrefix("plant-a/temperature/"); // "plant-a/temperature/"
 * ```
 */
export function topicPrefix(value: string): string {
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > MAX_TOPIC_BYTES) {
    throw new InvalidArgumentError(
      `expected a topic prefix of at most ${MAX_TOPIC_BYTES} bytes, got ${bytes} bytes`,
    );
  }
  return value;
}

/**
 * A topic name part for sources: letters, digits, `-`, `_`, `.` and `/`, 1..64 chars.
 *
 * @example
 * ```ts
 * sourcePrefix("plant-a"); // "plant-a"
 * ```
 */
export function sourcePrefix(value: string): string {
  if (!/^[A-Za-z0-9._\/-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError(
      `expected 1..64 characters of [A-Za-z0-9._/-], got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
