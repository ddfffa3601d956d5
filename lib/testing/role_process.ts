/**
 * Runs a role (or any script) as its own process with exact permissions, collects its JSON
 * log events (stderr) and stdout lines, and lets a test wait for them with deadlines.
 *
 * @module
 */

import {
  findRole,
  type LabManifest,
  LABS_DIR,
  loadManifest,
  permissionFlags,
  validateManifest,
} from "@lib/tooling/manifest.ts";

/** One JSON log line of a role. */
export interface RoleEvent {
  ts: string;
  level: string;
  role: string;
  pid: number;
  event: string;
  [field: string]: unknown;
}

/** Options of {@link spawnRole} / {@link spawnScript}. */
export interface SpawnOptions {
  /** Extra environment (LOG_FORMAT=json and LOG_LEVEL=info are set unless given here). */
  env?: Record<string, string>;
  /**
   * `"piped"` to use {@link RoleProcess.writeStdin}; a string or bytes are written and
   * stdin is closed; default `"null"`.
   */
  stdin?: "piped" | "null" | "inherit" | string | Uint8Array;
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Name used in error messages (default: the script's file name). */
  name?: string;
  /**
   * Run inside this network namespace (`ip netns exec <netns> deno ...`), e.g. a test
   * host's (`net.host("h1").netns`, see `createTestNetwork`).
   */
  netns?: string;
}

/** How a process ended. */
export interface ExitStatus {
  code: number;
  signal: Deno.Signal | null;
}

/** Wait options. */
export interface WaitOptions {
  /** Milliseconds before the wait rejects (default 10000). */
  timeout?: number;
}

/** A line matcher: substring, regular expression or predicate. */
export type LineMatcher = string | RegExp | ((line: string) => boolean);

const DEFAULT_TIMEOUT = 10_000;
const TAIL_LINES = 30;

interface Waiter {
  check(): boolean;
  fail(why: string): void;
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, i).replace(/\r$/, "");
      buffer = buffer.slice(i + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

function matcher(match: LineMatcher): (line: string) => boolean {
  if (typeof match === "string") return (line) => line.includes(match);
  if (match instanceof RegExp) return (line) => match.test(line);
  return match;
}

/**
 * A running role process. Create with {@link spawnRole} or {@link spawnScript}; dispose
 * with `await using` (kills it if still running).
 */
export class RoleProcess implements AsyncDisposable {
  /** Every JSON log event so far, oldest first. */
  readonly events: RoleEvent[] = [];
  /** Every stdout line so far. */
  readonly stdoutLines: string[] = [];
  /** stderr lines that were not JSON (diagnostics). */
  readonly rawStderr: string[] = [];
  /** The role name used in messages. */
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #tail: string[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #done: Promise<ExitStatus>;
  #status: ExitStatus | undefined;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;

  /** Use {@link spawnScript} or {@link spawnRole}. */
  constructor(name: string, command: Deno.Command, stdinPiped: boolean, stdinData?: Uint8Array) {
    this.name = name;
    this.#child = command.spawn();
    if (stdinPiped) {
      this.#stdin = this.#child.stdin.getWriter();
      if (stdinData) {
        const writer = this.#stdin;
        this.#stdin = undefined;
        void writer.write(stdinData).then(() => writer.close()).catch(() => {});
      }
    }
    const stderr = this.#pump(this.#child.stderr, (line) => this.#onStderr(line));
    const stdout = this.#pump(this.#child.stdout, (line) => {
      this.stdoutLines.push(line);
      this.#remember(`[stdout] ${line}`);
      this.#notify();
    });
    this.#done = Promise.all([this.#child.status, stderr, stdout]).then(([status]) => {
      this.#status = { code: status.code, signal: status.signal };
      for (const waiter of [...this.#waiters]) {
        waiter.fail(
          `the process exited (code ${status.code}${
            status.signal ? `, signal ${status.signal}` : ""
          })`,
        );
      }
      return this.#status;
    });
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The exit status once the process ended (and its output was read), else undefined. */
  get status(): ExitStatus | undefined {
    return this.#status;
  }

  async #pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    try {
      for await (const line of lines(stream)) onLine(line);
    } catch {
      // the pipe broke: the process is gone
    }
  }

  #remember(line: string) {
    this.#tail.push(line);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
  }

  #onStderr(line: string) {
    this.#remember(line);
    if (line.startsWith("{")) {
      try {
        const event = JSON.parse(line);
        if (event && typeof event.event === "string") {
          this.events.push(event as RoleEvent);
          this.#notify();
          return;
        }
      } catch {
        // not JSON after all
      }
    }
    this.rawStderr.push(line);
  }

  #notify() {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  /** The last (up to 30) stderr and stdout lines, for failure messages. */
  tail(): string {
    return this.#tail.length === 0 ? "(no output)" : this.#tail.join("\n");
  }

  #error(what: string, why: string): Error {
    return new Error(
      `${this.name} (pid ${this.pid}): ${why} while waiting for ${what}\n` +
        `--- last lines of ${this.name} ---\n${this.tail()}\n---`,
    );
  }

  #wait<T>(what: string, find: () => T | undefined, timeout: number): Promise<T> {
    let found: T | undefined;
    try {
      found = find();
    } catch (error) {
      return Promise.reject(error);
    }
    if (found !== undefined) return Promise.resolve(found);
    if (this.#status) {
      return Promise.reject(
        this.#error(what, `the process had exited (code ${this.#status.code})`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const timer = setTimeout(() => waiter.fail(`timed out after ${timeout} ms`), timeout);
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = find();
          } catch (error) {
            // a throwing predicate fails this wait, never the output reader
            finish();
            reject(error);
            return true;
          }
          if (value === undefined) return false;
          finish();
          resolve(value);
          return true;
        },
        fail: (why) => {
          if (waiter.check()) return;
          finish();
          reject(this.#error(what, why));
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /**
   * Resolves with the first event named `name` (and matching `pred`), including events that
   * already arrived. Rejects after the timeout, or when the process exits first, with the
   * role's last lines.
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("01", "dashboard", ["--bind", "tcp://127.0.0.1:*"]);
   * const { endpoint } = await proc.event("listening");
   * await proc.event("node_state", (e) => e.state === "alive", { timeout: 5000 });
   * ```
   */
  event(
    name: string,
    pred?: (event: RoleEvent) => boolean,
    options: WaitOptions = {},
  ): Promise<RoleEvent> {
    const what = `event "${name}"${pred ? ` matching ${pred.toString()}` : ""}`;
    return this.#wait(
      what,
      () => this.events.find((e) => e.event === name && (!pred || pred(e))),
      options.timeout ?? DEFAULT_TIMEOUT,
    );
  }

  /**
   * Number of events so far named `name` (and matching `pred`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("04", "lvc_broker", ["--frontend", "tcp://127.0.0.1:*"]);
   * assert.equal(proc.eventCount("bad_message"), 0);
   * ```
   */
  eventCount(name: string, pred?: (event: RoleEvent) => boolean): number {
    let n = 0;
    for (const e of this.events) if (e.event === name && (!pred || pred(e))) n++;
    return n;
  }

  /**
   * Resolves with the first stdout line that matches (substring, RegExp or predicate),
   * including lines already read; rejects like {@link RoleProcess.event}.
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("05", "audit_client", ["--records", "10"]);
   * const line = await proc.stdoutLine((l) => l.startsWith("total"));
   * ```
   */
  stdoutLine(match: LineMatcher, options: WaitOptions = {}): Promise<string> {
    const test = matcher(match);
    return this.#wait(
      `a stdout line matching ${match.toString()}`,
      () => this.stdoutLines.find(test),
      options.timeout ?? DEFAULT_TIMEOUT,
    );
  }

  /**
   * Writes text to the process's stdin (spawn with `stdin: "piped"`).
   *
   * @example
   * ```ts
   * import { spawnScript } from "@lib/testing/mod.ts";
   *
   * await using proc = spawnScript("lib/role/testdata/echo_role.ts", ["env"], [], { stdin: "piped" });
   * await proc.writeStdin("hello\n");
   * ```
   */
  async writeStdin(text: string | Uint8Array): Promise<void> {
    if (!this.#stdin) {
      throw new Error(`${this.name}: stdin is not open: spawn with { stdin: "piped" }`);
    }
    await this.#stdin.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
  }

  /**
   * Closes stdin (the process reads end of file).
   *
   * @example
   * ```ts
   * import { spawnScript } from "@lib/testing/mod.ts";
   *
   * await using proc = spawnScript("lib/role/testdata/echo_role.ts", ["env"], [], { stdin: "piped" });
   * await proc.closeStdin();
   * ```
   */
  async closeStdin(): Promise<void> {
    const writer = this.#stdin;
    this.#stdin = undefined;
    await writer?.close().catch(() => {});
  }

  /**
   * Waits for the process to exit and its output to be read.
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("03", "admin_cli", ["--help"]);
   * const { code } = await proc.wait();
   * ```
   */
  wait(): Promise<ExitStatus> {
    return this.#done;
  }

  #signal(signal: Deno.Signal): void {
    if (this.#status) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /**
   * Sends SIGTERM and waits for a clean exit: throws (with the last lines) unless the
   * process exits 0 within the timeout (then it is killed).
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("01", "dashboard", ["--bind", "tcp://127.0.0.1:*"]);
   * await proc.event("listening");
   * await proc.stop();
   * ```
   */
  async stop(options: WaitOptions = {}): Promise<ExitStatus> {
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.#signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    const result = await Promise.race([this.#done, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      await this.kill();
      throw this.#error("exit after SIGTERM", `did not exit within ${timeout} ms (killed)`);
    }
    if (result.code !== 0) {
      throw new Error(
        `${this.name} (pid ${this.pid}): expected exit code 0 after SIGTERM, got ${result.code}` +
          `${result.signal ? ` (signal ${result.signal})` : ""}\n` +
          `--- last lines of ${this.name} ---\n${this.tail()}\n---`,
      );
    }
    return result;
  }

  /**
   * Sends `signal` (default SIGTERM) without waiting.
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("01", "dashboard", ["--bind", "tcp://127.0.0.1:*"]);
   * proc.signal("SIGINT");
   * ```
   */
  signal(signal: Deno.Signal = "SIGTERM"): void {
    this.#signal(signal);
  }

  /**
   * Kills the process (SIGKILL) and waits for it to end.
   *
   * @example
   * ```ts
   * import { spawnRole } from "@lib/testing/mod.ts";
   *
   * await using proc = await spawnRole("01", "dashboard", ["--bind", "tcp://127.0.0.1:*"]);
   * await proc.kill();
   * ```
   */
  async kill(): Promise<ExitStatus> {
    this.#signal("SIGKILL");
    return await this.#done;
  }

  /** Kills the process if it still runs and releases its pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeStdin();
    if (!this.#status) this.#signal("SIGKILL");
    await this.#done;
  }
}

function stdinSetting(stdin: SpawnOptions["stdin"]): {
  mode: "piped" | "null" | "inherit";
  data?: Uint8Array;
} {
  if (stdin === undefined || stdin === "null") return { mode: "null" };
  if (stdin === "piped" || stdin === "inherit") return { mode: stdin };
  return {
    mode: "piped",
    data: typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin,
  };
}

/**
 * Runs a script as `deno run --quiet --no-prompt <--allow-p ...> script ...args`, with
 * exactly the given permissions (names as in a manifest, e.g. `["env", "write=/tmp"]`).
 *
 * @example
 * ```ts
 * import { spawnScript } from "@lib/testing/mod.ts";
 *
 * await using proc = spawnScript("lib/role/testdata/echo_role.ts", ["env"], ["--upper"]);
 * await proc.event("ready");
 * ```
 */
export function spawnScript(
  path: string,
  permissions: string[],
  args: string[] = [],
  options: SpawnOptions = {},
): RoleProcess {
  const { mode, data } = stdinSetting(options.stdin);
  const denoArgs = [
    "run",
    "--quiet",
    "--no-prompt",
    ...permissionFlags({ permissions }),
    path,
    ...args,
  ];
  // `ip netns exec` execs the command after entering the namespace: the pid is deno's.
  const command = new Deno.Command(options.netns ? "ip" : Deno.execPath(), {
    args: options.netns ? ["netns", "exec", options.netns, Deno.execPath(), ...denoArgs] : denoArgs,
    env: { LOG_FORMAT: "json", LOG_LEVEL: "info", NO_COLOR: "1", ...options.env },
    cwd: options.cwd,
    stdin: mode,
    stdout: "piped",
    stderr: "piped",
  });
  const name = options.name ?? path.split("/").pop()!.replace(/\.ts$/, "");
  return new RoleProcess(name, command, mode === "piped", data);
}

/**
 * Loads only the wanted lab's manifest, so another lab's half-edited manifest cannot break
 * this lab's tests; falls back to the full loader (and its error listing the labs).
 */
async function loadLab(lab: string): Promise<LabManifest> {
  const id = lab.padStart(2, "0");
  try {
    for await (const entry of Deno.readDir(LABS_DIR)) {
      if (!entry.isDirectory || !(entry.name === lab || entry.name.startsWith(`${id}-`))) continue;
      const dir = `${LABS_DIR}/${entry.name}`;
      const text = await Deno.readTextFile(`${dir}/manifest.json`);
      return validateManifest(
        JSON.parse(text),
        `labs/${entry.name}/manifest.json`,
        dir,
        entry.name,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return await loadManifest(lab);
}

/**
 * Runs a lab's role (from its manifest) with exactly the manifest's permission flags.
 *
 * @example
 * ```ts
 * import { spawnRole } from "@lib/testing/mod.ts";
 *
 * await using agent = await spawnRole("01", "monitor_agent", ["--bind", "tcp://127.0.0.1:*"]);
 * const { endpoint } = await agent.event("listening");
 * ```
 */
export async function spawnRole(
  lab: string,
  role: string,
  args: string[] = [],
  options: SpawnOptions = {},
): Promise<RoleProcess> {
  const manifest = await loadLab(lab);
  const found = findRole(manifest, role);
  return spawnScript(`${manifest.dir}/${found.entry}`, found.permissions, args, {
    name: found.name,
    ...options,
  });
}

/** What {@link runOnce} returns. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  /** All of stdout (lines joined with "\n"). */
  stdout: string;
  stdoutLines: string[];
  /** stderr lines that were not JSON events. */
  stderr: string;
  events: RoleEvent[];
}

async function collect(proc: RoleProcess, timeout: number): Promise<RunResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeout);
  });
  try {
    const result = await Promise.race([proc.wait(), timedOut]);
    if (result === "timeout") {
      await proc.kill();
      throw new Error(
        `${proc.name} (pid ${proc.pid}): did not exit within ${timeout} ms (killed)\n` +
          `--- last lines of ${proc.name} ---\n${proc.tail()}\n---`,
      );
    }
    return {
      code: result.code,
      signal: result.signal,
      stdout: proc.stdoutLines.join("\n"),
      stdoutLines: proc.stdoutLines,
      stderr: proc.rawStderr.join("\n"),
      events: proc.events,
    };
  } finally {
    clearTimeout(timer);
    await proc[Symbol.asyncDispose]();
  }
}

/**
 * Runs a role that exits by itself (a CLI) and returns its exit code and output; kills it
 * and throws if it runs longer than `timeout` (default 30000 ms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runOnce } from "@lib/testing/mod.ts";
 *
 * const { code, stdout } = await runOnce("05", "archival_worker", ["verify", "audit.log"]);
 * assert.equal(code, 0, stdout);
 * ```
 */
export async function runOnce(
  lab: string,
  role: string,
  args: string[] = [],
  options: SpawnOptions & WaitOptions = {},
): Promise<RunResult> {
  const proc = await spawnRole(lab, role, args, options);
  return await collect(proc, options.timeout ?? 30_000);
}

/**
 * {@link runOnce} for a script path with explicit permissions.
 *
 * @example
 * ```ts
 * import { runScriptOnce } from "@lib/testing/mod.ts";
 *
 * const { code, stderr } = await runScriptOnce("tool.ts", ["env"], ["--bad"]);
 * console.log(code, stderr);
 * ```
 */
export async function runScriptOnce(
  path: string,
  permissions: string[],
  args: string[] = [],
  options: SpawnOptions & WaitOptions = {},
): Promise<RunResult> {
  return await collect(spawnScript(path, permissions, args, options), options.timeout ?? 30_000);
}
