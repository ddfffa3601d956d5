// Test helper: runs a tooling script as its own process and collects its output lines.
import { forEachLine } from "../lines.ts";

export const TOOLING = new URL("..", import.meta.url).pathname;
export const FIXTURE_LABS = new URL("./labs", import.meta.url).pathname;

export interface ToolProcess extends AsyncDisposable {
  lines: string[];
  child: Deno.ChildProcess;
  /** Waits until a line matches, or throws with the output so far after `timeout` ms. */
  waitFor(pred: (line: string) => boolean, timeout?: number): Promise<string>;
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
  const waiters = new Set<() => void>();
  const push = (line: string) => {
    lines.push(line);
    for (const w of waiters) w();
  };
  const output = Promise.all([forEachLine(child.stdout, push), forEachLine(child.stderr, push)]);
  const status = child.status;
  const proc: ToolProcess = {
    lines,
    child,
    waitFor(pred, timeout = 15_000) {
      const found = lines.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find(pred);
          if (line === undefined) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching line within ${timeout} ms; output:\n${lines.join("\n")}`));
        }, timeout);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        status.then(() => output).then(() => {
          if (!waiters.has(check)) return;
          cleanup();
          const line = lines.find(pred);
          if (line !== undefined) resolve(line);
          else {reject(
              new Error(`process exited without a matching line; output:\n${lines.join("\n")}`),
            );}
        });
      });
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
