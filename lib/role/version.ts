/**
 * The project version, printed by every role's `--version` and logged in `started`.
 *
 * @module
 */

/**
 * The zmq-labs version (one constant for every role; bump it with a release).
 *
 * @example
 * ```ts
 * import { VERSION } from "@lib/role/mod.ts";
 * console.log(`monitor_agent ${VERSION}`);
 * ```
 */
export const VERSION = "0.6.0";
