import assert from "node:assert/strict";
import { runScriptOnce, spawnScript } from "@lib/testing/mod.ts";
import { VERSION } from "./version.ts";

const ECHO = new URL("./testdata/echo_role.ts", import.meta.url).pathname;
const PERMS = ["env"];

Deno.test("runtime: --help lists every option with its env var and default, exits 0", async () => {
  const { code, stdout } = await runScriptOnce(ECHO, PERMS, ["--help"]);
  assert.equal(code, 0);
  const flat = stdout.replace(/\s+/g, " ");
  for (
    const text of [
      "Usage: echo_role",
      'default: "info", env: LOG_LEVEL',
      'default: "auto", env: LOG_FORMAT',
      "default: 5000, env: SHUTDOWN_TIMEOUT",
      "--interval <duration>",
      "default: 1000, env: ECHO_ROLE_INTERVAL",
      "env: ECHO_ROLE_API_KEY",
      "default: false, env: ECHO_ROLE_HANG_CLEANUP",
      "sum [options] <numbers...>",
    ]
  ) assert.ok(flat.includes(text), `--help lacks ${text}:\n${stdout}`);
  const sub = await runScriptOnce(ECHO, PERMS, ["sum", "--help"]);
  assert.equal(sub.code, 0);
  assert.ok(sub.stdout.replace(/\s+/g, " ").includes("default: 1, env: ECHO_ROLE_SCALE"));
});

Deno.test("runtime: bad configuration is one line on stderr and exit 2", async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ["--interval", "x"],
      {},
      /^echo_role: error: option '--interval <duration>' argument 'x' is invalid\. expected a duration .*, got "x"$/,
    ],
    [
      ["--bind", "tcp://nope"],
      {},
      /^echo_role: error: .*expected an endpoint .*, got "tcp:\/\/nope"$/,
    ],
    [["--bogus"], {}, /^echo_role: error: unknown option '--bogus'$/],
    [["--interval"], {}, /^echo_role: error: option '--interval <duration>' argument missing$/],
    [["--min", "20"], {}, /^echo_role: error: expected --min <= --max, got 20 > 10$/],
    [
      [],
      { ECHO_ROLE_MAX: "abc" },
      /^echo_role: error: .*from env 'ECHO_ROLE_MAX' is invalid\. expected an integer, got "abc"$/,
    ],
    [
      ["--log-level", "loud"],
      {},
      /^echo_role: error: .*expected one of debug\|info\|warn\|error\|fatal, got "loud"$/,
    ],
    [["sum"], {}, /^echo_role: error: missing required argument 'numbers'$/],
    [["foo"], {}, /^echo_role: error: too many arguments\. Expected 0 arguments but got 1: foo\.$/],
    [["--upperr"], {}, /^echo_role: error: unknown option '--upperr' \(Did you mean --upper\?\)$/],
  ];
  await Promise.all(cases.map(async ([args, env, pattern]) => {
    const result = await runScriptOnce(ECHO, PERMS, args, { env });
    assert.equal(result.code, 2, `${args.join(" ")}: code ${result.code}`);
    assert.equal(result.events.length, 0, `${args.join(" ")}: no events expected`);
    assert.equal(result.stdout, "");
    const lines = result.stderr.split("\n");
    assert.equal(lines.length, 1, `one line expected, got:\n${result.stderr}`);
    assert.match(lines[0], pattern);
  }));
});

Deno.test("runtime: env fallbacks work and the command line wins", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--interval", "20ms"], {
    env: { ECHO_ROLE_TAGS: "a,b", ECHO_ROLE_INTERVAL: "5s", LOG_LEVEL: "debug" },
  });
  const ready = await proc.event("ready");
  assert.deepEqual(ready.tags, ["a", "b"]);
  assert.equal(ready.interval, 20);
  await proc.event("tick", (e) => e.n === 2); // debug level from LOG_LEVEL, 20 ms ticks
  await proc.stop();
  const flags = async (value: string) => {
    const result = await runScriptOnce(ECHO, PERMS, ["--exit-after", "0"], {
      env: { ECHO_ROLE_UPPER: value },
    });
    return (result.events[0].options as Record<string, unknown>).upper;
  };
  assert.deepEqual(
    await Promise.all(["1", "true", "yes", "0", "false", "OFF"].map(flags)),
    [true, true, true, false, false, false],
  );
});

Deno.test("runtime: SIGTERM stops cleanly: stopping, cleanups LIFO, hooks, stopped, exit 0", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--api-key", "s3cr3t-value"], { stdin: "piped" });
  await proc.event("ready");
  await proc.writeStdin("hello\n");
  assert.equal(await proc.stdoutLine("hello"), "hello");
  await proc.stop();
  const names = proc.events.map((e) => e.event);
  assert.deepEqual(names.filter((n) => n !== "echoed" && n !== "stopped_resolved"), [
    "started",
    "listening",
    "ready",
    "stopping",
    "cleanup_ran",
    "cleanup_ran",
    "hook_ran",
    "stopped",
  ]);
  assert.deepEqual(proc.events.filter((e) => e.event === "cleanup_ran").map((e) => e.order), [
    2,
    1,
  ]);
  assert.equal((await proc.event("stopping")).signal, "SIGTERM");
  const started = await proc.event("started");
  assert.equal((started.options as Record<string, unknown>).apiKey, "***");
  assert.ok(!proc.tail().includes("s3cr3t-value"), "the secret must not be logged");
});

Deno.test("runtime: ctx.stopped resolves on SIGTERM; ctx.every ticks until run returns", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--interval", "20ms"], {
    stdin: "piped",
    env: { LOG_LEVEL: "debug" },
  });
  await proc.event("tick", (e) => Number(e.n) >= 3);
  await proc.stop();
  const names = proc.events.map((e) => e.event);
  const stopping = names.indexOf("stopping");
  assert.ok(names.indexOf("stopped_resolved") > stopping, names.join(","));
  const firstCleanup = names.indexOf("cleanup_ran");
  assert.ok(firstCleanup > stopping, names.join(","));
  assert.equal(
    names.slice(firstCleanup).filter((n) => n === "tick").length,
    0,
    "no tick after run",
  );
});

Deno.test("runtime: SIGINT works like SIGTERM; stdin echo goes to stdout", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--upper"], { stdin: "piped" });
  await proc.event("ready");
  await proc.writeStdin("abc\ndef\n");
  await proc.stdoutLine("DEF");
  assert.deepEqual(proc.stdoutLines, ["ABC", "DEF"]);
  proc.signal("SIGINT");
  assert.equal((await proc.wait()).code, 0);
  assert.equal((await proc.event("stopping")).signal, "SIGINT");
  await proc.event("stopped");
});

Deno.test("runtime: a second signal within 1 s is an echo; a third forces exit 130 at once", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--hang-cleanup", "--shutdown-timeout", "60000"], {
    env: { LOG_LEVEL: "debug" },
  });
  await proc.event("ready");
  proc.signal("SIGTERM");
  proc.signal("SIGINT");
  await proc.event("cleanup_hanging");
  await proc.event("stop_request_ignored");
  assert.equal(proc.eventCount("forced_exit"), 0);
  const t0 = performance.now();
  proc.signal("SIGTERM");
  const { code } = await proc.wait();
  assert.equal(code, 130);
  assert.ok(performance.now() - t0 < 5000, "exit 130 must not wait for the shutdown deadline");
  assert.equal(proc.eventCount("stopped"), 0);
  assert.equal(proc.eventCount("forced_exit"), 1);
});

Deno.test("runtime: a second signal more than 1 s after the first forces exit 130", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--hang-cleanup", "--shutdown-timeout", "60000"]);
  await proc.event("ready");
  proc.signal("SIGINT");
  await proc.event("cleanup_hanging");
  // The rule under test is about time: a person's second Ctrl+C comes later than 1 s.
  await new Promise((resolve) => setTimeout(resolve, 1300));
  proc.signal("SIGINT");
  const { code } = await proc.wait();
  assert.equal(code, 130);
  assert.equal((await proc.event("forced_exit")).signal, "SIGINT");
});

Deno.test("runtime: a hanging shutdown ends at --shutdown-timeout with exit 1", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--hang-cleanup", "--shutdown-timeout", "300"]);
  await proc.event("ready");
  proc.signal("SIGTERM");
  const { code } = await proc.wait();
  assert.equal(code, 1);
  assert.equal((await proc.event("shutdown_timeout")).timeout_ms, 300);
  assert.equal(proc.eventCount("stopped"), 0);
});

Deno.test("runtime: an error thrown by run: one line, fatal without stack, exit 1", async () => {
  const result = await runScriptOnce(ECHO, PERMS, ["--fail-after", "0"]);
  assert.equal(result.code, 1);
  const fatal = result.events.find((e) => e.event === "fatal");
  assert.ok(fatal, `no fatal event: ${JSON.stringify(result.events)}`);
  assert.equal(fatal.level, "fatal");
  assert.equal(fatal.error, "boom from run");
  assert.equal(fatal.stack, undefined, "no stack unless --log-level debug");
  assert.equal(result.stderr, "echo_role: boom from run");
  assert.ok(result.events.some((e) => e.event === "hook_ran"), "shutdown hooks are tried");
  const debug = await runScriptOnce(ECHO, PERMS, ["--fail-after", "0", "--log-level", "debug"]);
  assert.equal(debug.code, 1);
  assert.match(String(debug.events.find((e) => e.event === "fatal")?.stack), /echo_role\.ts/);
});

Deno.test("runtime: an unhandled rejection anywhere logs fatal and exits 1", async () => {
  const result = await runScriptOnce(ECHO, PERMS, ["--reject-after", "10"]);
  assert.equal(result.code, 1);
  assert.equal(result.events.find((e) => e.event === "fatal")?.error, "stray rejection");
  const thrown = await runScriptOnce(ECHO, PERMS, ["--throw-after", "10"]);
  assert.equal(thrown.code, 1);
  assert.equal(thrown.events.find((e) => e.event === "fatal")?.error, "thrown in a timer");
});

Deno.test("runtime: run returning by itself exits 0; subcommands get their arguments", async () => {
  const done = await runScriptOnce(ECHO, PERMS, ["--exit-after", "0"]);
  assert.equal(done.code, 0);
  assert.deepEqual(done.events.map((e) => e.event).slice(-2), ["hook_ran", "stopped"]);
  assert.equal(done.events.some((e) => e.event === "stopping"), false);
  const failed = await runScriptOnce(ECHO, PERMS, ["--exit-after", "0", "--exit-code", "3"]);
  assert.equal(failed.code, 3, "ctx.exitCode is the exit code after a clean shutdown");
  assert.equal(failed.events.at(-1)?.exit_code, 3);
  assert.ok(failed.events.some((e) => e.event === "cleanup_ran"));
  const sum = await runScriptOnce(ECHO, PERMS, ["sum", "1", "2", "3", "--scale", "2"]);
  assert.equal(sum.code, 0);
  assert.equal(sum.stdout, "sum=12");
  assert.equal(sum.events[0].command, "sum");
});

Deno.test("runtime: JSON lines carry ts, level, role, pid, event and flat fields", async () => {
  const result = await runScriptOnce(ECHO, PERMS, ["--exit-after", "0", "--tags", "x"]);
  assert.equal(result.stderr, "", "every stderr line is JSON");
  const ready = result.events.find((e) => e.event === "ready")!;
  assert.deepEqual(Object.keys(ready).slice(0, 5), ["ts", "level", "role", "pid", "event"]);
  assert.equal(ready.level, "info");
  assert.equal(ready.role, "echo_role");
  assert.equal(new Date(ready.ts).toISOString(), ready.ts);
  assert.deepEqual(ready.tags, ["x"]);
  const listening = result.events.find((e) => e.event === "listening")!;
  assert.equal(listening.endpoint, "tcp://127.0.0.1:40000");
  assert.ok(result.events.every((e) => e.pid === ready.pid && typeof e.pid === "number"));
});

Deno.test("runtime: --log-format pretty writes readable lines", async () => {
  const result = await runScriptOnce(ECHO, PERMS, [
    "--exit-after",
    "0",
    "--log-format",
    "pretty",
    "--tags",
    "a b",
  ]);
  assert.equal(result.code, 0);
  assert.equal(result.events.length, 0);
  const lines = result.stderr.split("\n");
  assert.match(
    lines[0],
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}echo_role started version=\d+\.\d+\.\d+ options=\{/,
  );
  assert.ok(
    lines.some((l) => / INFO {2}echo_role ready tags=\["a b"\] interval=1000$/.test(l)),
    result.stderr,
  );
  assert.ok(!result.stderr.includes("\x1b["), "no colours when stderr is not a terminal");
});

const SERVE = new URL("./testdata/serve_role.ts", import.meta.url).pathname;
const OPTIONS = new URL("./testdata/options_role.ts", import.meta.url).pathname;
const ROOT_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("runtime: --version prints the role and the project version; started logs it", async () => {
  const { code, stdout } = await runScriptOnce(ECHO, PERMS, ["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `echo_role ${VERSION}`);
  const run = await runScriptOnce(ECHO, PERMS, ["--exit-after", "0"]);
  assert.equal(run.events[0].version, VERSION);
});

Deno.test("runtime: a leading -- (from `deno task x -- ...`) is ignored", async () => {
  const top = await runScriptOnce(ECHO, PERMS, ["--", "--exit-after", "0", "--tags", "x"]);
  assert.equal(top.code, 0, top.stderr);
  assert.deepEqual(top.events.find((e) => e.event === "ready")?.tags, ["x"]);
  const sub = await runScriptOnce(ECHO, PERMS, ["--", "sum", "1", "2"]);
  assert.equal(sub.code, 0, sub.stderr);
  assert.equal(sub.stdout, "sum=3");
});

Deno.test("runtime: ctx.serve logs handler errors and bad messages once per window, keeps serving", async () => {
  await using proc = spawnScript(SERVE, PERMS, [], { stdin: "piped" });
  await proc.event("ready");
  let burst = "";
  for (let i = 0; i < 30; i++) burst += `bad seq: expected int, got "x${i}"\nboom\n`;
  await proc.writeStdin(burst + "hello\n");
  await proc.event("handled", (e) => e.line === "hello");
  assert.equal(proc.eventCount("bad_message"), 1);
  assert.equal(proc.eventCount("handler_error"), 1);
  const first = await proc.event("bad_message");
  assert.deepEqual([first.level, first.reason, first.socket], [
    "warn",
    'seq: expected int, got "x0"',
    "stdin",
  ]);
  const error = await proc.event("handler_error");
  assert.deepEqual([error.level, error.error, error.socket], ["error", "handler blew up", "stdin"]);
  // The next line of the kind after the 5 s window carries the count of the dropped ones.
  const feeder = setInterval(() => void proc.writeStdin('bad seq: expected int, got "y"\n'), 250);
  try {
    const second = await proc.event("bad_message", (e) => e.suppressed !== undefined, {
      timeout: 15_000,
    });
    assert.ok(Number(second.suppressed) >= 29, `suppressed ${second.suppressed}`);
  } finally {
    clearInterval(feeder);
  }
  await proc.stop();
  assert.equal((await proc.event("serve_returned")).stopping, true);
});

Deno.test("runtime: ctx.serve: a source error is socket_error once, one line, exit 1", async () => {
  const result = await runScriptOnce(SERVE, PERMS, [], { stdin: "one\nsockerr\n" });
  assert.equal(result.code, 1);
  const names = result.events.map((e) => e.event);
  assert.equal(names.filter((n) => n === "socket_error").length, 1);
  assert.equal(names.filter((n) => n === "fatal").length, 1);
  assert.ok(names.indexOf("socket_error") < names.indexOf("fatal"));
  assert.equal(result.stderr, "serve_role: the source broke");
});

Deno.test("runtime: ctx.serve with untilClosed serves after the stop until the source ends", async () => {
  await using proc = spawnScript(SERVE, PERMS, ["--until-closed"], { stdin: "piped" });
  await proc.event("ready");
  proc.signal("SIGTERM");
  await proc.event("stopping");
  await proc.writeStdin("after-stop\n");
  await proc.event("handled", (e) => e.line === "after-stop");
  assert.equal(proc.eventCount("serve_returned"), 0);
  await proc.closeStdin();
  assert.equal((await proc.wait()).code, 0);
  await proc.event("serve_returned");
  await proc.event("stopped");
});

Deno.test("runtime: ctx.drain: the budget aborts the drain, drain_timeout, still exit 0", async () => {
  await using proc = spawnScript(SERVE, PERMS, [
    "--drain-ms",
    "60000",
    "--shutdown-timeout",
    "2000",
  ], {
    stdin: "piped",
  });
  await proc.event("ready");
  const t0 = performance.now();
  await proc.stop({ timeout: 10_000 });
  const elapsed = performance.now() - t0;
  const timeout = await proc.event("drain_timeout");
  assert.equal(timeout.what, "stdin");
  // 2000 - min(1000, 2000/4) = 1500, less the ms between the stop and the drain.
  assert.ok(
    Number(timeout.budget_ms) <= 1500 && Number(timeout.budget_ms) >= 500,
    String(timeout.budget_ms),
  );
  await proc.event("drain_aborted");
  assert.equal((await proc.event("drained")).ok, false);
  await proc.event("stopped");
  assert.ok(elapsed < 2000 + 5000, `exit within the shutdown timeout (took ${elapsed} ms)`);
  const quick = spawnScript(SERVE, PERMS, ["--drain-ms", "20"], { stdin: "piped" });
  await using _ = quick;
  await quick.event("ready");
  await quick.stop();
  const drained = await quick.event("drained");
  assert.equal(drained.ok, true);
  assert.ok(Number(drained.budget_ms) > 3000 && Number(drained.budget_ms) <= 4000);
  assert.equal(quick.eventCount("drain_timeout"), 0);
});

Deno.test("runtime: ROLE_STOP_ON_STDIN_EOF=1: end of stdin is a graceful stop", async () => {
  await using proc = spawnScript(SERVE, PERMS, ["--idle"], {
    stdin: "piped",
    env: { ROLE_STOP_ON_STDIN_EOF: "1" },
  });
  await proc.event("ready");
  await proc.writeStdin("ignored input\n");
  await proc.closeStdin();
  assert.equal((await proc.wait()).code, 0);
  assert.equal((await proc.event("stopping")).signal, "stdin_eof");
  await proc.event("stopped");
  // Without the variable, end of stdin means nothing: the stop comes from SIGTERM.
  await using plain = spawnScript(SERVE, PERMS, ["--idle"], { stdin: "piped" });
  await plain.event("ready");
  await plain.closeStdin();
  await plain.stop();
  assert.equal((await plain.event("stopping")).signal, "SIGTERM");
});

function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "runtime: one Ctrl+C under a terminal through `deno task` stops gracefully (exit 0)",
  ignore: Deno.build.os !== "linux" || !hasScript(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "role-pty-" });
    try {
      const task = `deno run --quiet --no-prompt --config ${ROOT_CONFIG} --allow-env ${ECHO} ` +
        // A slow cleanup keeps the role alive while deno task's forwarded SIGINT arrives.
        `--interval 60000 --slow-cleanup 700`;
      await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks: { role: task } }));
      // `script` runs deno task in a new pseudo-terminal: \x03 written to it is a real
      // Ctrl+C, which the terminal sends to the whole foreground process group.
      const child = new Deno.Command("script", {
        args: ["-qfec", `${Deno.execPath()} task --config ${dir}/deno.json role`, "/dev/null"],
        cwd: dir,
        env: { LOG_FORMAT: "json", LOG_LEVEL: "debug", NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      let output = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const read = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          output += value;
        }
      })();
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      try {
        for (let i = 0; i < 300 && !output.includes('"event":"ready"'); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.ok(output.includes('"event":"ready"'), `the role did not start:\n${output}`);
        await writer.write(new Uint8Array([3])); // Ctrl+C
        await writer.close();
        const status = await child.status;
        await read;
        // The terminal echoes ^C in front of the next line.
        const records = output.split(/\r?\n/).map((l) => l.slice(Math.max(0, l.indexOf("{"))))
          .filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        const events = records.map((r) => r.event);
        // The role's own exit code: `stopped` carries `exit_code` only when it is not 0.
        const stopped = records.find((r) => r.event === "stopped");
        assert.equal(stopped?.exit_code, undefined, output);
        // deno task itself reports 130 when its own SIGINT wins the race with the child's
        // exit (measured in CI under load); the role still stopped cleanly with 0.
        assert.ok(
          status.code === 0 || status.code === 130,
          `deno task exit ${status.code}\n${output}`,
        );
        assert.ok(events.includes("stopping"), output);
        assert.ok(events.indexOf("stopped") > events.indexOf("stopping"), output);
        assert.ok(!events.includes("forced_exit"), output);
        // Usually both the terminal's SIGINT and the one deno task forwards arrive (then
        // `stop_request_ignored` is logged); two pending SIGINTs may also merge into one.
      } finally {
        clearTimeout(killer);
        await child.stderr.cancel().catch(() => {});
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const ZMQ_PERMS = ["ffi", "env", "read"];

Deno.test("runtime: a port in use is one line `<role>: cannot bind ...`, exit 1, no stack", async () => {
  await using first = spawnScript(OPTIONS, ZMQ_PERMS, ["--bind", "tcp://127.0.0.1:*"]);
  const { endpoint } = await first.event("listening");
  const second = await runScriptOnce(OPTIONS, ZMQ_PERMS, ["--bind", String(endpoint)]);
  assert.equal(second.code, 1);
  assert.equal(second.stderr, `options_role: cannot bind ${endpoint}: address already in use`);
  const fatal = second.events.find((e) => e.event === "fatal")!;
  assert.equal(fatal.error, `cannot bind ${endpoint}: address already in use`);
  assert.equal(fatal.code, "EADDRINUSE");
  assert.equal(fatal.stack, undefined);
  await first.stop();
});

Deno.test("runtime: Deno errors escaping run are one line in words, exit 1", async () => {
  const missing = await runScriptOnce(OPTIONS, ["env", "read"], ["--open", "/nonexistent/x.log"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    "options_role: cannot open /nonexistent/x.log: no such file or directory",
  );
  const denied = await runScriptOnce(OPTIONS, ["env"], ["--open", "/etc/hostname"]);
  assert.equal(denied.code, 1);
  assert.equal(
    denied.stderr,
    `options_role: not permitted: read access to /etc/hostname (not among this role's Deno permissions)`,
  );
  const bug = await runScriptOnce(OPTIONS, ["env"], ["--throw-type"]);
  assert.equal(bug.code, 1);
  assert.equal(bug.stderr.split("\n").length, 1);
  assert.equal(bug.events.find((e) => e.event === "fatal")?.stack, undefined);
});

Deno.test("runtime: path, size and key options are checked before anything runs (exit 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "options-role-" });
  try {
    const perms = ["env", "read", `write=${dir}`];
    const cases: [string[], Record<string, string>, string][] = [
      [
        ["--out-dir", "/etc/passwd/sub"],
        {},
        `option '--out-dir <dir>' argument '/etc/passwd/sub' is invalid. expected a writable directory, got "/etc/passwd/sub" (not a directory)`,
      ],
      [
        ["--out-dir", "/usr"],
        {},
        `option '--out-dir <dir>' argument '/usr' is invalid. expected a writable directory, got "/usr" (this role may not write there)`,
      ],
      [
        ["--acks-out", "/nonexistent/dir/a.ndjson"],
        {},
        `option '--acks-out <file>' argument '/nonexistent/dir/a.ndjson' is invalid. expected a writable file, got "/nonexistent/dir/a.ndjson" (its directory does not exist)`,
      ],
      [
        ["--input", "/nonexistent/file.log"],
        {},
        `option '--input <file>' argument '/nonexistent/file.log' is invalid. expected a readable file, got "/nonexistent/file.log" (does not exist)`,
      ],
      [
        ["--in-dir", "/etc/hostname"],
        {},
        `option '--in-dir <dir>' argument '/etc/hostname' is invalid. expected a readable directory, got "/etc/hostname" (not a directory)`,
      ],
      [
        ["--max-size", "lots"],
        {},
        `option '--max-size <size>' argument 'lots' is invalid. expected a byte size like 512, 64KiB or 1MB, got "lots"`,
      ],
      [
        ["--server-key", "my-secret-key"],
        {},
        "option '--server-key <z85>' argument is invalid. expected a 40-character Z85 CURVE key, got 13 characters",
      ],
      [
        [],
        { OPTIONS_ROLE_SERVER_KEY: "my-secret-key" },
        "option '--server-key <z85>' value from env 'OPTIONS_ROLE_SERVER_KEY' is invalid. expected a 40-character Z85 CURVE key, got 13 characters",
      ],
    ];
    await Promise.all(cases.map(async ([args, env, want]) => {
      const result = await runScriptOnce(OPTIONS, perms, args, { env });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.events.length, 0, "nothing runs: not even `started`");
      assert.equal(result.stderr, `options_role: error: ${want}`);
      assert.ok(!result.stderr.includes("my-secret-key"));
      assert.ok(!result.stderr.includes("--allow"));
    }));
    const ok = await runScriptOnce(OPTIONS, perms, [
      "--out-dir",
      `${dir}/new`,
      "--max-size",
      "64KiB",
      "--peer",
      "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
      "--peer",
      "tcp://127.0.0.1:3",
    ], { env: { OPTIONS_ROLE_TAG: "a,b" } });
    assert.equal(ok.code, 0, ok.stderr);
    const parsed = ok.events.find((e) => e.event === "parsed")!;
    assert.deepEqual(
      [parsed.max_size, parsed.peer, parsed.tag, parsed.rack],
      [65536, ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"], ["a", "b"], [
        "A",
        "B",
      ]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runtime: --help shows repeatable options with one honest default", async () => {
  const { code, stdout } = await runScriptOnce(OPTIONS, ["env"], ["--help"]);
  assert.equal(code, 0);
  const flat = stdout.replace(/\s+/g, " ");
  for (
    const text of [
      "peer to connect to; repeatable or comma-separated (default: tcp://127.0.0.1:5501 if no --bind, env: OPTIONS_ROLE_PEER)",
      "a tag; repeatable or comma-separated (env: OPTIONS_ROLE_TAG)",
      "racks shown; repeatable or comma-separated (default: A,B, env: OPTIONS_ROLE_RACK)",
      "--version print the role and version",
    ]
  ) assert.ok(flat.includes(text), `--help lacks ${text}:\n${stdout}`);
  assert.ok(!flat.includes("default: []"), stdout);
});

Deno.test("runtime: log lines round durations and cap big fields", async () => {
  await using proc = spawnScript(SERVE, PERMS, ["--big-fields", "--idle"]);
  const big = await proc.event("big");
  assert.equal(big.silent_ms, 3009.8);
  assert.equal(big.took_s, 1.235);
  assert.equal(big.ratio, 0.123456789);
  assert.equal((big.frames as unknown[]).length, 17);
  assert.equal((big.frames as unknown[])[16], "… +985 more");
  assert.equal(big.text, "x".repeat(512) + "… +1488 chars");
  assert.equal(big.raw, "ab".repeat(64) + "… +936 bytes");
  assert.deepEqual(big.nested, { rtt_ms: [1.3, 2.3] });
  await proc.stop();
});
