/**
 * The lab manifest: the single source of truth for a lab's roles. Every generated file
 * (root tasks, .vscode configs, run.ps1/build.ps1, the compile plan) and the test harness
 * read the manifests through this module.
 *
 * @module
 */

/** One executable of a lab. */
export interface RoleManifest {
  /** Executable name, fixed by the lab's issue, e.g. `audit_gateway`. */
  name: string;
  /** Entry file relative to the lab folder, e.g. `cmd/audit_gateway.ts`. */
  entry: string;
  /** Short task alias: `deno task lab05:<alias>`. */
  alias: string;
  /** One line for --help listings and the README. */
  summary: string;
  /** Deno permission names, each becomes `--allow-<p>` (`"write=/tmp"` allowed). */
  permissions: string[];
}

/** One process of the lab's demo topology. */
export interface DemoProcess {
  /** A role of this lab, or of `lab` when that is given. */
  role: string;
  /**
   * Another lab's two-digit id: run that lab's role (its entry and permissions), e.g. Lab 13
   * runs Lab 12's Majordomo broker, so `deno task lab13` needs nothing else running.
   */
  lab?: string;
  args: string[];
  /** How many copies to start (default 1). */
  instances?: number;
  /**
   * The process finishes by itself (a one-shot client such as `admin_cli info`): exiting 0
   * is fine and the lab keeps running. Otherwise any exit while the lab runs fails the lab.
   */
  oneshot?: boolean;
}

/** A lab's manifest (`labs/NN-slug/manifest.json`). */
export interface LabManifest {
  id: string;
  slug: string;
  title: string;
  pattern: string;
  status: "done" | "in-progress" | "planned";
  roles: RoleManifest[];
  demo: DemoProcess[];
  /** Benchmark entry relative to the lab folder, or null. */
  bench: string | null;
  /**
   * Extra root tasks of the lab, `deno task labNN:<name>` (e.g. Lab 10's `images` and
   * `compose`); a name may not be a role alias.
   */
  tasks?: Record<string, { description: string; command: string }>;
  /** Absolute path of the lab folder (added by the loader). */
  dir: string;
  /** Folder name under labs/, e.g. `05-audit-gateway` (added by the loader). */
  folder: string;
}

const PERMISSION_NAMES = new Set([
  "read",
  "write",
  "net",
  "env",
  "sys",
  "run",
  "ffi",
  "import",
]);

/** Absolute path of the repository root. */
export const REPO_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/^\/(\w:)/, "$1") // Windows: "/C:/x" -> "C:/x"
  .replace(/\/$/, "");

/** Absolute path of the labs folder. */
export const LABS_DIR = `${REPO_ROOT}/labs`;

/**
 * Checks a parsed manifest and returns it typed, or throws an error that names the file,
 * the field, what was expected and what was got.
 *
 * @example
 * ```ts
 * import { LABS_DIR, validateManifest } from "@lib/tooling/manifest.ts";
 *
 * const dir = `${LABS_DIR}/01-heartbeat`;
 * const text = await Deno.readTextFile(`${dir}/manifest.json`);
 * const lab = validateManifest(JSON.parse(text), "labs/01-heartbeat/manifest.json", dir, "01-heartbeat");
 * ```
 */
export function validateManifest(
  raw: unknown,
  file: string,
  dir: string,
  folder: string,
): LabManifest {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new Error(
      `${file}: ${field}: expected ${expected}, got ${JSON.stringify(got)}`,
    );
  };
  if (typeof raw !== "object" || raw === null) fail("(root)", "an object", raw);
  const m = raw as Record<string, unknown>;
  const str = (field: string, value: unknown, pattern?: RegExp): string => {
    if (typeof value !== "string" || value === "" || (pattern && !pattern.test(value))) {
      fail(field, pattern ? `a string matching ${pattern}` : "a non-empty string", value);
    }
    return value as string;
  };
  const id = str("id", m.id, /^\d\d$/);
  const slug = str("slug", m.slug, /^[a-z0-9-]+$/);
  if (folder !== `${id}-${slug}`) fail("id/slug", `folder name ${id}-${slug}`, folder);
  const status = m.status ?? "in-progress";
  if (!["done", "in-progress", "planned"].includes(status as string)) {
    fail("status", "done | in-progress | planned", status);
  }
  if (!Array.isArray(m.roles) || m.roles.length === 0) fail("roles", "a non-empty array", m.roles);
  const roles = (m.roles as unknown[]).map((r, i): RoleManifest => {
    const role =
      (typeof r === "object" && r !== null ? r : fail(`roles[${i}]`, "an object", r)) as Record<
        string,
        unknown
      >;
    const permissions = role.permissions;
    if (!Array.isArray(permissions)) fail(`roles[${i}].permissions`, "an array", permissions);
    for (const p of permissions as unknown[]) {
      const name = typeof p === "string" ? p.split("=")[0] : "";
      if (!PERMISSION_NAMES.has(name)) {
        fail(`roles[${i}].permissions`, `names from ${[...PERMISSION_NAMES].join("|")}`, p);
      }
    }
    return {
      name: str(`roles[${i}].name`, role.name, /^[a-z][a-z0-9_]*$/),
      entry: str(`roles[${i}].entry`, role.entry, /^cmd\/[a-z0-9_]+\.ts$/),
      alias: str(`roles[${i}].alias`, role.alias, /^[a-z][a-z0-9-]*$/),
      summary: str(`roles[${i}].summary`, role.summary),
      permissions: permissions as string[],
    };
  });
  const names = new Set(roles.map((r) => r.name));
  if (names.size !== roles.length) fail("roles", "unique role names", roles.map((r) => r.name));
  const aliases = new Set(roles.map((r) => r.alias));
  if (aliases.size !== roles.length) fail("roles", "unique aliases", roles.map((r) => r.alias));
  const demo = (Array.isArray(m.demo) ? m.demo : fail("demo", "an array", m.demo)) as unknown[];
  const demoProcesses = demo.map((d, i): DemoProcess => {
    const p = d as Record<string, unknown>;
    if (
      p?.lab !== undefined && (typeof p.lab !== "string" || !/^\d\d$/.test(p.lab) || p.lab === id)
    ) {
      fail(`demo[${i}].lab`, `another lab's two-digit id (not ${id})`, p.lab);
    }
    if (p?.lab !== undefined) {
      // Checked against that lab's roles by loadAllManifests.
      if (typeof p.role !== "string") fail(`demo[${i}].role`, "a role name", p.role);
    } else if (typeof p?.role !== "string" || !names.has(p.role)) {
      fail(`demo[${i}].role`, `one of ${[...names].join(", ")}`, p?.role);
    }
    if (!Array.isArray(p.args) || p.args.some((a) => typeof a !== "string")) {
      fail(`demo[${i}].args`, "an array of strings", p.args);
    }
    if (p.instances !== undefined && !(Number.isInteger(p.instances) && Number(p.instances) > 0)) {
      fail(`demo[${i}].instances`, "a positive integer", p.instances);
    }
    if (p.oneshot !== undefined && typeof p.oneshot !== "boolean") {
      fail(`demo[${i}].oneshot`, "a boolean", p.oneshot);
    }
    return {
      role: p.role as string,
      ...(p.lab !== undefined ? { lab: p.lab as string } : {}),
      args: p.args as string[],
      ...(p.instances ? { instances: p.instances as number } : {}),
      ...(p.oneshot ? { oneshot: true } : {}),
    };
  });
  const bench = m.bench ?? null;
  if (bench !== null && typeof bench !== "string") fail("bench", "a path or null", bench);
  let tasks: LabManifest["tasks"];
  if (m.tasks !== undefined) {
    if (typeof m.tasks !== "object" || m.tasks === null || Array.isArray(m.tasks)) {
      fail("tasks", "an object of {description, command}", m.tasks);
    }
    tasks = {};
    for (const [name, t] of Object.entries(m.tasks as Record<string, unknown>)) {
      if (!/^[a-z][a-z0-9-]*$/.test(name) || aliases.has(name)) {
        fail(`tasks`, "task names in lower-case, not a role alias", name);
      }
      const task = t as Record<string, unknown>;
      tasks[name] = {
        description: str(`tasks.${name}.description`, task?.description),
        command: str(`tasks.${name}.command`, task?.command),
      };
    }
  }
  return {
    id,
    slug,
    title: str("title", m.title),
    pattern: str("pattern", m.pattern),
    status: status as LabManifest["status"],
    roles,
    demo: demoProcesses,
    bench: bench as string | null,
    ...(tasks ? { tasks } : {}),
    dir,
    folder,
  };
}

/**
 * Loads every lab manifest under `labs/` (or `labsDir`, e.g. a test fixture), sorted by id.
 * Lab folders without a `manifest.json` are skipped.
 *
 * @example
 * ```ts
 * import { loadAllManifests } from "@lib/tooling/manifest.ts";
 *
 * for (const lab of await loadAllManifests()) console.log(lab.id, lab.title);
 * ```
 */
export async function loadAllManifests(labsDir: string = LABS_DIR): Promise<LabManifest[]> {
  const labs: LabManifest[] = [];
  for await (const entry of Deno.readDir(labsDir)) {
    if (!entry.isDirectory || !/^\d\d-/.test(entry.name)) continue;
    const dir = `${labsDir}/${entry.name}`;
    const file = `${dir}/manifest.json`;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    labs.push(
      validateManifest(JSON.parse(text), `labs/${entry.name}/manifest.json`, dir, entry.name),
    );
  }
  labs.sort((a, b) => a.id.localeCompare(b.id));
  for (const lab of labs) {
    lab.demo.forEach((d, i) => {
      if (d.lab === undefined) return;
      const other = labs.find((l) => l.id === d.lab);
      const names = other?.roles.map((r) => r.name) ?? [];
      if (!names.includes(d.role)) {
        throw new Error(
          `labs/${lab.folder}/manifest.json: demo[${i}]: expected a role of lab ${d.lab} (${
            other ? names.join(", ") : "no such lab"
          }), got ${JSON.stringify(d.role)}`,
        );
      }
    });
  }
  return labs;
}

/**
 * Loads one lab's manifest by its two-digit id ("05") or folder name.
 *
 * @example
 * ```ts
 * import { loadManifest } from "@lib/tooling/manifest.ts";
 *
 * const lab = await loadManifest("05");
 * ```
 */
export async function loadManifest(
  lab: string,
  labsDir: string = LABS_DIR,
): Promise<LabManifest> {
  const all = await loadAllManifests(labsDir);
  const id = lab.padStart(2, "0");
  const found = all.find((m) => m.id === id || m.folder === lab);
  if (!found) {
    throw new Error(
      `no lab "${lab}": expected one of ${all.map((m) => m.id).join(", ") || "(none)"}`,
    );
  }
  return found;
}

/**
 * Finds a role in a lab manifest, or throws naming the roles that exist.
 *
 * @example
 * ```ts
 * import { findRole, loadManifest } from "@lib/tooling/manifest.ts";
 *
 * const role = findRole(await loadManifest("05"), "audit_gateway");
 * ```
 */
export function findRole(lab: LabManifest, name: string): RoleManifest {
  const role = lab.roles.find((r) => r.name === name || r.alias === name);
  if (!role) {
    throw new Error(
      `lab ${lab.id} has no role "${name}": expected one of ${
        lab.roles.map((r) => r.name).join(", ")
      }`,
    );
  }
  return role;
}

/**
 * The exact Deno permission flags a role runs with (and its compiled binary bakes in).
 *
 * @example
 * ```ts
 * import { permissionFlags } from "@lib/tooling/manifest.ts";
 *
 * permissionFlags({ permissions: ["ffi", "write=/tmp"] });
 * // ["--allow-ffi", "--allow-write=/tmp"]
 * ```
 */
export function permissionFlags(role: Pick<RoleManifest, "permissions">): string[] {
  return role.permissions.map((p) => `--allow-${p}`);
}
