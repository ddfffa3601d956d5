/**
 * `deno task labNN [--duration 30s] [--grace 10s] [--keep]`: runs a lab's demo topology
 * from its manifest. Every instance is its own process with exactly its role's permission
 * flags and `LOG_FORMAT=pretty`; every output line is prefixed with the role name (plus
 * instance number) in its own colour.
 *
 * Each run gets its own temporary directory: `{run_dir}` in a manifest's demo arguments is
 * replaced by it, roles see it as `LAB_RUN_DIR`, the runner prints it and removes it when
 * the lab ends (`--keep` keeps it).
 *
 * Stopping: the runner is the only one that signals the roles. On Linux and macOS every
 * role runs in its own session, so a Ctrl+C in the terminal, `timeout -s INT` or any
 * signal to the process group reaches only the runner (and `deno task`, which relays it
 * once more); the runner then sends each role exactly one signal (the one it got, SIGTERM
 * for `--duration`) and waits. A repeat within 1 s is that relay and is ignored; a later one
 * SIGKILLs every role. On Windows, where killing a child is always immediate, the runner
 * asks a role to stop by closing its stdin (`ROLE_STOP_ON_STDIN_EOF=1` tells the role
 * runtime that end of stdin is a stop request); on every system a role whose runner died
 * reads end of stdin and stops too. What still runs after `--grace` is SIGKILLed.
 *
 * The lab fails (exit 1) when a role exits on its own while the lab runs (a demo process
 * marked `"oneshot": true` may finish with 0), is SIGKILLed, or does not exit 0 after the
 * stop request; `FAILED:` names only the roles that caused it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseDuration } from "./duration.ts";
import { forEachLine } from "./lines.ts";
import {
  type LabManifest,
  LABS_DIR,
  loadManifest,
  permissionFlags,
  REPO_ROOT,
} from "./manifest.ts";
import { killTree } from "./process_tree.ts";
import { ensureDeps } from "./deps.ts";
import { parseToolArgs } from "./tool_args.ts";

/** Options of {@linkcode runLab}. */
export interface RunLabOptions {
  /** Stop the lab after this many ms (default: run until a signal). */
  durationMs?: number;
  /** How long stopping roles get before SIGKILL (default 10 s). */
  graceMs?: number;
  /** Keep the run directory instead of removing it when the lab ends. */
  keepRunDir?: boolean;
  /** Working directory of the roles (default: the repository root). */
  cwd?: string;
  /** Where output lines go (default: stdout). */
  write?: (line: string) => void;
  /** Stops the lab like a signal would (for embedding and tests). */
  signal?: AbortSignal;
  /**
   * How a role is asked to stop: `"signal"` (Linux, macOS) or `"stdin"` (closing its stdin;
   * the default on Windows, where a signal kills at once).
   */
  stopVia?: "signal" | "stdin";
}

/** One process of the demo topology. */
export interface DemoInstance {
  label: string;
  role: string;
  /** The lab whose role this is, when not the lab being run. */
  lab?: string;
  args: string[];
  /** Finishing by itself with exit code 0 is expected (see the manifest's `oneshot`). */
  oneshot: boolean;
}

/** Placeholder in manifest demo arguments for the run's temporary directory. */
export const RUN_DIR_PLACEHOLDER = "{run_dir}";

/**
 * Env variable that tells the role runtime its stdin is the runner's stop channel: end of
 * stdin is a stop request, handled like the first SIGTERM.
 */
export const STOP_ON_STDIN_EOF_ENV = "ROLE_STOP_ON_STDIN_EOF";

const PALETTE = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94, 31];
/** A repeated signal within this many ms is the same keypress relayed (e.g. by deno task). */
const RELAY_WINDOW_MS = 1000;
const WINDOWS = Deno.build.os === "windows";

/**
 * The demo's processes in start order, labelled `role` or `role#n` when a role runs more
 * than once; `{run_dir}` in their arguments is replaced by `runDir` when given.
 *
 * @example
 * ```ts
 * import { loadManifest } from "@lib/tooling/manifest.ts";
 * import { demoInstances } from "@lib/tooling/run_lab.ts";
 *
 * const lab = await loadManifest("01");
 * demoInstances(lab).map((p) => p.label); // ["dashboard#1", "dashboard#2", "monitor_agent#1", ...]
 * ```
 */
export function demoInstances(lab: LabManifest, runDir?: string): DemoInstance[] {
  const total = new Map<string, number>();
  for (const d of lab.demo) total.set(d.role, (total.get(d.role) ?? 0) + (d.instances ?? 1));
  const seen = new Map<string, number>();
  const out: DemoInstance[] = [];
  for (const d of lab.demo) {
    for (let i = 0; i < (d.instances ?? 1); i++) {
      const n = (seen.get(d.role) ?? 0) + 1;
      seen.set(d.role, n);
      out.push({
        label: total.get(d.role)! > 1 ? `${d.role}#${n}` : d.role,
        role: d.role,
        ...(d.lab !== undefined ? { lab: d.lab } : {}),
        args: runDir === undefined
          ? d.args
          : d.args.map((a) => a.replaceAll(RUN_DIR_PLACEHOLDER, runDir)),
        oneshot: d.oneshot ?? false,
      });
    }
  }
  return out;
}

interface Running {
  instance: DemoInstance;
  child: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  status?: Deno.CommandStatus;
  /** Exited while the lab was running (and was not a oneshot finishing with 0). */
  onItsOwn?: boolean;
  /** Was still running when the runner asked every role to stop. */
  askedToStop?: boolean;
  killed?: boolean;
  /** Resolves at the role's first output line: its `started` event, logged once its signal
   * handlers are in place (a signal before that would kill it by the default action). */
  ready: Promise<void>;
}

/**
 * Runs the lab's demo until a signal, `options.signal` or the duration ends it; resolves
 * with the exit code the runner should use (0 = every role ran and stopped cleanly).
 *
 * @example
 * ```ts
 * import { loadManifest } from "@lib/tooling/manifest.ts";
 * import { runLab } from "@lib/tooling/run_lab.ts";
 *
 * const code = await runLab(await loadManifest("01"), { durationMs: 30_000 });
 * Deno.exit(code);
 * ```
 */
export async function runLab(lab: LabManifest, options: RunLabOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => console.log(line));
  const graceMs = options.graceMs ?? 10_000;
  const color = !Deno.noColor;
  const runDir = await Deno.makeTempDir({ prefix: `zmq-labs-lab${lab.id}-` });
  const instances = demoInstances(lab, runDir);
  // Roles borrowed from other labs (loaded from the same labs/ folder as this one).
  const others = new Map<string, LabManifest>();
  for (const id of new Set(instances.flatMap((i) => i.lab === undefined ? [] : [i.lab]))) {
    others.set(id, await loadManifest(id, lab.dir.slice(0, -lab.folder.length - 1)));
  }
  const width = Math.max(3, ...instances.map((p) => p.label.length));
  const paint = (i: number, text: string) =>
    color ? `\x1b[${PALETTE[i % PALETTE.length]}m${text}\x1b[0m` : text;
  const say = (text: string) =>
    write(`${color ? "\x1b[1m" : ""}${"lab".padEnd(width)} |${color ? "\x1b[0m" : ""} ${text}`);
  const env = {
    LOG_FORMAT: Deno.env.get("LOG_FORMAT") ?? "pretty",
    LAB_RUN_DIR: runDir,
    [STOP_ON_STDIN_EOF_ENV]: "1",
  };

  let stopping = false;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const running: Running[] = [];
  let settle!: () => void;
  const allDone = new Promise<void>((resolve) => (settle = resolve));
  const maybeDone = () => {
    if (running.length === instances.length && running.every((x) => x.status)) settle();
  };

  // One stop request per role: a signal where signals are graceful, else end of stdin.
  const stopVia = options.stopVia ?? (WINDOWS ? "stdin" : "signal");
  const askToStop = (r: Running, signal: Deno.Signal) => {
    r.askedToStop = true;
    if (stopVia === "stdin") {
      void r.stdin.close().catch(() => {});
      return;
    }
    const kill = () => {
      try {
        r.child.kill(signal);
      } catch {
        // exited meanwhile
      }
    };
    // A role still starting up (a short --duration on a busy machine) is signalled once it
    // can handle the signal, not killed by it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    void Promise.race([r.ready, new Promise<void>((res) => timer = setTimeout(res, graceMs / 2))])
      .then(() => {
        clearTimeout(timer);
        kill();
      });
  };

  const stop = (reason: string, signal: Deno.Signal = "SIGTERM") => {
    if (stopping) return;
    stopping = true;
    const live = running.filter((r) => !r.status);
    const how = stopVia === "stdin" ? "closing stdin of" : `${signal} to`;
    say(`stopping (${reason}): ${how} ${live.length} role(s)`);
    for (const r of live) askToStop(r, signal);
    graceTimer = setTimeout(() => {
      for (const r of running) {
        if (r.status) continue;
        say(`${r.instance.label} still running after ${graceMs} ms: SIGKILL`);
        r.killed = true;
        killTree(r.child.pid, "SIGKILL");
      }
    }, graceMs);
  };

  if (instances.length === 0) {
    await removeRunDir(runDir);
    say(`lab ${lab.id} has no demo processes in its manifest: nothing to run`);
    return 2;
  }
  say(`lab ${lab.id} ${lab.title} (${lab.pattern}): starting ${instances.length} process(es)`);
  say(
    `run dir ${runDir} (LAB_RUN_DIR; ${
      options.keepRunDir ? "kept after the run" : "removed at the end, --keep keeps it"
    })`,
  );
  const pumps: Promise<void>[] = [];
  const start = () => {
    instances.forEach((instance, index) => {
      const owner = instance.lab === undefined ? lab : others.get(instance.lab)!;
      const role = owner.roles.find((r) => r.name === instance.role)!;
      const args = [
        "run",
        ...permissionFlags(role),
        `${owner.dir}/${role.entry}`,
        ...instance.args,
      ];
      const child = new Deno.Command(Deno.execPath(), {
        args,
        cwd: options.cwd ?? REPO_ROOT,
        env,
        // Own session (Unix): signals meant for the runner's process group do not reach it.
        detached: !WINDOWS,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let markReady!: () => void;
      const ready = new Promise<void>((resolve) => markReady = resolve);
      const r: Running = { instance, child, stdin: child.stdin.getWriter(), ready };
      running.push(r);
      const prefix = paint(index, `${instance.label.padEnd(width)} |`);
      const emit = (line: string) => {
        markReady();
        write(`${prefix} ${line}`);
      };
      const output = Promise.all([
        forEachLine(child.stdout, emit),
        forEachLine(child.stderr, emit),
      ]);
      pumps.push(
        (async () => {
          const status = await child.status;
          await output;
          markReady();
          r.status = status;
          void r.stdin.close().catch(() => {});
          const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
          if (!stopping && instance.oneshot && status.code === 0) {
            say(`${instance.label} finished (${how})`);
          } else if (!stopping) {
            r.onItsOwn = true;
            say(`${instance.label} exited on its own (${how}) while the lab was running`);
            stop(`${instance.label} exited`);
          } else {
            say(`${instance.label} exited (${how})`);
          }
          maybeDone();
        })(),
      );
    });
  };

  let firstSignalAt = 0;
  const onSignal = (sig: Deno.Signal) => () => {
    const now = Date.now();
    if (!firstSignalAt) {
      firstSignalAt = now;
      stop(sig, sig === "SIGBREAK" ? "SIGTERM" : sig);
    } else if (now - firstSignalAt > RELAY_WINDOW_MS) {
      say(`second ${sig}: SIGKILL to every role`);
      for (const r of running) {
        if (r.status) continue;
        r.killed = true;
        killTree(r.child.pid, "SIGKILL");
      }
    }
  };
  const signals: Deno.Signal[] = WINDOWS ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => [sig, onSignal(sig)] as const);
  for (const [sig, handler] of handlers) Deno.addSignalListener(sig, handler);
  const durationTimer = options.durationMs !== undefined
    ? setTimeout(() => stop(`--duration ${options.durationMs} ms elapsed`), options.durationMs)
    : undefined;
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    start();
    maybeDone();
    await allDone;
    await Promise.all(pumps);
  } finally {
    clearTimeout(durationTimer);
    clearTimeout(graceTimer);
    options.signal?.removeEventListener("abort", onAbort);
    for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
    // Never leave a role behind (detached roles would outlive the runner).
    for (const r of running) if (!r.status) killTree(r.child.pid, "SIGKILL");
    await finishRunDir(runDir, options.keepRunDir, say);
  }
  const failed = failedRoles(running);
  if (failed.length > 0) {
    say(`FAILED: ${failed.join(", ")}`);
    return 1;
  }
  say("all roles stopped cleanly");
  return 0;
}

/**
 * The labels to blame: roles that exited on their own or were SIGKILLed; only when there
 * are none, roles that did not exit 0 after the stop request. A role the runner stopped
 * because another one failed is not blamed for that.
 */
function failedRoles(running: Running[]): string[] {
  const causes = running.filter((r) => r.onItsOwn || r.killed);
  if (causes.length > 0) return causes.map((r) => r.instance.label);
  return running
    .filter((r) => r.askedToStop && r.status && r.status.code !== 0)
    .map((r) => `${r.instance.label} (exit ${r.status!.code} after the stop request)`);
}

async function removeRunDir(dir: string): Promise<void> {
  try {
    await Deno.remove(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function finishRunDir(
  dir: string,
  keep: boolean | undefined,
  say: (text: string) => void,
): Promise<void> {
  if (keep) {
    say(`run dir kept: ${dir}`);
    return;
  }
  try {
    await removeRunDir(dir);
  } catch (error) {
    say(`could not remove the run dir ${dir}: ${(error as Error).message}`);
  }
}

const USAGE = "usage: deno task labNN [--duration 30s] [--grace 10s] [--keep]  " +
  "(or: run_lab.ts NN [--labs-dir DIR] [--stop-via signal|stdin] ...)";

function stopViaOption(value: string | undefined): RunLabOptions["stopVia"] {
  if (value === undefined || value === "signal" || value === "stdin") return value;
  throw new Error(`option '--stop-via' expects signal or stdin, got ${JSON.stringify(value)}`);
}

if (import.meta.main) {
  const { lab, durationMs, graceMs, keepRunDir, labsDir, stopVia } = parseToolArgs(
    "run_lab",
    USAGE,
    (args) => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          duration: { type: "string" },
          grace: { type: "string" },
          keep: { type: "boolean", default: false },
          "stop-via": { type: "string" },
          "labs-dir": { type: "string", default: LABS_DIR },
        },
      });
      if (positionals.length !== 1) {
        throw new Error(`expected one lab id, got ${JSON.stringify(positionals)}`);
      }
      return {
        lab: positionals[0],
        durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
        graceMs: values.grace === undefined ? undefined : parseDuration(values.grace),
        keepRunDir: values.keep,
        labsDir: values["labs-dir"],
        stopVia: stopViaOption(values["stop-via"]),
      };
    },
  );
  let manifest: LabManifest;
  try {
    manifest = await loadManifest(lab, labsDir);
    await ensureDeps();
  } catch (error) {
    console.error(`run_lab: error: ${(error as Error).message}`);
    Deno.exit(2);
  }
  Deno.exit(await runLab(manifest!, { durationMs, graceMs, keepRunDir, stopVia }));
}
