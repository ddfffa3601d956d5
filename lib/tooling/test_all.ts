/**
 * `deno task test [PATH...] [--parallel N] [--timeout 15m] [--log FILE] [--verbose]`: runs
 * every test suite (each `lib/<module>`, `tests/`, each lab) as its own
 * `deno test -A <path>` process, N at a time (default 2, env TEST_PARALLEL), each with a
 * time limit (default 15m, env TEST_TIMEOUT). Output goes, prefixed with the suite, to a
 * log (default dist/test.log); a failed suite's last lines are also printed. Ends with a
 * per-suite table and the line `tests: N passed, M failed`; exits 1 if anything failed.
 * A crashed or timed-out suite counts the tests that had not passed as failed (at least 1).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseDuration } from "./duration.ts";
import { forEachLine } from "./lines.ts";
import { REPO_ROOT } from "./manifest.ts";
import { killTree } from "./process_tree.ts";
import { ensureDeps } from "./deps.ts";
import { parseToolArgs } from "./tool_args.ts";

/** The counts of one `deno test` run. */
export interface TestCounts {
  passed: number;
  failed: number;
  /** Whether deno printed its `ok | N passed | M failed` summary. */
  summary: boolean;
}

/** The result of one suite. */
export interface SuiteResult extends TestCounts {
  target: string;
  code: number | null;
  timedOut: boolean;
  ms: number;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const SUMMARY = /^(ok|FAILED) \| (\d+) passed(?: \([^)]*\))? \| (\d+) failed/;

/**
 * Counts passed and failed tests in `deno test` output. Without the final summary (a
 * crash or a kill), tests announced by `running N tests` that did not pass are failed, and
 * an unsuccessful run always has at least one failure.
 *
 * @example
 * ```ts
 * import { parseTestOutput } from "@lib/tooling/test_all.ts";
 *
 * parseTestOutput(["ok | 3 passed | 0 failed (1s)"], true); // { passed: 3, failed: 0, summary: true }
 * ```
 */
export function parseTestOutput(lines: string[], success: boolean): TestCounts {
  let declared = 0;
  let passedLines = 0;
  let failedLines = 0;
  for (const raw of lines) {
    const line = raw.replace(ANSI, "");
    const summary = SUMMARY.exec(line);
    if (summary) {
      const passed = Number(summary[2]);
      const failed = Number(summary[3]);
      return { passed, failed: success ? failed : Math.max(failed, 1), summary: true };
    }
    const running = /^running (\d+) tests? from /.exec(line);
    if (running) declared += Number(running[1]);
    else if (/^\S.* \.\.\. ok( \(|$)/.test(line)) passedLines++;
    else if (/^\S.* \.\.\. FAILED( \(|$)/.test(line)) failedLines++;
  }
  const failed = Math.max(declared - passedLines, failedLines, success ? 0 : 1);
  return { passed: passedLines, failed, summary: false };
}

async function hasTests(dir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /(^|[._])test\.(ts|tsx|js|mjs)$/.test(entry.name)) return true;
      if (entry.isDirectory && entry.name !== "node_modules" && !entry.name.startsWith(".")) {
        if (await hasTests(`${dir}/${entry.name}`)) return true;
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  return false;
}

async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) out.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

/**
 * The suites of the repository at `root`: every `lib/<module>`, `tests`, and every
 * `labs/NN-*` that contains test files, in that order.
 *
 * @example
 * ```ts
 * import { discoverSuites } from "@lib/tooling/test_all.ts";
 *
 * await discoverSuites(); // ["lib/codec", "lib/role", ..., "tests", "labs/01-heartbeat", ...]
 * ```
 */
export async function discoverSuites(root: string = REPO_ROOT): Promise<string[]> {
  const suites: string[] = [];
  for (const name of await subdirs(`${root}/lib`)) {
    if (await hasTests(`${root}/lib/${name}`)) suites.push(`lib/${name}`);
  }
  if (await hasTests(`${root}/tests`)) suites.push("tests");
  for (const name of await subdirs(`${root}/labs`)) {
    if (/^\d\d-/.test(name) && await hasTests(`${root}/labs/${name}`)) suites.push(`labs/${name}`);
  }
  return suites;
}

/** Options of {@linkcode runSuites}. */
export interface RunSuitesOptions {
  root?: string;
  parallel?: number;
  timeoutMs?: number;
  /** Receives every output line, prefixed with its suite. */
  log?: (line: string) => void;
  /** Progress and failure output for people (default: stdout). */
  print?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs each target as `deno test -A <target>`, `parallel` at a time, and returns the
 * results in target order.
 *
 * @example
 * ```ts
 * import { runSuites } from "@lib/tooling/test_all.ts";
 *
 * const results = await runSuites(["lib/zmq", "tests"], { parallel: 2 });
 * ```
 */
export async function runSuites(
  targets: string[],
  options: RunSuitesOptions = {},
): Promise<SuiteResult[]> {
  const root = options.root ?? REPO_ROOT;
  const timeoutMs = options.timeoutMs ?? 900_000;
  const log = options.log ?? (() => {});
  const print = options.print ?? ((line: string) => console.log(line));
  const results: SuiteResult[] = new Array(targets.length);
  let next = 0;
  const running = new Set<Deno.ChildProcess>();
  const onAbort = () => {
    for (const child of running) killTree(child.pid, "SIGKILL");
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const runOne = async (index: number) => {
    const target = targets[index];
    const started = performance.now();
    print(`▶ ${target}`);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", target],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    running.add(child);
    const lines: string[] = [];
    const collect = (line: string) => {
      lines.push(line);
      log(`[${target}] ${line}`);
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      collect(`test_all: time limit of ${timeoutMs} ms reached: killing the run`);
      killTree(child.pid, "SIGKILL");
    }, timeoutMs);
    const output = Promise.all([
      forEachLine(child.stdout, collect),
      forEachLine(child.stderr, collect),
    ]);
    const status = await child.status;
    clearTimeout(timer);
    await output;
    running.delete(child);
    const counts = parseTestOutput(lines, status.success && !timedOut);
    const result: SuiteResult = {
      target,
      code: status.code,
      timedOut,
      ms: Math.round(performance.now() - started),
      ...counts,
    };
    results[index] = result;
    const ok = status.success && !timedOut && result.failed === 0;
    const why = timedOut ? " (timed out)" : !result.summary && !ok ? " (crashed)" : "";
    print(
      `${ok ? "✔" : "✘"} ${target}: ${result.passed} passed, ${result.failed} failed${why} ` +
        `(${(result.ms / 1000).toFixed(1)} s)`,
    );
    if (!ok) {
      for (const line of lines.slice(-40)) print(`  ${target} | ${line}`);
    }
  };

  const worker = async () => {
    while (next < targets.length && !options.signal?.aborted) await runOne(next++);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 2) }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return results.filter(Boolean);
}

/**
 * The per-suite table and the final `tests: N passed, M failed` line.
 *
 * @example
 * ```ts
 * import { formatReport, runSuites } from "@lib/tooling/test_all.ts";
 *
 * const results = await runSuites(["tests"], { parallel: 1 });
 * formatReport(results).at(-1); // "tests: 42 passed, 0 failed"
 * ```
 */
export function formatReport(results: SuiteResult[]): string[] {
  const width = Math.max(5, ...results.map((r) => r.target.length));
  const lines = [
    `${"suite".padEnd(width)}  ${"passed".padStart(6)}  ${"failed".padStart(6)}  ${
      "time".padStart(7)
    }  result`,
  ];
  let passed = 0;
  let failed = 0;
  for (const r of results) {
    passed += r.passed;
    failed += r.failed;
    const result = r.timedOut
      ? "TIMEOUT"
      : r.failed > 0 || r.code !== 0
      ? (r.summary ? "FAILED" : "CRASHED")
      : "ok";
    lines.push(
      `${r.target.padEnd(width)}  ${String(r.passed).padStart(6)}  ${
        String(r.failed).padStart(6)
      }  ${`${(r.ms / 1000).toFixed(1)}s`.padStart(7)}  ${result}`,
    );
  }
  lines.push(`tests: ${passed} passed, ${failed} failed`);
  return lines;
}

const USAGE = "usage: deno task test [PATH...] [--parallel N] [--timeout 15m] [--log FILE] " +
  "[--verbose] [--root DIR]";

if (import.meta.main) {
  const options = parseToolArgs("test_all", USAGE, (args) => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        parallel: { type: "string", default: Deno.env.get("TEST_PARALLEL") ?? "2" },
        timeout: { type: "string", default: Deno.env.get("TEST_TIMEOUT") ?? "15m" },
        log: { type: "string" },
        root: { type: "string", default: REPO_ROOT },
        verbose: { type: "boolean", default: false },
      },
    });
    const parallel = Number(values.parallel);
    if (!Number.isInteger(parallel) || parallel < 1) {
      throw new Error(
        `option '--parallel' expects an integer >= 1, got ${JSON.stringify(values.parallel)}`,
      );
    }
    return {
      targets: positionals.map((target) => target.replace(/\/$/, "")),
      parallel,
      timeoutMs: parseDuration(values.timeout),
      logPath: values.log,
      root: values.root,
      verbose: values.verbose,
    };
  });
  const { targets, parallel, timeoutMs, root, verbose } = options;
  let { logPath } = options;
  for (const target of targets) {
    try {
      await Deno.stat(target.startsWith("/") ? target : `${root}/${target}`);
    } catch {
      console.error(
        `test_all: error: no test suite "${target}": expected a folder or file under ${root}`,
      );
      Deno.exit(2);
    }
  }
  const suites = targets.length > 0 ? targets : await discoverSuites(root);
  try {
    await ensureDeps(root);
  } catch (error) {
    console.error(`test_all: ${(error as Error).message}`);
  }
  logPath ??= `${root}/dist/test.log`;
  await Deno.mkdir(logPath.slice(0, logPath.lastIndexOf("/")) || ".", { recursive: true });
  const logFile = await Deno.open(logPath, { create: true, write: true, truncate: true });
  const encoder = new TextEncoder();
  const log = (line: string) => {
    const bytes = encoder.encode(line + "\n");
    let written = 0;
    while (written < bytes.length) written += logFile.writeSync(bytes.subarray(written));
    if (verbose) console.log(line);
  };
  console.log(
    `test_all: ${suites.length} suite(s), ${parallel} at a time, ` +
      `time limit ${timeoutMs / 1000} s each; full output in ${logPath}`,
  );
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const sig of signals) Deno.addSignalListener(sig, onSignal);
  const results = await runSuites(suites, { root, parallel, timeoutMs, log, signal: abort.signal });
  for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
  logFile.close();
  // Suites never started (interrupted) count as failed.
  for (const target of suites.slice(results.length)) {
    results.push({
      target,
      code: null,
      timedOut: false,
      ms: 0,
      passed: 0,
      failed: 1,
      summary: false,
    });
  }
  console.log("");
  for (const line of formatReport(results)) console.log(line);
  const bad = results.some((r) => r.failed > 0 || r.code !== 0 || r.timedOut);
  Deno.exit(bad ? 1 : 0);
}
