/**
 * The node's last applied policy table on disk, so that a restarted node enforces it at
 * once (before, or without, reaching the master) and resumes from it. Written atomically
 * (a temp file renamed over the old one): a crash leaves the old table or the new one,
 * never half of one.
 *
 * @module
 */

/** What is persisted. */
export interface SavedState {
  format: 1;
  version: number;
  subtree: string;
  fingerprint: string;
  savedAt: string;
  policies: { key: string; body: string }[];
}

/**
 * Writes `state` to `path` atomically.
 *
 * @example
 * ```ts
 * import { saveState } from "./state_file.ts";
 * const path = `${Deno.makeTempDirSync()}/node.json`;
 * await saveState(path, {
 *   format: 1,
 *   version: 3,
 *   subtree: "",
 *   fingerprint: "00000000",
 *   savedAt: new Date().toISOString(),
 *   policies: [],
 * });
 * ```
 */
export async function saveState(path: string, state: SavedState): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(state));
  await Deno.rename(tmp, path);
}

/**
 * Reads a state file: undefined when there is none; throws an Error saying what is wrong
 * with a file that exists but is not a state file.
 *
 * @example
 * ```ts
 * import { loadState } from "./state_file.ts";
 * await loadState(`${Deno.makeTempDirSync()}/missing.json`); // undefined
 * ```
 */
export async function loadState(path: string): Promise<SavedState | undefined> {
  let raw: string;
  try {
    raw = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw new Error(`${path}: expected a JSON state file, got unparsable text`);
  }
  const s = data as Partial<SavedState>;
  if (
    !s || s.format !== 1 || !Number.isSafeInteger(s.version) || typeof s.subtree !== "string" ||
    !Array.isArray(s.policies) ||
    !s.policies.every((p) => p && typeof p.key === "string" && typeof p.body === "string")
  ) {
    throw new Error(`${path}: expected a format 1 state file {version, subtree, policies}`);
  }
  return s as SavedState;
}
