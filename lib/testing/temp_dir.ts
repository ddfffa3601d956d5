/**
 * Temporary directories that remove themselves.
 *
 * @module
 */

/** A temporary directory; removed (recursively) on dispose. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path of the directory. */
  readonly path: string;
}

/**
 * Creates a temporary directory, removed with everything in it on `await using` exit.
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 *
 * await using dir = await tempDir("lab05-");
 * const socket = `ipc://${dir.path}/front.sock`;
 * ```
 */
export async function tempDir(prefix = "zmq-labs-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      try {
        await Deno.remove(path, { recursive: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    },
  };
}
