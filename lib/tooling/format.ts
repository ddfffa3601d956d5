/**
 * Formats generated text exactly as `deno fmt` would in this repository, by running
 * `deno fmt` once over temporary copies with the root config's fmt options.
 *
 * @module
 */

/** The subset of the `fmt` config section that changes the output. */
export interface FmtOptions {
  lineWidth?: number;
  indentWidth?: number;
  useTabs?: boolean;
  singleQuote?: boolean;
  proseWrap?: "always" | "never" | "preserve";
  semiColons?: boolean;
}

/** Reads the `fmt` options of a deno.json text. */
export function fmtOptionsOf(denoJsonText: string): FmtOptions {
  const config = JSON.parse(denoJsonText) as { fmt?: FmtOptions & { options?: FmtOptions } };
  return { ...config.fmt?.options, ...config.fmt };
}

function fmtFlags(options: FmtOptions): string[] {
  const flags = ["--no-config"];
  if (options.lineWidth) flags.push(`--line-width=${options.lineWidth}`);
  if (options.indentWidth) flags.push(`--indent-width=${options.indentWidth}`);
  if (options.useTabs) flags.push("--use-tabs");
  if (options.singleQuote) flags.push("--single-quote");
  if (options.proseWrap) flags.push(`--prose-wrap=${options.proseWrap}`);
  if (options.semiColons === false) flags.push("--no-semicolons");
  return flags;
}

const FORMATTED = /\.(json|jsonc|md|ts|js)$/;

/**
 * Returns `files` (path → text) with every json/md/ts file formatted by `deno fmt`;
 * other files are returned unchanged.
 *
 * @example
 * ```ts
 * import { formatFiles } from "@lib/tooling/format.ts";
 *
 * const out = await formatFiles(new Map([["a.json", '{"a":1}']]), { lineWidth: 100 });
 * ```
 */
export async function formatFiles(
  files: Map<string, string>,
  options: FmtOptions,
): Promise<Map<string, string>> {
  const out = new Map(files);
  const names = [...files.keys()].filter((p) => FORMATTED.test(p));
  if (names.length === 0) return out;
  const dir = await Deno.makeTempDir({ prefix: "zmq-labs-fmt-" });
  try {
    const temp = new Map<string, string>();
    names.forEach((name, i) => {
      const ext = name.slice(name.lastIndexOf("."));
      temp.set(name, `${dir}/f${i}${ext}`);
    });
    for (const [name, path] of temp) await Deno.writeTextFile(path, files.get(name)!);
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", ...fmtFlags(options), ...temp.values()],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!result.success) {
      throw new Error(
        `deno fmt failed on generated files: ${new TextDecoder().decode(result.stderr).trim()}`,
      );
    }
    for (const [name, path] of temp) out.set(name, await Deno.readTextFile(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}
