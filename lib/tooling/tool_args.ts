/**
 * Command lines of the tooling scripts (`run_lab`, `test_all`, `build`, `bench`): one place
 * that prints the usage for `--help`/`-h` and turns any parse or validation error into one
 * line plus the usage on stderr, exit 2. Parsing itself is `node:util`'s `parseArgs`.
 *
 * @module
 */

/**
 * Runs `parse` (which reads `Deno.args` and throws on bad ones). `--help` or `-h` prints
 * `usage` and exits 0; an error prints `<tool>: error: <message>` and `usage`, exit 2.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * const { values } = parseToolArgs("bench", "usage: deno task bench [NN ...]", () =>
 *   parseArgs({ args: Deno.args, allowPositionals: true, options: { root: { type: "string" } } }));
 * ```
 */
export function parseToolArgs<T>(
  tool: string,
  usage: string,
  parse: () => T,
): T {
  const dashDash = Deno.args.indexOf("--");
  const flags = dashDash < 0 ? Deno.args : Deno.args.slice(0, dashDash);
  if (flags.includes("--help") || flags.includes("-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    return parse();
  } catch (error) {
    // parseArgs appends a hint about `--` to unknown options; one sentence is enough here.
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    console.error(`${tool}: error: ${message}\n${usage}`);
    Deno.exit(2);
  }
}
