import assert from "node:assert/strict";
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
