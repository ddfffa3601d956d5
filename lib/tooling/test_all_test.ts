import assert from "node:assert/strict";
import { discoverSuites, formatReport, parseTestOutput } from "./test_all.ts";
import { spawnTool } from "./testdata/spawn_tool.ts";

const SUITES = "lib/tooling/testdata/suites";

Deno.test("parseTestOutput reads deno's summary line", () => {
  const out = [
    "running 3 tests from ./a_test.ts",
    "x ... ok (1ms)",
    "\x1b[31mFAILED\x1b[0m | 2 passed (3 steps) | 1 failed | 1 ignored (40ms)",
  ];
  assert.deepEqual(parseTestOutput(out, false), { passed: 2, failed: 1, summary: true });
  assert.deepEqual(parseTestOutput(["ok | 7 passed | 0 failed (1s)"], true), {
    passed: 7,
    failed: 0,
    summary: true,
  });
});

Deno.test("parseTestOutput counts every test that did not pass in a crashed run", () => {
  const out = [
    "running 2 tests from ./a_test.ts",
    "a ... ok (1ms)",
    "  step ... ok (1ms)",
    "b ... ok (1ms)",
    "running 3 tests from ./b_test.ts",
    "c ... ok (1ms)",
    "d ...",
  ];
  assert.deepEqual(parseTestOutput(out, false), { passed: 3, failed: 2, summary: false });
  // A run that died before running anything (e.g. a type error) is one failure.
  assert.deepEqual(parseTestOutput(["error: Type checking failed."], false), {
    passed: 0,
    failed: 1,
    summary: false,
  });
  // A non-zero exit with a clean summary (e.g. a leak after the summary) is still a failure.
  assert.equal(parseTestOutput(["ok | 1 passed | 0 failed (1ms)"], false).failed, 1);
});

Deno.test("formatReport ends with the totals line", () => {
  const lines = formatReport([
    { target: "lib/a", passed: 3, failed: 0, summary: true, code: 0, timedOut: false, ms: 1200 },
    { target: "labs/01-x", passed: 1, failed: 2, summary: false, code: 1, timedOut: true, ms: 5 },
  ]);
  assert.match(lines[1], /^lib\/a +3 +0 +1\.2s +ok$/);
  assert.match(lines[2], /^labs\/01-x +1 +2 +0\.0s +TIMEOUT$/);
  assert.equal(lines.at(-1), "tests: 4 passed, 2 failed");
});

Deno.test("discoverSuites lists lib modules, tests/ and labs that have tests", async () => {
  const root = await Deno.makeTempDir();
  try {
    const touch = async (path: string) => {
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, "");
    };
    await touch("lib/zmq/socket_test.ts");
    await touch("lib/empty/mod.ts");
    await touch("lib/role/internal/deep_test.ts");
    await touch("tests/sync_test.ts");
    await touch("labs/01-a/internal/x_test.ts");
    await touch("labs/02-b/mod.ts");
    await touch("labs/notalab/y_test.ts");
    assert.deepEqual(await discoverSuites(root), ["lib/role", "lib/zmq", "tests", "labs/01-a"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("test_all runs suites as processes and totals passes, failures, crashes and timeouts", async () => {
  const log = await Deno.makeTempFile({ suffix: ".log" });
  try {
    await using proc = spawnTool("test_all.ts", [
      `${SUITES}/pass.fixture.ts`,
      `${SUITES}/fail.fixture.ts`,
      `${SUITES}/crash.fixture.ts`,
      `${SUITES}/hang.fixture.ts`,
      "--timeout",
      // Long enough for a loaded CI machine to start and finish the quick fixtures.
      "25s",
      "--log",
      log,
    ]);
    const status = await proc.done();
    const out = proc.lines.join("\n");
    assert.equal(status.code, 1, out);
    const row = (name: string) =>
      proc.lines.find((l) => l.startsWith(`${SUITES}/${name}.fixture.ts `))!;
    assert.match(row("pass"), / +3 +0 +[\d.]+s +ok$/, out);
    assert.match(row("fail"), / +1 +1 +[\d.]+s +FAILED$/, out);
    assert.match(row("crash"), / +1 +2 +[\d.]+s +CRASHED$/, out);
    // The hanging suite is killed at the time limit; what did not pass counts as failed.
    const hang = / +(\d) +(\d) +[\d.]+s +TIMEOUT$/.exec(row("hang"));
    assert.ok(hang, out);
    assert.equal(Number(hang[1]) + Number(hang[2]), 3, out);
    assert.equal(
      proc.lines.at(-1),
      `tests: ${5 + Number(hang[1])} passed, ${6 - Number(hang[1])} failed`,
    );
    // Every line of every suite went to the log, prefixed with its suite.
    const logged = await Deno.readTextFile(log);
    assert.match(
      logged,
      new RegExp(`^\\[${SUITES}/fail.fixture.ts\\] fails \\.\\.\\. FAILED`, "m"),
    );
    assert.match(
      logged,
      new RegExp(`^\\[${SUITES}/pass.fixture.ts\\] ok \\| 3 passed \\| 0 failed`, "m"),
    );
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("test_all exits 0 with the totals line when everything passes", async () => {
  await using proc = spawnTool("test_all.ts", [`${SUITES}/pass.fixture.ts`, "--log", "/dev/null"]);
  const status = await proc.done();
  assert.equal(status.code, 0, proc.lines.join("\n"));
  assert.equal(proc.lines.at(-1), "tests: 3 passed, 0 failed");
});

Deno.test("an unknown suite is one line and exit 2", async () => {
  await using proc = spawnTool("test_all.ts", ["labs/99-nope", "--log", "/dev/null"]);
  assert.equal((await proc.done()).code, 2);
  assert.equal(proc.lines.length, 1, proc.lines.join("\n"));
  assert.match(proc.lines[0], /^test_all: error: no test suite "labs\/99-nope": expected a folder/);
});
