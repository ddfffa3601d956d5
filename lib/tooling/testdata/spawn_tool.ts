// Test helper: runs a tooling script as its own process and collects its output lines.
import { waitFor } from "@lib/testing/mod.ts";
import { forEachLine } from "../lines.ts";

export const TOOLING = new URL("..", import.meta.url).pathname;
export const FIXTURE_LABS = new URL("./labs", import.meta.url).pathname;

export interface ToolProcess extends AsyncDisposable {
  lines: string[];
  child: Deno.ChildProcess;
  /** Waits until a line matches, or throws with the output so far after `timeoutMs` ms. */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Waits for the exit; resolves with the status once all output was read. */
  done(): Promise<Deno.CommandStatus>;
}

/** Runs `script` with the current env plus `env`; `NO_COLOR: ""` removes NO_COLOR. */
export function spawnTool(
  script: string,
  args: string[],
  env: Record<string, string> = { NO_COLOR: "1" },
): ToolProcess {
  const merged = { ...Deno.env.toObject(), ...env };
  if (merged.NO_COLOR === "") delete merged.NO_COLOR;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${TOOLING}/${script}`, ...args],
    env: merged,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let exited = false;
  const output = Promise.all([
    forEachLine(child.stdout, (line) => lines.push(line)),
    forEachLine(child.stderr, (line) => lines.push(line)),
  ]);
  const status = child.status;
  status.then(() => output).then(() => exited = true);
  const proc: ToolProcess = {
    lines,
    child,
    async waitForLine(pred, timeoutMs = 15_000) {
      try {
        return await waitFor("a matching line", () => {
          const line = lines.find(pred);
          if (line !== undefined) return line;
          if (exited) throw new Error("the process exited without a matching line");
        }, { timeoutMs });
      } catch (error) {
        throw new Error(`${(error as Error).message}; output:\n${lines.join("\n")}`);
      }
    },
    async done() {
      const s = await status;
      await output;
      return s;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await status;
      await output;
    },
  };
  return proc;
}
