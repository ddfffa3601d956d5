/**
 * A process-wide registry of shutdown hooks. Libraries that own process resources (the
 * ZeroMQ context, open files) register here; the role runtime runs the hooks, newest
 * first, after the role's own cleanups and before the process exits.
 *
 * @module
 */

/** A cleanup that runs once at shutdown. */
export type ShutdownHook = () => void | Promise<void>;

const hooks: ShutdownHook[] = [];

/**
 * Registers a hook; returns a function that removes it again.
 *
 * @example
 * ```ts
 * import { addShutdownHook } from "@lib/lifecycle/shutdown_hooks.ts";
 *
 * const pending: string[] = [];
 * const remove = addShutdownHook(async () => {
 *   await Deno.writeTextFile("pending.txt", pending.join("\n"));
 * });
 * remove(); // no longer needed
 * ```
 */
export function addShutdownHook(hook: ShutdownHook): () => void {
  hooks.push(hook);
  return () => {
    const index = hooks.indexOf(hook);
    if (index >= 0) hooks.splice(index, 1);
  };
}

/**
 * Runs (and removes) every registered hook, newest first. A hook that throws does not stop
 * the others; the errors are returned.
 *
 * @example
 * ```ts
 * import { runShutdownHooks } from "@lib/lifecycle/shutdown_hooks.ts";
 *
 * const errors = await runShutdownHooks();
 * for (const error of errors) console.error(error);
 * ```
 */
export async function runShutdownHooks(): Promise<unknown[]> {
  const errors: unknown[] = [];
  while (hooks.length > 0) {
    const hook = hooks.pop()!;
    try {
      await hook();
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}
