/**
 * Independent ZeroMQ peers in Python (pyzmq) for interop tests: find a python3 that can
 * import zmq, and run a script as a process whose stdout lines a test reads.
 *
 * @module
 */

import { RoleProcess } from "./role_process.ts";

let found: Promise<string | undefined> | undefined;

/**
 * A python3 that can import zmq, or undefined (then skip with a printed reason). Debian's
 * `/usr/bin/python3` comes first: a pyenv `python3` earlier on PATH may lack python3-zmq.
 * Looked up once per process.
 *
 * @example
 * ```ts
 * import { pythonWithZmq } from "@lib/testing/mod.ts";
 * const python = await pythonWithZmq();
 * if (!python) console.log("skipping: python3-zmq is not installed (apt-get install python3-zmq)");
 * ```
 */
export function pythonWithZmq(): Promise<string | undefined> {
  found ??= (async () => {
    for (const python of ["/usr/bin/python3", "python3"]) {
      const ok = await new Deno.Command(python, {
        args: ["-c", "import zmq"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output().then((o) => o.success, () => false);
      if (ok) return python;
    }
    return undefined;
  })();
  return found;
}

/** Options of {@link spawnPython}. */
export interface SpawnPythonOptions {
  /** Working directory (default: the script's directory). */
  cwd?: string;
  /** Run it inside this network namespace (`ip netns exec`). */
  netns?: string;
}

/**
 * Runs `python -u <script> args...` (unbuffered, so each printed line arrives at once);
 * read its output with `stdoutLine`, dispose it to kill it.
 *
 * @example
 * ```ts
 * import { pythonWithZmq, spawnPython } from "@lib/testing/mod.ts";
 * const python = await pythonWithZmq();
 * if (python) {
 *   await using peer = spawnPython(python, "/tmp/echo.py", ["tcp://127.0.0.1:5555"]);
 *   await peer.stdoutLine((line) => line.startsWith("I:"));
 * }
 * ```
 */
export function spawnPython(
  python: string,
  script: string,
  args: string[] = [],
  options: SpawnPythonOptions = {},
): RoleProcess {
  const pyArgs = ["-u", script, ...args];
  const command = new Deno.Command(options.netns ? "ip" : python, {
    args: options.netns ? ["netns", "exec", options.netns, python, ...pyArgs] : pyArgs,
    cwd: options.cwd ?? (script.replace(/\/[^/]*$/, "") || "."),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  return new RoleProcess(script.split("/").pop()!, command, false);
}
