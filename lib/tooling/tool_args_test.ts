import assert from "node:assert/strict";
import { toolArgs } from "./tool_args.ts";
import { spawnTool } from "./testdata/spawn_tool.ts";

const TOOLS = ["run_lab.ts", "test_all.ts", "build.ts", "bench.ts"];

for (const tool of TOOLS) {
  const name = tool.replace(/\.ts$/, "");
  Deno.test(`${name}: --help prints the usage and exits 0`, async () => {
    await using proc = spawnTool(tool, ["--help"]);
    const status = await proc.done();
    assert.equal(status.code, 0);
    assert.match(proc.lines[0], /^usage: deno task /);
  });

  Deno.test(`${name}: an unknown option is one error line plus the usage, exit 2`, async () => {
    await using proc = spawnTool(tool, ["--no-such-option"]);
    const status = await proc.done();
    assert.equal(status.code, 2);
    assert.deepEqual(proc.lines.length, 2, proc.lines.join("\n"));
    assert.equal(proc.lines[0], `${name}: error: Unknown option '--no-such-option'`);
    assert.match(proc.lines[1], /^usage: /);
  });
}

Deno.test("toolArgs drops the first `--` only", () => {
  assert.deepEqual(toolArgs(["01", "--", "--duration", "3s"]), ["01", "--duration", "3s"]);
  assert.deepEqual(toolArgs(["--", "05"]), ["05"]);
  assert.deepEqual(toolArgs(["05"]), ["05"]);
  assert.deepEqual(toolArgs(["--", "--", "x"]), ["--", "x"]);
});

Deno.test("a leading `--` works like no `--` (deno task lab01 -- --help)", async () => {
  await using proc = spawnTool("run_lab.ts", ["01", "--", "--help"]);
  assert.equal((await proc.done()).code, 0);
  assert.match(proc.lines[0], /^usage: deno task labNN/);
  await using bad = spawnTool("build.ts", ["--", "--no-such-option"]);
  assert.equal((await bad.done()).code, 2);
  assert.equal(bad.lines[0], "build: error: Unknown option '--no-such-option'");
});
