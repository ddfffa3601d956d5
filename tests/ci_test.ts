// .ci/run, driven with a fake `deno` (and a fake `npm`) on PATH: the order of its steps,
// the Deno install fallback, and its last line `tests: N passed, M failed`.
import assert from "node:assert/strict";
import { REPO_ROOT } from "@lib/tooling/manifest.ts";

const CI = `${REPO_ROOT}/.ci/run`;
const TOOLS = [
  "bash",
  "dirname",
  "mktemp",
  "tee",
  "grep",
  "sed",
  "tail",
  "head",
  "rm",
  "cat",
  "chmod",
  "cp",
  "mkdir",
  "env",
];

const FAKE_DENO = `#!/bin/bash
echo "$*" >> "$FAKE_LOG"
case "$*" in
  "--version") echo "deno 2.9.6 (fake)" ;;
  "fmt --check") exit "\${FAKE_FMT_RC:-0}" ;;
  "lint") exit "\${FAKE_LINT_RC:-0}" ;;
  "check --doc lib/") exit "\${FAKE_DOC_RC:-0}" ;;
  "task test")
    echo "some test output"
    if [ -n "\${FAKE_SUMMARY:-}" ]; then echo "$FAKE_SUMMARY"; fi
    exit "\${FAKE_TEST_RC:-0}" ;;
esac
exit 0
`;

const FAKE_NPM = `#!/bin/bash
echo "npm $*" >> "$FAKE_LOG"
if [ -n "\${FAKE_NPM_FAIL:-}" ]; then exit 1; fi
if [ "$*" = "install -g deno@2.9.6" ]; then
  mkdir -p "$FAKE_PREFIX" && cp "$FAKE_DENO_SRC" "$FAKE_PREFIX/deno" && chmod +x "$FAKE_PREFIX/deno"
fi
`;

const FAKE_NPX = `#!/bin/bash
echo "npx $1 $2 $3" >> "$FAKE_LOG"
mkdir -p "$FAKE_NPX_CACHE" && cp "$FAKE_DENO_SRC" "$FAKE_NPX_CACHE/deno" && chmod +x "$FAKE_NPX_CACHE/deno"
echo "$FAKE_NPX_CACHE/deno"
`;

async function runCi(
  env: Record<string, string>,
  { denoInstalled = true, dockerRunning = true } = {},
): Promise<{ code: number; lines: string[]; calls: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "ci-test-" });
  try {
    const tools = `${dir}/tools`;
    const fake = `${dir}/fake`;
    const prefix = `${dir}/prefix`;
    await Deno.mkdir(tools);
    await Deno.mkdir(fake);
    for (const tool of TOOLS) {
      const path = ["/usr/bin", "/bin"].map((d) => `${d}/${tool}`).find((p) => {
        try {
          return Deno.statSync(p).isFile;
        } catch {
          return false;
        }
      });
      if (path) await Deno.symlink(path, `${tools}/${tool}`);
    }
    await Deno.writeTextFile(`${dir}/deno.src`, FAKE_DENO, { mode: 0o755 });
    if (denoInstalled) await Deno.writeTextFile(`${fake}/deno`, FAKE_DENO, { mode: 0o755 });
    await Deno.writeTextFile(`${fake}/npm`, FAKE_NPM, { mode: 0o755 });
    await Deno.writeTextFile(`${fake}/npx`, FAKE_NPX, { mode: 0o755 });
    // A Docker engine that answers `docker info` (the compose tests need one).
    if (dockerRunning) {
      await Deno.writeTextFile(`${fake}/docker`, "#!/bin/bash\nexit 0\n", { mode: 0o755 });
    }
    const log = `${dir}/calls.log`;
    await Deno.writeTextFile(log, "");
    const out = await new Deno.Command("/bin/bash", {
      args: [CI],
      clearEnv: true,
      env: {
        PATH: `${fake}:${prefix}:${tools}`,
        HOME: dir,
        FAKE_LOG: log,
        FAKE_PREFIX: prefix,
        FAKE_DENO_SRC: `${dir}/deno.src`,
        FAKE_NPX_CACHE: `${dir}/npx-cache`,
        ...env,
      },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return {
      code: out.code,
      lines: text.trimEnd().split("\n"),
      calls: (await Deno.readTextFile(log)).trimEnd().split("\n"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(".ci/run runs the checks in order and adds them to the test totals", async () => {
  const ci = await runCi({ FAKE_SUMMARY: "tests: 40 passed, 0 failed" });
  assert.equal(ci.code, 0, ci.lines.join("\n"));
  assert.deepEqual(ci.calls, [
    "--version",
    "install",
    "fmt --check",
    "lint",
    "check .",
    "check --doc lib/",
    "task sync --check",
    "task test",
  ]);
  // 8 counted steps: system tools, docker engine, install, fmt, lint, check, check --doc,
  // sync --check.
  assert.equal(ci.lines.at(-1), "tests: 48 passed, 0 failed");
  assert.ok(ci.lines.includes("== deno check --doc lib/: ok"), ci.lines.join("\n"));
});

Deno.test(".ci/run counts a failed fmt/lint as a failed test and still prints the line", async () => {
  const ci = await runCi({
    FAKE_SUMMARY: "tests: 40 passed, 2 failed",
    FAKE_TEST_RC: "1",
    FAKE_FMT_RC: "1",
    FAKE_LINT_RC: "1",
    FAKE_DOC_RC: "1",
  });
  assert.notEqual(ci.code, 0);
  assert.equal(ci.lines.at(-1), "tests: 45 passed, 5 failed");
  assert.ok(ci.lines.includes("== deno check --doc lib/: FAILED"), ci.lines.join("\n"));
});

Deno.test(".ci/run counts a test run without a summary line as a failure", async () => {
  const ci = await runCi({ FAKE_TEST_RC: "1" });
  assert.notEqual(ci.code, 0);
  assert.equal(ci.lines.at(-1), "tests: 8 passed, 1 failed");
  const clean = await runCi({ FAKE_SUMMARY: "tests: 3 passed, 0 failed", FAKE_TEST_RC: "1" });
  assert.equal(clean.lines.at(-1), "tests: 11 passed, 1 failed");
});

Deno.test(".ci/run installs Deno with npm when it is missing", async () => {
  const ci = await runCi({ FAKE_SUMMARY: "tests: 1 passed, 0 failed" }, { denoInstalled: false });
  assert.equal(ci.code, 0, ci.lines.join("\n"));
  assert.equal(ci.calls[0], "npm install -g deno@2.9.6");
  assert.equal(ci.calls.at(-1), "task test");
  assert.equal(ci.lines.at(-1), "tests: 9 passed, 0 failed");
});

Deno.test(".ci/run falls back to npx when npm install -g fails", async () => {
  const ci = await runCi({ FAKE_SUMMARY: "tests: 1 passed, 0 failed", FAKE_NPM_FAIL: "1" }, {
    denoInstalled: false,
  });
  assert.equal(ci.code, 0, ci.lines.join("\n"));
  assert.deepEqual(ci.calls.slice(0, 3), [
    "npm install -g deno@2.9.6",
    "npx -y deno@2.9.6 eval",
    "--version",
  ]);
  assert.equal(ci.lines.at(-1), "tests: 9 passed, 0 failed");
});

Deno.test(".ci/run fails loudly when no Docker engine can be started", async () => {
  const ci = await runCi({ FAKE_SUMMARY: "tests: 1 passed, 0 failed" }, { dockerRunning: false });
  assert.notEqual(ci.code, 0);
  assert.ok(ci.lines.includes("== docker engine: FAILED"), ci.lines.join("\n"));
  assert.ok(ci.lines.some((l) => l.includes("dockerd is not installed")), ci.lines.join("\n"));
  assert.equal(ci.lines.at(-1), "tests: 8 passed, 1 failed");
});
