/**
 * Lab 15 test helpers: a generated corpus and a cluster of real processes (mr_master, map
 * and reduce workers) over an `ipc://` endpoint in a temp dir, so a re-run master binds the
 * same endpoint and the running workers find it again.
 *
 * @module
 */

import { type RoleProcess, spawnRole, type TempDir, tempDir } from "@lib/testing/mod.ts";
import { generateCorpus } from "./internal/corpus.ts";
import type { JobName } from "./internal/jobs.ts";

/** A job's directories and the files of its corpus. */
export interface JobDirs extends AsyncDisposable {
  dir: TempDir;
  input: string;
  work: string;
  out: string;
  endpoint: string;
  files: string[];
}

/**
 * A temp dir with a generated corpus (`input/`), `work/`, `out/` and an ipc endpoint.
 *
 * @example
 * ```ts
 * import { jobDirs } from "./testing.ts";
 * await using dirs = await jobDirs("wordcount", 200_000, { poison: true });
 * ```
 */
export async function jobDirs(
  job: JobName,
  bytes: number,
  options: { poison?: boolean; files?: number } = {},
): Promise<JobDirs> {
  const dir = await tempDir();
  const input = `${dir.path}/input`;
  const files = await generateCorpus(input, {
    job,
    bytes,
    files: options.files ?? 3,
    poison: options.poison,
  });
  return {
    dir,
    input,
    work: `${dir.path}/work`,
    out: `${dir.path}/out`,
    endpoint: `ipc://${dir.path}/mr.sock`,
    files,
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}

/** Generous defaults for a loaded 2-core machine: a worker is dead after 5 s of silence. */
export const TEST_TIMING = ["--heartbeat-interval", "250", "--liveness", "20"];

/**
 * Starts mr_master on the dirs' endpoint; waits for `listening`.
 *
 * @example
 * ```ts
 * import { jobDirs, startMaster } from "./testing.ts";
 * await using dirs = await jobDirs("wordcount", 100_000);
 * await using master = await startMaster(dirs, ["--job", "wordcount"]);
 * ```
 */
export async function startMaster(dirs: JobDirs, args: string[] = []): Promise<RoleProcess> {
  const proc = await spawnRole("15", "mr_master", [
    "--bind",
    dirs.endpoint,
    "--input",
    dirs.input,
    "--work-dir",
    dirs.work,
    "--out-dir",
    dirs.out,
    "--split-size",
    "32KiB",
    "--reducers",
    "3",
    "--top",
    "0",
    "--refresh",
    "0",
    ...TEST_TIMING,
    ...args,
  ]);
  try {
    await proc.event("listening", undefined, { timeout: 60_000 });
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** Starts a worker (`map_worker` or `reduce_worker`) connected to the dirs' endpoint. */
export async function startWorker(
  dirs: JobDirs,
  role: "map_worker" | "reduce_worker",
  args: string[] = [],
): Promise<RoleProcess> {
  const proc = await spawnRole("15", role, ["--master", dirs.endpoint, ...TEST_TIMING, ...args]);
  try {
    await proc.event("ready", undefined, { timeout: 60_000 });
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** Every file of a directory and its bytes, by name. */
export async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) out.set(entry.name, await Deno.readFile(`${dir}/${entry.name}`));
  }
  return out;
}
