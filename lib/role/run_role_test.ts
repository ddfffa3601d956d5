import assert from "node:assert/strict";
import { runScriptOnce, spawnScript } from "@lib/testing/mod.ts";

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

Deno.test("runtime: a second signal while a cleanup hangs exits 130 at once", async () => {
  await using proc = spawnScript(ECHO, PERMS, ["--hang-cleanup", "--shutdown-timeout", "60000"]);
  await proc.event("ready");
  proc.signal("SIGTERM");
  await proc.event("cleanup_hanging");
  const t0 = performance.now();
  proc.signal("SIGTERM");
  const { code } = await proc.wait();
  assert.equal(code, 130);
  assert.ok(performance.now() - t0 < 5000, "exit 130 must not wait for the shutdown deadline");
  assert.equal(proc.eventCount("stopped"), 0);
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

Deno.test("runtime: an error thrown by run logs fatal and exits 1", async () => {
  const result = await runScriptOnce(ECHO, PERMS, ["--fail-after", "0"]);
  assert.equal(result.code, 1);
  const fatal = result.events.find((e) => e.event === "fatal");
  assert.ok(fatal, `no fatal event: ${JSON.stringify(result.events)}`);
  assert.equal(fatal.level, "fatal");
  assert.equal(fatal.error, "boom from run");
  assert.match(String(fatal.stack), /echo_role\.ts/);
  assert.ok(result.events.some((e) => e.event === "hook_ran"), "shutdown hooks are tried");
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
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO {2}echo_role started options=\{/);
  assert.ok(
    lines.some((l) => / INFO {2}echo_role ready tags=\["a b"\] interval=1000$/.test(l)),
    result.stderr,
  );
  assert.ok(!result.stderr.includes("\x1b["), "no colours when stderr is not a terminal");
});
