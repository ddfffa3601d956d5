/**
 * Makes sure the npm dependencies are installed before the tooling starts roles or tests.
 * Nothing imports `npm:zeromq` (lib/zmq only loads the libzmq inside it), so on a fresh
 * clone `deno run` would never fetch it: run `deno install` once when it is missing.
 *
 * @module
 */

import { REPO_ROOT } from "./manifest.ts";

/** The file whose presence shows that npm:zeromq (and its libzmq) is installed. */
export const ZEROMQ_MARKER = "node_modules/zeromq/build/manifest.json";

/**
 * Runs `deno install` in `root` when it has a deno.json but no `node_modules/zeromq` (and
 * `LIBZMQ_PATH` is not set); returns whether it ran. Throws when `deno install` fails.
 *
 * @example
 * ```ts
 * import { ensureDeps } from "@lib/tooling/deps.ts";
 *
 * await ensureDeps(); // false when already installed
 * ```
 */
export async function ensureDeps(
  root: string = REPO_ROOT,
  say: (line: string) => void = (line) => console.error(line),
): Promise<boolean> {
  if (Deno.env.get("LIBZMQ_PATH")) return false;
  try {
    await Deno.stat(`${root}/deno.json`);
  } catch {
    return false; // not a checkout (e.g. a test fixture)
  }
  try {
    await Deno.stat(`${root}/${ZEROMQ_MARKER}`);
    return false;
  } catch {
    // not installed yet
  }
  say("installing npm dependencies (deno install) ...");
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["install"],
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) {
    throw new Error(
      `deno install failed (exit ${result.code}): expected ${ZEROMQ_MARKER} to exist`,
    );
  }
  return true;
}
