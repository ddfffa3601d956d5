// Docs that must work when pasted: every `deno task ...` command in README.md and in each
// labs/*/SUMMARY.md (code blocks and inline code) is run in a form that ends quickly (see
// planFor: `--help` and the command as written up to its `started` event for a role,
// `--duration 3s` for a demo, `--dry-run`/`--list`/`--check`/`--no-run` for the tooling).
// A failure names the file, the line and the command.
import assert from "node:assert/strict";
import { REPO_ROOT } from "@lib/tooling/manifest.ts";
import { extractCommands, planFor, shellWords } from "./docs_commands.ts";
import type { DocCommand } from "./docs_commands.ts";

const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks;

interface Outcome {
  code: number | "timeout";
  output: string;
}

/**
 * Runs `deno task <task> <args>`; with `until`, stops the process (SIGKILL) as soon as an
 * output line matches and reports code 0 for it.
 */
async function runTask(
  command: DocCommand,
  args: string[],
  { timeoutMs = 120_000, until }: { timeoutMs?: number; until?: RegExp } = {},
): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", command.task, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", LOG_FORMAT: "json", ...command.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let matched = false;
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (until && !matched && until.test(output)) {
        matched = true;
        killGroup(child);
      }
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutMs);
  const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  clearTimeout(timer);
  if (matched) return { code: 0, output };
  return { code: timedOut ? "timeout" : status.code, output };
}

/** deno task runs the command as its child: end both. */
function killGroup(child: Deno.ChildProcess) {
  for (const pid of descendants(child.pid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // gone
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
    for (const c of children.split(/\s+/).filter(Boolean).map(Number)) {
      out.push(c, ...descendants(c));
    }
  } catch {
    // no /proc
  }
  return out;
}

const tail = (text: string) => text.trim().split("\n").slice(-8).join("\n");

/** Checks one command; returns why it failed, or undefined. */
async function check(command: DocCommand): Promise<string | undefined> {
  const plan = planFor(command, tasks);
  if (plan.kind === "skip") return undefined;
  if (plan.kind === "run") {
    const result = await runTask(command, plan.args);
    if (result.code !== 0) {
      return `exit ${result.code} (run as: deno task ${command.task} ${plan.args.join(" ")})\n${
        tail(result.output)
      }`;
    }
    return undefined;
  }
  // As written: a usage error exits 2 before `started`; reaching `started` proves the task
  // and its arguments. Anything else (a busy port, no server to talk to) is the
  // environment's, not the docs': then the role must at least answer --help.
  const real = await runTask(command, plan.args, {
    timeoutMs: 20_000,
    until: /"event":"(started|listening)"/,
  });
  if (real.code === 2) return `refused as written: exit 2\n${tail(real.output)}`;
  if (real.code === 0) return undefined;
  const help = await runTask(command, [...plan.args, "--help"], { timeoutMs: 60_000 });
  if (help.code !== 0) return `--help: exit ${help.code}\n${tail(help.output)}`;
  return undefined;
}

/** One check per distinct command across all documents (README and SUMMARYs repeat some). */
const checked = new Map<string, Promise<string | undefined>>();
function checkOnce(command: DocCommand): Promise<string | undefined> {
  const key = JSON.stringify([command.env, command.task, command.args]);
  let result = checked.get(key);
  if (!result) {
    result = lock.run(/^lab\d\d$/.test(command.task), () => check(command));
    checked.set(key, result);
  }
  return result;
}

Deno.test("shellWords and the command extraction", () => {
  assert.deepEqual(shellWords(`a 'b c' "d e" f\\g`), ["a", "b c", "d e", "f\\g"]);
  const md = [
    "Run `deno task lab01 --duration 30s` or:",
    "```sh",
    "LOG_LEVEL=debug deno task lab03:cli -- --json mem   # one JSON line",
    "deno task lab05:worker verify \\",
    "  dist/x.log",
    "deno task build [NN]",
    "```",
  ].join("\n");
  const found = extractCommands("X.md", md);
  assert.deepEqual(
    found.map((c) => [c.line, c.task, c.args, c.env]),
    [
      [1, "lab01", ["--duration", "30s"], {}],
      [3, "lab03:cli", ["--", "--json", "mem"], { LOG_LEVEL: "debug" }],
      [4, "lab05:worker", ["verify", "dist/x.log"], {}],
      [6, "build", ["[NN]"], {}],
    ],
  );
  assert.deepEqual(planFor(found[0], tasks), {
    kind: "run",
    args: ["--duration", "3s"],
    why: "the demo, for 3 s",
  });
  assert.equal(planFor(found[1], tasks).kind, "role");
  assert.equal(planFor(found[3], tasks).kind, "skip");
});

const documents = [
  "README.md",
  ...[...Deno.readDirSync(`${REPO_ROOT}/labs`)]
    .filter((e) => e.isDirectory && /^\d\d-/.test(e.name))
    .map((e) => `labs/${e.name}/SUMMARY.md`)
    .filter((path) => {
      try {
        return Deno.statSync(`${REPO_ROOT}/${path}`).isFile;
      } catch {
        return false;
      }
    })
    .sort(),
];

/**
 * Docs are checked three at a time (the whole set is too slow in series). A demo binds the
 * lab's fixed ports, so it runs alone: demos take the lock exclusively, everything else
 * shares it.
 */
class SharedLock {
  #shared = 0;
  #exclusive = false;
  #waiters: (() => void)[] = [];
  async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    while (exclusive ? this.#exclusive || this.#shared > 0 : this.#exclusive) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (exclusive) this.#exclusive = true;
    else this.#shared++;
    try {
      return await fn();
    } finally {
      if (exclusive) this.#exclusive = false;
      else this.#shared--;
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }
}

const lock = new SharedLock();
const CONCURRENCY = Number(Deno.env.get("DOCS_CONCURRENCY") ?? 3);

async function checkDoc(doc: string): Promise<{ lines: string[]; failures: string[] }> {
  const commands = extractCommands(doc, await Deno.readTextFile(`${REPO_ROOT}/${doc}`));
  const seen = new Set<string>();
  const lines: string[] = [];
  const failures: string[] = [];
  for (const command of commands) {
    const key = JSON.stringify([command.env, command.task, command.args]);
    if (seen.has(key)) continue;
    seen.add(key);
    const plan = planFor(command, tasks);
    const why = await checkOnce(command);
    const how = plan.kind === "skip"
      ? `skipped: ${plan.why}`
      : plan.kind === "role"
      ? "as written until started (else --help)"
      : `as: ${plan.args.join(" ")}`;
    lines.push(`${why ? "FAIL" : "ok  "} ${doc}:${command.line} ${command.text}  (${how})`);
    if (why) {
      failures.push(`${doc}:${command.line}: ${command.text}\n  ${why.replaceAll("\n", "\n  ")}`);
    }
  }
  return { lines, failures };
}

let started: Map<string, Promise<{ lines: string[]; failures: string[] }>> | undefined;

/** Starts checking every document (once), CONCURRENCY at a time; one promise per doc. */
function checkAll(): Map<string, Promise<{ lines: string[]; failures: string[] }>> {
  if (started) return started;
  started = new Map();
  const queue = [...documents];
  const gates = new Map<string, (r: Promise<{ lines: string[]; failures: string[] }>) => void>();
  for (const doc of documents) {
    started.set(doc, new Promise((resolve) => gates.set(doc, (r) => r.then(resolve, resolve))));
  }
  const lane = async () => {
    for (let doc = queue.shift(); doc !== undefined; doc = queue.shift()) {
      const result = checkDoc(doc).catch((error) => ({
        lines: [],
        failures: [`${doc}: ${String(error)}`],
      }));
      gates.get(doc)!(result);
      await result;
    }
  };
  for (let i = 0; i < CONCURRENCY; i++) void lane();
  return started;
}

for (const doc of documents) {
  Deno.test({
    name: `every deno task command in ${doc} works when pasted`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const { lines, failures } = await checkAll().get(doc)!;
      for (const line of lines) console.log(line);
      assert.equal(
        failures.length,
        0,
        `${failures.length} command(s) fail:\n${failures.join("\n")}`,
      );
    },
  });
}
