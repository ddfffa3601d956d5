/**
 * `deno task labNN [--duration 30s] [--grace 10s]`: runs a lab's demo topology from its
 * manifest. Every instance is its own process with exactly its role's permission flags and
 * `LOG_FORMAT=pretty`; every output line is prefixed with the role name (plus instance
 * number) in its own colour. Ctrl+C / SIGTERM (or the end of `--duration`) stops every
 * role with SIGTERM and waits, SIGKILLs what is left after the grace period, and exits
 * non-zero if any role failed or exited on its own while the others were still running
 * (a demo process marked `"oneshot": true` in the manifest may finish with exit code 0).
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
  /** Working directory of the roles (default: the repository root). */
  cwd?: string;
  /** Where output lines go (default: stdout). */
  write?: (line: string) => void;
  /** Stops the lab like a signal would (for embedding and tests). */
  signal?: AbortSignal;
}

/** One process of the demo topology. */
export interface DemoInstance {
  label: string;
  role: string;
  args: string[];
  /** Finishing by itself with exit code 0 is expected (see the manifest's `oneshot`). */
  oneshot: boolean;
}

const PALETTE = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94, 31];

/**
 * The demo's processes in start order, labelled `role` or `role#n` when a role runs more
 * than once.
 *
 * @example
 * ```ts
 * demoInstances(lab).map((p) => p.label); // ["dashboard#1", "dashboard#2", "monitor_agent#1", ...]
 * ```
 */
export function demoInstances(lab: LabManifest): DemoInstance[] {
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
        args: d.args,
        oneshot: d.oneshot ?? false,
      });
    }
  }
  return out;
}

interface Running {
  instance: DemoInstance;
  child: Deno.ChildProcess;
  status?: Deno.CommandStatus;
  onItsOwn?: boolean;
  killed?: boolean;
}

/**
 * Runs the lab's demo until a signal, `options.signal` or the duration ends it; resolves
 * with the exit code the runner should use (0 = every role ran and stopped cleanly).
 *
 * @example
 * ```ts
 * const code = await runLab(await loadManifest("01"), { durationMs: 30_000 });
 * ```
 */
export async function runLab(lab: LabManifest, options: RunLabOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => console.log(line));
  const graceMs = options.graceMs ?? 10_000;
  const color = !Deno.noColor;
  const instances = demoInstances(lab);
  const width = Math.max(3, ...instances.map((p) => p.label.length));
  const paint = (i: number, text: string) =>
    color ? `\x1b[${PALETTE[i % PALETTE.length]}m${text}\x1b[0m` : text;
  const say = (text: string) =>
    write(`${color ? "\x1b[1m" : ""}${"lab".padEnd(width)} |${color ? "\x1b[0m" : ""} ${text}`);
  const env = { LOG_FORMAT: Deno.env.get("LOG_FORMAT") ?? "pretty" };

  let stopping = false;
  let failed = false;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const running: Running[] = [];
  let settle!: () => void;
  const allDone = new Promise<void>((resolve) => (settle = resolve));

  const stop = (reason: string, signalChildren = true) => {
    if (stopping) return;
    stopping = true;
    const live = running.filter((r) => !r.status).length;
    say(
      signalChildren
        ? `stopping (${reason}): SIGTERM to ${live} role(s)`
        : `stopping (${reason} from the terminal, which the ${live} role(s) got too): waiting`,
    );
    for (const r of running) {
      if (r.status || !signalChildren) continue;
      try {
        r.child.kill("SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
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
    say(`lab ${lab.id} has no demo processes in its manifest: nothing to run`);
    return 2;
  }
  say(`lab ${lab.id} ${lab.title} (${lab.pattern}): starting ${instances.length} process(es)`);
  const pumps: Promise<void>[] = [];
  instances.forEach((instance, index) => {
    const role = lab.roles.find((r) => r.name === instance.role)!;
    const args = ["run", ...permissionFlags(role), `${lab.dir}/${role.entry}`, ...instance.args];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const r: Running = { instance, child };
    running.push(r);
    const prefix = paint(index, `${instance.label.padEnd(width)} |`);
    const emit = (line: string) => write(`${prefix} ${line}`);
    const output = Promise.all([forEachLine(child.stdout, emit), forEachLine(child.stderr, emit)]);
    pumps.push(
      (async () => {
        const status = await child.status;
        await output;
        r.status = status;
        const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
        if (!stopping && instance.oneshot && status.code === 0) {
          say(`${instance.label} finished (${how})`);
        } else if (!stopping) {
          r.onItsOwn = true;
          failed = true;
          say(`${instance.label} exited on its own (${how}) while the lab was running`);
          stop(`${instance.label} exited`);
        } else {
          say(`${instance.label} exited (${how})`);
        }
        if (status.code !== 0) failed = true;
        if (running.length === instances.length && running.every((x) => x.status)) settle();
      })(),
    );
  });
  if (running.every((x) => x.status)) settle();

  // Signals. A Ctrl+C in a terminal reaches every process of the foreground group, the
  // roles included: sending them SIGTERM on top would count as their second signal (exit
  // 130), so then the runner only waits. A repeat within 1 s is the same keypress relayed
  // by `deno task`; a later one kills everything at once.
  let firstSignalAt = 0;
  const onSignal = (sig: Deno.Signal) => () => {
    const now = Date.now();
    if (!firstSignalAt) {
      firstSignalAt = now;
      const fromTerminal = sig === "SIGINT" && Deno.stdin.isTerminal();
      stop(sig, !fromTerminal);
    } else if (now - firstSignalAt > 1000) {
      say(`second ${sig}: SIGKILL to every role`);
      for (const r of running) if (!r.status) killTree(r.child.pid, "SIGKILL");
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => [sig, onSignal(sig)] as const);
  for (const [sig, handler] of handlers) Deno.addSignalListener(sig, handler);
  const durationTimer = options.durationMs !== undefined
    ? setTimeout(() => stop(`--duration ${options.durationMs} ms elapsed`), options.durationMs)
    : undefined;
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await allDone;
    await Promise.all(pumps);
  } finally {
    clearTimeout(durationTimer);
    clearTimeout(graceTimer);
    options.signal?.removeEventListener("abort", onAbort);
    for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
  }
  const bad = running.filter((r) => r.onItsOwn || r.killed || r.status?.code !== 0);
  if (bad.length > 0 || failed) {
    say(`FAILED: ${bad.map((r) => r.instance.label).join(", ")}`);
    return 1;
  }
  say("all roles stopped cleanly");
  return 0;
}

const USAGE = "usage: deno task labNN [--duration 30s] [--grace 10s]  " +
  "(or: run_lab.ts NN [--labs-dir DIR] ...)";

if (import.meta.main) {
  const { lab, durationMs, graceMs, labsDir } = parseToolArgs("run_lab", USAGE, () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        duration: { type: "string" },
        grace: { type: "string" },
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
      labsDir: values["labs-dir"],
    };
  });
  let manifest: LabManifest;
  try {
    manifest = await loadManifest(lab, labsDir);
    await ensureDeps();
  } catch (error) {
    console.error(`run_lab: error: ${(error as Error).message}`);
    Deno.exit(2);
  }
  Deno.exit(await runLab(manifest!, { durationMs, graceMs }));
}
