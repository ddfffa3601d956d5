import assert from "node:assert/strict";
import { compileSteps } from "./build.ts";
import { compilePlan } from "./compile_plan.ts";
import { loadAllManifests } from "./manifest.ts";
import { FIXTURE_LABS, spawnTool } from "./testdata/spawn_tool.ts";

const TINY_PLAN = new URL("./testdata/tiny_plan.json", import.meta.url).pathname;
const LINUX = "x86_64-unknown-linux-gnu";
const WINDOWS = "x86_64-pc-windows-msvc";

Deno.test("compileSteps: one deno compile per role with its flags, includes and output", async () => {
  const plan = compilePlan(await loadAllManifests(FIXTURE_LABS));
  const steps = compileSteps(plan, { labs: ["91"], target: LINUX });
  assert.deepEqual(steps.map((s) => s.output), [
    `dist/${LINUX}/91-steady/ticker`,
    `dist/${LINUX}/91-steady/other`,
  ]);
  assert.deepEqual(steps[1].args, [
    "compile",
    "--target",
    LINUX,
    "--output",
    `dist/${LINUX}/91-steady/other`,
    "--allow-env",
    "--allow-net=127.0.0.1",
    "--include",
    "node_modules/zeromq/build/manifest.json",
    "--include",
    "node_modules/zeromq/build/linux/x64/node/glibc-127-Release/addon.node",
    "labs/91-steady/cmd/other.ts",
  ]);
  const win = compileSteps(plan, { labs: ["92"], role: "q", target: WINDOWS, outDir: "/tmp/o" });
  assert.deepEqual(win.map((s) => s.output), [`/tmp/o/${WINDOWS}/92-crash/quitter.exe`]);
  assert.ok(!win[0].args.includes("--include"));
  assert.throws(() => compileSteps(plan, { target: "sparc-sun-solaris" }), /unknown target/);
  assert.throws(
    () => compileSteps(plan, { labs: ["07"] }),
    /no lab "07".*expected one of 91, 92, 93, 94/,
  );
  assert.throws(
    () => compileSteps(plan, { labs: ["91"], role: "nope" }),
    /expected one of ticker, other/,
  );
});

Deno.test("build --dry-run prints the deno compile commands", async () => {
  await using proc = spawnTool("build.ts", ["--plan", TINY_PLAN, "--dry-run", "--target", LINUX]);
  assert.equal((await proc.done()).code, 0, proc.lines.join("\n"));
  assert.deepEqual(proc.lines, [
    `deno compile --target ${LINUX} --output dist/${LINUX}/91-steady/ticker --allow-env ` +
    "--include lib/tooling/testdata/tiny_plan.json lib/tooling/testdata/ticker.ts",
  ]);
});

Deno.test("build: a DENORT_BIN that does not exist is one clear line, exit 1", async () => {
  await using proc = spawnTool("build.ts", ["--plan", TINY_PLAN, "--target", LINUX], {
    NO_COLOR: "1",
    DENORT_BIN: "/nonexistent/denort",
  });
  assert.equal((await proc.done()).code, 1);
  assert.deepEqual(proc.lines, [
    `build: DENORT_BIN=/nonexistent/denort: expected a denort binary for ${LINUX}, got no such file`,
  ]);
});

function denortCached(): boolean {
  const home = Deno.env.get("HOME") ?? "";
  const dir = Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
  try {
    Deno.statSync(`${dir}/dl/release/v${Deno.version.deno}/denort-${LINUX}.zip`);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "build: denort missing and not downloadable, DENORT_BIN unset -> one clear line, exit 1",
  ignore: Deno.build.target !== LINUX || denortCached(),
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      await using proc = spawnTool(
        "build.ts",
        ["--plan", TINY_PLAN, "--target", LINUX, "--out-dir", out],
        // A proxy on a closed port makes the download fail on any machine.
        { NO_COLOR: "1", DENORT_BIN: "", HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "" },
      );
      assert.equal((await proc.done()).code, 1, proc.lines.join("\n"));
      assert.equal(proc.lines.length, 1, proc.lines.join("\n"));
      assert.match(
        proc.lines[0],
        /^build: denort for x86_64-unknown-linux-gnu is missing.*DENORT_BIN=/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "build: DENORT_BIN passes through to deno compile (no download needed)",
  ignore: Deno.build.target !== LINUX,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      // Any existing binary stands in for denort: deno compile uses it as the base of the
      // output instead of downloading one (the proxy on a closed port rules a download out).
      const base = Deno.execPath();
      await using proc = spawnTool(
        "build.ts",
        ["--plan", TINY_PLAN, "--target", LINUX, "--out-dir", out],
        { NO_COLOR: "1", DENORT_BIN: base, HTTPS_PROXY: "http://127.0.0.1:9" },
      );
      assert.equal((await proc.done()).code, 0, proc.lines.join("\n"));
      const output = `${out}/${LINUX}/91-steady/ticker`;
      assert.ok(proc.lines.includes(`build: 91 ticker -> ${output}`), proc.lines.join("\n"));
      assert.ok((await Deno.stat(output)).size >= (await Deno.stat(base)).size);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("build: an unknown lab id is one line and exit 2", async () => {
  await using proc = spawnTool("build.ts", ["--plan", TINY_PLAN, "--dry-run", "99"]);
  assert.equal((await proc.done()).code, 2);
  assert.equal(proc.lines.length, 1, proc.lines.join("\n"));
  assert.match(proc.lines[0], /^build: error: no lab "99"/);
});
