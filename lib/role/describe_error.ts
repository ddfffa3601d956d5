/**
 * One line for an error a user sees: no stack, no "run again with --allow-..." hint. Deno's
 * file-system errors become `cannot open /x: no such file or directory`, its permission
 * errors `not permitted: read access to /x (not among this role's Deno permissions)`.
 *
 * @module
 */

/**
 * What {@link describeError} says about an error.
 *
 * @example
 * ```ts
 * import { describeError, type ErrorDescription } from "./describe_error.ts";
 * const d: ErrorDescription = describeError(new Error("boom"));
 * console.log(d.expected); // false
 * ```
 */
export interface ErrorDescription {
  /** One line, no stack. */
  message: string;
  /**
   * An error the environment causes (a file, a port, a permission): the user needs the
   * message, not a stack. False for bugs (TypeError and the like).
   */
  expected: boolean;
  /** The error's code when it has one (`EADDRINUSE`, `ENOENT`, ...). */
  code?: string;
}

const OS_ERROR_RE = /^(.+?) \(os error \d+\)(?:: (\w+) '(.*)')?$/s;
const NOT_CAPABLE_RE = /^Requires (\w+) access to "?(.*?)"?, (?:run again with|specify) .*$/s;

/** Deno's operation names in its file errors, as words. */
const OPERATION_WORDS: Record<string, string> = {
  readfile: "read",
  writefile: "write",
  readdir: "list",
  mkdir: "create",
  lstat: "stat",
  realpath: "resolve",
  remove: "remove",
};

function isDenoError(error: unknown): boolean {
  return Object.values(Deno.errors).some((kind) => error instanceof kind);
}

/**
 * Describes `error` in one line for a user.
 *
 * @example
 * ```ts
 * import { describeError } from "./describe_error.ts";
 * describeError(new Deno.errors.NotFound("No such file or directory (os error 2): open '/x'"));
 * // { message: "cannot open /x: no such file or directory", expected: true, code: undefined }
 * ```
 */
export function describeError(error: unknown): ErrorDescription {
  if (!(error instanceof Error)) return { message: String(error), expected: false };
  const raw = (error as { code?: unknown }).code;
  const code = typeof raw === "string" ? raw : undefined;
  const firstLine = (text: string) => text.split("\n", 1)[0];
  if (error.name === "ZmqError") {
    return { message: firstLine(error.message), expected: true, code };
  }
  if (!isDenoError(error)) return { message: firstLine(error.message), expected: false, code };
  const capable = NOT_CAPABLE_RE.exec(error.message);
  if (capable) {
    const [, kind, what] = capable;
    return {
      message: `not permitted: ${kind} access to ${what} (not among this role's Deno permissions)`,
      expected: true,
      code,
    };
  }
  const os = OS_ERROR_RE.exec(error.message);
  if (os) {
    const [, text, op, path] = os;
    const what = text.charAt(0).toLowerCase() + text.slice(1);
    const verb = op ? OPERATION_WORDS[op.toLowerCase()] ?? op : undefined;
    return { message: verb ? `cannot ${verb} ${path}: ${what}` : what, expected: true, code };
  }
  return { message: firstLine(error.message), expected: true, code };
}
