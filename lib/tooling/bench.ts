/**
 * `deno task bench [NN ...] [--list] [--root DIR]`: runs `lib/zmq/bench.ts` (when present and no lab is named)
 * and then each lab manifest's `bench` file, one after another (benchmarks must not compete
 * for the CPU), each as `deno run -A <file>` with its output passed through. Exits 1 if any
 * benchmark failed or a manifest names a file that does not exist; an unknown lab id is one
 * line, exit 2. `--list` prints what would run and exits.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LABS_DIR, loadAllManifests, REPO_ROOT } from "./manifest.ts";
import { ensureDeps } from "./deps.ts";
import { parseToolArgs } from "./tool_args.ts";

/** One benchmark to run. */
export interface BenchEntry {
  name: string;
  /** Path relative to the repository root. */
  file: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The benchmarks in run order: lib/zmq first (unless `labs` are given), then each lab's.
 * Throws naming the lab ids that have no manifest.
 *
 * @example
 * ```ts
 * import { benchEntries } from "@lib/tooling/bench.ts";
 *
 * await benchEntries(); // [{ name: "lib/zmq", file: "lib/zmq/bench.ts" }, { name: "lab02", ... }]
 * ```
 */
export async function benchEntries(
  labs: string[] = [],
  root: string = REPO_ROOT,
  labsDir: string = root === REPO_ROOT ? LABS_DIR : `${root}/labs`,
): Promise<BenchEntry[]> {
  const entries: BenchEntry[] = [];
  if (labs.length === 0 && await exists(`${root}/lib/zmq/bench.ts`)) {
    entries.push({ name: "lib/zmq", file: "lib/zmq/bench.ts" });
  }
  const wanted = labs.map((l) => l.replace(/^lab/, "").padStart(2, "0"));
  const all = await loadAllManifests(labsDir);
  const unknown = wanted.filter((id) => !all.some((lab) => lab.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `no lab ${unknown.map((id) => `"${id}"`).join(", ")}: expected one of ${
        all.map((lab) => lab.id).join(", ") || "(none)"
      }`,
    );
  }
  for (const lab of all) {
    if (wanted.length > 0 && !wanted.includes(lab.id)) continue;
    if (lab.bench) entries.push({ name: `lab${lab.id}`, file: `labs/${lab.folder}/${lab.bench}` });
  }
  return entries;
}

if (import.meta.main) {
  const { values, positionals: labs } = parseToolArgs(
    "bench",
    "usage: deno task bench [NN ...] [--list] [--root DIR]",
    (args) =>
      parseArgs({
        args,
        allowPositionals: true,
        options: {
          root: { type: "string", default: REPO_ROOT },
          list: { type: "boolean", default: false },
        },
      }),
  );
  const root = values.root;
  let entries: BenchEntry[];
  try {
    entries = await benchEntries(labs, root);
  } catch (error) {
    console.error(`bench: error: ${(error as Error).message}`);
    Deno.exit(2);
  }
  if (values.list) {
    for (const entry of entries) console.log(`${entry.name}: deno run -A ${entry.file}`);
    Deno.exit(0);
  }
  if (entries.length > 0) await ensureDeps(root);
  if (entries.length === 0) {
    console.log("bench: nothing to run");
    Deno.exit(0);
  }
  const results: string[] = [];
  let failed = 0;
  for (const entry of entries) {
    console.log(`\n=== bench ${entry.name}: deno run -A ${entry.file}`);
    if (!await exists(`${root}/${entry.file}`)) {
      failed++;
      results.push(`${entry.name}: MISSING (${entry.file} does not exist)`);
      console.error(`bench: ${entry.file}: expected a benchmark file, got none`);
      continue;
    }
    const started = performance.now();
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", entry.file],
      cwd: root,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    if (!status.success) failed++;
    results.push(
      `${entry.name}: ${status.success ? "ok" : `FAILED (code ${status.code})`} (${secs} s)`,
    );
  }
  console.log("\n=== bench summary");
  for (const line of results) console.log(line);
  Deno.exit(failed > 0 ? 1 : 0);
}
