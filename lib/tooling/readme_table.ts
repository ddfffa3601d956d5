/**
 * The README lab table (between `<!-- labs:begin -->` and `<!-- labs:end -->`): every
 * planned lab, with title, pattern, roles and status taken from its manifest when it has one.
 *
 * @module
 */

import type { LabManifest } from "./manifest.ts";
import { PLANNED_LABS } from "./planned_labs.ts";

/** Marker that opens the generated table. */
export const TABLE_BEGIN = "<!-- labs:begin -->";
/** Marker that closes the generated table. */
export const TABLE_END = "<!-- labs:end -->";

const cell = (text: string) => text.replaceAll("|", "\\|");

/**
 * The markdown table of all labs (planned ones without a manifest show status `planned`).
 *
 * @example
 * ```ts
 * import { loadAllManifests } from "@lib/tooling/manifest.ts";
 * import { labTable } from "@lib/tooling/readme_table.ts";
 *
 * labTable(await loadAllManifests()).split("\n")[0]; // "| # | Lab | Pattern | Roles | Status |"
 * ```
 */
export function labTable(labs: LabManifest[]): string {
  const byId = new Map(labs.map((lab) => [lab.id, lab]));
  const ids = [...new Set([...PLANNED_LABS.map((p) => p.id), ...byId.keys()])].sort();
  const rows = ids.map((id) => {
    const lab = byId.get(id);
    const planned = PLANNED_LABS.find((p) => p.id === id);
    const title = lab ? `[${lab.title}](labs/${lab.folder}/)` : planned!.title;
    const pattern = lab?.pattern ?? planned!.pattern;
    const roles = lab ? lab.roles.map((r) => `\`${r.name}\``).join(", ") : "—";
    const status = lab?.status ?? "planned";
    return `| ${id} | ${cell(title)} | ${cell(pattern)} | ${roles} | ${status} |`;
  });
  return ["| # | Lab | Pattern | Roles | Status |", "| - | - | - | - | - |", ...rows].join("\n");
}

/**
 * Replaces the text between the table markers of `readme` with `table`, or throws when the
 * markers are missing.
 *
 * @example
 * ```ts
 * import { loadAllManifests } from "@lib/tooling/manifest.ts";
 * import { labTable, replaceLabTable } from "@lib/tooling/readme_table.ts";
 *
 * const readme = await Deno.readTextFile("README.md");
 * const updated = replaceLabTable(readme, labTable(await loadAllManifests()));
 * ```
 */
export function replaceLabTable(readme: string, table: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) {
    throw new Error(
      `README.md: expected the markers ${TABLE_BEGIN} ... ${TABLE_END}, got ${
        begin < 0 ? "no begin marker" : "no end marker after it"
      }`,
    );
  }
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n\n${table}\n\n${readme.slice(end)}`;
}
