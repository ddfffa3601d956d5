/**
 * Command lines of the tooling scripts (`run_lab`, `test_all`, `build`, `bench`, `new`): one
 * place that prints the usage for `--help`/`-h` and turns any parse or validation error into
 * one line plus the usage on stderr, exit 2. Parsing itself is `node:util`'s `parseArgs`.
 *
 * @module
 */

/**
 * The script's arguments without the first `--`: `deno task lab01 -- --duration 3s` passes
 * `["01", "--", "--duration", "3s"]`, which means the same as without the `--` (no tool
 * takes arguments that start with `-` as positionals).
 *
 * @example
 * ```ts
 * import { toolArgs } from "@lib/tooling/tool_args.ts";
 *
 * toolArgs(["01", "--", "--duration", "3s"]); // ["01", "--duration", "3s"]
 * ```
 */
export function toolArgs(args: readonly string[] = Deno.args): string[] {
  const out = [...args];
  const dashDash = out.indexOf("--");
  if (dashDash >= 0) out.splice(dashDash, 1);
  return out;
}

/**
 * Runs `parse` on the script's arguments (see {@link toolArgs}); `parse` throws on bad
 * ones. `--help` or `-h` prints `usage` and exits 0; an error prints
 * `<tool>: error: <message>` and `usage`, exit 2.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { parseToolArgs } from "@lib/tooling/tool_args.ts";
 *
 * const { values } = parseToolArgs("bench", "usage: deno task bench [NN ...]", (args) =>
 *   parseArgs({ args, allowPositionals: true, options: { root: { type: "string" } } }));
 * console.log(values.root);
 * ```
 */
export function parseToolArgs<T>(
  tool: string,
  usage: string,
  parse: (args: string[]) => T,
): T {
  const args = toolArgs();
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    return parse(args);
  } catch (error) {
    // parseArgs appends a hint about `--` to unknown options; one sentence is enough here.
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    console.error(`${tool}: error: ${message}\n${usage}`);
    Deno.exit(2);
  }
}
