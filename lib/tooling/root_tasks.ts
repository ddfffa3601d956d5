/**
 * The root `deno.json` "tasks" section, generated from the lab manifests.
 *
 * @module
 */

import { type LabManifest, permissionFlags } from "./manifest.ts";

/** A deno.json task: a command with a description for `deno task` listings. */
export interface TaskDefinition {
  description: string;
  command: string;
}

const SAFE = /^[A-Za-z0-9_\-.,/:=@%+]+$/;

/**
 * Quotes one argument for the `deno task` shell when it needs it.
 *
 * @example
 * ```ts
 * import { shellQuote } from "@lib/tooling/root_tasks.ts";
 *
 * shellQuote("--allow-write=/tmp/x y"); // "'--allow-write=/tmp/x y'"
 * ```
 */
export function shellQuote(arg: string): string {
  return SAFE.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`;
}

/** The tasks that do not depend on the manifests. */
export const FIXED_TASKS: Record<string, TaskDefinition> = {
  sync: {
    description: "Regenerate tasks, .vscode, run.ps1/build.ps1, the compile plan and the README " +
      "lab table from the manifests (--check: list drift, exit 1)",
    command: "deno run -A lib/tooling/sync.ts",
  },
  test: {
    description: "Run every test suite (lib/*, tests/, each lab) as separate processes; " +
      "ends with 'tests: N passed, M failed'",
    command: "deno run -A lib/tooling/test_all.ts",
  },
  build: {
    description: "Compile every role (or: build NN [--role R] [--target T]) into dist/<target>/",
    command: "deno run -A lib/tooling/build.ts",
  },
  bench: {
    description: "Run lib/zmq/bench.ts and every lab's benchmark, one after another",
    command: "deno run -A lib/tooling/bench.ts",
  },
  "bench:zmq": {
    description: "lib/zmq throughput and latency beside zeromq.js on Node",
    command: "deno run -A lib/zmq/bench.ts",
  },
  check: {
    description: "deno fmt --check, deno lint, deno check on the whole repository and " +
      "deno check --doc on lib/ (every JSDoc example type-checks)",
    command: "deno fmt --check && deno lint && deno check . && deno check --doc lib/",
  },
  new: {
    description: 'Scaffold a lab: new NN slug "Title" "Pattern" [--role NAME] ' +
      "(manifest, role stub, protocol, tests, bench, SUMMARY skeleton), then sync",
    command: "deno run -A lib/tooling/new_lab.ts",
  },
};

/**
 * Every root task: the fixed ones, then per lab `labNN`, `labNN:<alias>` per role and
 * `test:labNN`.
 *
 * @example
 * ```ts
 * import { loadAllManifests } from "@lib/tooling/manifest.ts";
 * import { rootTasks } from "@lib/tooling/root_tasks.ts";
 *
 * rootTasks(await loadAllManifests())["lab05:gateway"].command;
 * // "deno run --allow-ffi --allow-env --allow-read --allow-sys labs/05-audit-gateway/cmd/audit_gateway.ts"
 * ```
 */
export function rootTasks(labs: LabManifest[]): Record<string, TaskDefinition> {
  const tasks: Record<string, TaskDefinition> = { ...FIXED_TASKS };
  for (const lab of [...labs].sort((a, b) => a.id.localeCompare(b.id))) {
    tasks[`lab${lab.id}`] = {
      description: `Lab ${lab.id} ${lab.title} (${lab.pattern}): run the demo topology ` +
        "[--duration 30s]",
      command: `deno run -A lib/tooling/run_lab.ts ${lab.id}`,
    };
    for (const role of lab.roles) {
      tasks[`lab${lab.id}:${role.alias}`] = {
        description: `${role.name}: ${role.summary}`,
        command: ["deno", "run", ...permissionFlags(role), `labs/${lab.folder}/${role.entry}`]
          .map(shellQuote).join(" "),
      };
    }
    for (const [name, task] of Object.entries(lab.tasks ?? {})) {
      tasks[`lab${lab.id}:${name}`] = { description: task.description, command: task.command };
    }
    tasks[`test:lab${lab.id}`] = {
      description: `Lab ${lab.id} tests`,
      command: `deno test -A labs/${lab.folder}`,
    };
  }
  return tasks;
}
