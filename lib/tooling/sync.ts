/**
 * `deno task sync [--check] [--root DIR]`: regenerates, from the lab manifests, the root
 * deno.json tasks (and workspace members), `.vscode/launch.json` and `.vscode/tasks.json`,
 * each lab's `run.ps1`/`build.ps1`, `lib/tooling/compile_plan.json` and the README lab
 * table. `--check` writes nothing, lists the drifted files and exits 1 when there are any.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { compilePlan } from "./compile_plan.ts";
import { fmtOptionsOf, formatFiles } from "./format.ts";
import { replaceTopLevelKey, stringifyJson } from "./json_text.ts";
import { loadAllManifests, REPO_ROOT } from "./manifest.ts";
import { labBuildPs1, labRunPs1, rootRunPs1 } from "./powershell.ts";
import { labTable, replaceLabTable } from "./readme_table.ts";
import { rootTasks } from "./root_tasks.ts";
import { parseToolArgs } from "./tool_args.ts";
import { launchJson, tasksJson } from "./vscode_config.ts";

/** Path of the compile plan, relative to the repository root. */
export const COMPILE_PLAN_PATH = "lib/tooling/compile_plan.json";

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Workspace members: the current ones plus every `labs/NN-*` folder that has a deno.json,
 * less `./labs/NN-*` members whose deno.json is gone (a removed lab).
 */
async function workspaceMembers(root: string, current: string[]): Promise<string[]> {
  const members = new Set<string>();
  for (const member of current) {
    const lab = /^\.\/labs\/(\d\d-[^/]+)\/?$/.exec(member);
    if (lab && await readText(`${root}/labs/${lab[1]}/deno.json`) === null) continue;
    members.add(member);
  }
  try {
    for await (const entry of Deno.readDir(`${root}/labs`)) {
      if (!entry.isDirectory || !/^\d\d-/.test(entry.name)) continue;
      if (await readText(`${root}/labs/${entry.name}/deno.json`) !== null) {
        const member = `./labs/${entry.name}`;
        if (!current.some((m) => m.replace(/\/$/, "") === member)) members.add(member);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return [...members].sort();
}

/**
 * Every generated file of the repository at `root`, as path (relative, `/`-separated) →
 * the exact text `deno task sync` writes (formatted as `deno fmt` would).
 *
 * @example
 * ```ts
 * import { generateFiles } from "@lib/tooling/sync.ts";
 *
 * const files = await generateFiles("/work/main");
 * files.get(".vscode/launch.json");
 * ```
 */
export async function generateFiles(root: string = REPO_ROOT): Promise<Map<string, string>> {
  const labs = await loadAllManifests(`${root}/labs`);
  const files = new Map<string, string>();

  const denoJsonText = await readText(`${root}/deno.json`);
  if (denoJsonText === null) throw new Error(`${root}/deno.json: expected a file, got none`);
  const config = JSON.parse(denoJsonText) as { workspace?: string[] };
  let denoJson = replaceTopLevelKey(
    denoJsonText,
    "tasks",
    stringifyJson(rootTasks(labs), 100, "  "),
  );
  const members = await workspaceMembers(root, config.workspace ?? []);
  if (JSON.stringify(members) !== JSON.stringify([...(config.workspace ?? [])].sort())) {
    denoJson = replaceTopLevelKey(denoJson, "workspace", stringifyJson(members, 0, "  "));
  }
  files.set("deno.json", denoJson);

  const note = (doc: unknown) => stringifyJson(doc) + "\n";
  files.set(".vscode/launch.json", note(launchJson(labs)));
  files.set(".vscode/tasks.json", note(tasksJson(labs)));
  for (const lab of labs) {
    files.set(`labs/${lab.folder}/run.ps1`, labRunPs1(lab));
    files.set(`labs/${lab.folder}/build.ps1`, labBuildPs1(lab));
  }
  files.set("run.ps1", rootRunPs1());
  files.set(COMPILE_PLAN_PATH, note(compilePlan(labs)));

  const readme = await readText(`${root}/README.md`);
  if (readme === null) throw new Error(`${root}/README.md: expected a file, got none`);
  files.set("README.md", replaceLabTable(readme, labTable(labs)));

  return await formatFiles(files, fmtOptionsOf(denoJsonText));
}

/**
 * Generates every file and either writes the changed ones or (with `check`) only reports
 * them. Returns the paths that differ(ed) from what is on disk.
 *
 * @example
 * ```ts
 * import { sync } from "@lib/tooling/sync.ts";
 *
 * const drifted = await sync("/work/main", { check: true }); // [] when up to date
 * ```
 */
export async function sync(
  root: string = REPO_ROOT,
  { check = false }: { check?: boolean } = {},
): Promise<string[]> {
  const files = await generateFiles(root);
  const changed: string[] = [];
  for (const [path, text] of files) {
    const current = await readText(`${root}/${path}`);
    if (current?.replaceAll("\r\n", "\n") === text) continue;
    changed.push(path);
    if (!check) {
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/") + 1) || "."}`, {
        recursive: true,
      });
      await Deno.writeTextFile(`${root}/${path}`, text);
    }
  }
  return changed;
}

const USAGE = "usage: deno task sync [--check] [--root DIR]";

if (import.meta.main) {
  const { check, root } = parseToolArgs("sync", USAGE, (args) => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        check: { type: "boolean", default: false },
        root: { type: "string", default: REPO_ROOT },
      },
    });
    if (positionals.length > 0) throw new Error(`expected no arguments, got ${positionals}`);
    return values;
  });
  try {
    const changed = await sync(root, { check });
    if (check) {
      if (changed.length > 0) {
        console.error(`sync: ${changed.length} generated file(s) drifted from the manifests:`);
        for (const path of changed) console.error(`  ${path}`);
        console.error("run `deno task sync` and commit the result");
        Deno.exit(1);
      }
      console.log("sync: generated files match the manifests");
    } else {
      for (const path of changed) console.log(`sync: wrote ${path}`);
      console.log(`sync: ${changed.length} file(s) updated`);
    }
  } catch (error) {
    console.error(`sync: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
