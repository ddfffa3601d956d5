/**
 * Atomic commit of an output file: write a temporary file beside it, fsync it, rename it
 * over the final name, fsync the directory. A reader sees the old file or the whole new
 * one, never a part; two attempts of the same deterministic task commit the same bytes,
 * so the last rename wins harmlessly (re-execution and re-runs are idempotent).
 *
 * @module
 */

/** Temporary files are named `<final>.tmp-<pid>-<n>`: {@linkcode removeTemporaries} finds them. */
export const TMP_MARK = ".tmp-";

let counter = 0;

/**
 * Writes `data` to `path` atomically (temp file, fsync, rename, fsync of the directory).
 *
 * @example
 * ```ts
 * import { commitFile } from "./commit.ts";
 * await commitFile("/tmp/out/part-r-00000", new TextEncoder().encode("a\t1\n"));
 * ```
 */
export async function commitFile(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}${TMP_MARK}${Deno.pid}-${++counter}`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDir(dirName(path));
}

/** fsyncs a directory (makes a rename durable); a platform that cannot is ignored. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Windows cannot open a directory; the rename is still atomic there.
  }
}

/** Removes `*.tmp-*` files a killed writer left in `dir`; returns how many. */
export async function removeTemporaries(dir: string): Promise<number> {
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.includes(TMP_MARK)) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
        removed++;
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return removed;
}

function dirName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}
