// The PowerShell wrappers cannot run here (no PowerShell): check statically that they only
// call `deno task` with tasks that exist, and keep the shape that makes `@args` work.
import assert from "node:assert/strict";
import { loadAllManifests, REPO_ROOT } from "@lib/tooling/manifest.ts";

const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks;
const labs = await loadAllManifests();

Deno.test("each lab's run.ps1 maps every role name and alias to an existing task", async () => {
  for (const lab of labs) {
    const text = await Deno.readTextFile(`${lab.dir}/run.ps1`);
    assert.ok(tasks[`lab${lab.id}`], `lab${lab.id}`);
    assert.match(text, new RegExp(`& deno task lab${lab.id} @args`));
    assert.match(text, new RegExp(`& deno task build ${lab.id} @args`));
    const mapped = [...text.matchAll(/^ {2}'([a-z0-9_-]+)' = '([a-z0-9-]+)'$/gm)];
    const keys = new Set(mapped.map((m) => m[1]));
    for (const role of lab.roles) {
      assert.ok(keys.has(role.name) && keys.has(role.alias), `${lab.id} ${role.name}`);
    }
    for (const [, , alias] of mapped) {
      assert.ok(tasks[`lab${lab.id}:${alias}`], `lab${lab.id}:${alias}`);
    }
    const build = await Deno.readTextFile(`${lab.dir}/build.ps1`);
    assert.match(build, new RegExp(`& deno task build ${lab.id} @args`));
  }
});

Deno.test("the scripts are plain (not advanced) so extra arguments reach @args", async () => {
  const files = [
    `${REPO_ROOT}/run.ps1`,
    ...labs.flatMap((l) => [`${l.dir}/run.ps1`, `${l.dir}/build.ps1`]),
  ];
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    assert.ok(!/\[(Parameter|CmdletBinding)\(/.test(text), file);
    // Every deno call goes through `deno task`.
    for (const line of text.split("\n").filter((l) => /&\s*deno\s/.test(l))) {
      assert.match(line, /& deno task /, `${file}: ${line}`);
    }
  }
  const top = await Deno.readTextFile(`${REPO_ROOT}/run.ps1`);
  assert.match(
    top,
    /param\(\n {2}\[string\]\$Lab = '',\n {2}\[string\]\$Role = '',\n {2}\[switch\]\$Build\n\)/,
  );
  assert.match(top, /& \$labScript @params @args/);
});
