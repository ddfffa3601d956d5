// The PowerShell wrappers cannot run here (no PowerShell): check statically that they only
// call `deno task` with tasks that exist, and that their parameter blocks pass every
// argument that is not theirs through (`run.ps1 -Lab 05 --duration 30s` must not bind
// `--duration` to -Role by position).
import assert from "node:assert/strict";
import { loadAllManifests, REPO_ROOT } from "@lib/tooling/manifest.ts";

const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks;
const labs = await loadAllManifests();

Deno.test("each lab's run.ps1 maps every role name and alias to an existing task", async () => {
  for (const lab of labs) {
    const text = await Deno.readTextFile(`${lab.dir}/run.ps1`);
    assert.ok(tasks[`lab${lab.id}`], `lab${lab.id}`);
    assert.match(text, new RegExp(`& deno task lab${lab.id} @Rest`));
    assert.match(text, new RegExp(`& deno task build ${lab.id} @Rest`));
    const mapped = [...text.matchAll(/^ {2}'([a-z0-9_-]+)' = '([a-z0-9-]+)'$/gm)];
    const keys = new Set(mapped.map((m) => m[1]));
    for (const role of lab.roles) {
      assert.ok(keys.has(role.name) && keys.has(role.alias), `${lab.id} ${role.name}`);
    }
    for (const [, , alias] of mapped) {
      assert.ok(tasks[`lab${lab.id}:${alias}`], `lab${lab.id}:${alias}`);
    }
    const build = await Deno.readTextFile(`${lab.dir}/build.ps1`);
    assert.match(build, new RegExp(`& deno task build ${lab.id} @Rest`));
  }
});

/** The script's `[CmdletBinding(...)] param(...)` block, one parameter per entry. */
function parameters(text: string): { binding: string; params: string[] } {
  const match = /^(\[CmdletBinding\([^)]*\)\])\nparam\(\n([\s\S]*?)\n\)$/m.exec(text);
  assert.ok(match, `no [CmdletBinding] param( ... ) block in:\n${text}`);
  // Attributes stay with the parameter they annotate: split after each `$Name ...,`.
  const params = match[2].split(/(?<=\$\w+(?: = [^\n]*)?),\n/).map((p) =>
    p.replace(/\s+/g, " ").trim()
  );
  return { binding: match[1], params };
}

Deno.test("every script passes extra arguments through: no positional binding, $Rest takes the rest", async () => {
  const files = [
    `${REPO_ROOT}/run.ps1`,
    ...labs.flatMap((l) => [`${l.dir}/run.ps1`, `${l.dir}/build.ps1`]),
  ];
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const { binding, params } = parameters(text);
    // Without this, PowerShell binds `--duration` (not a parameter name) to -Role or -Lab.
    assert.equal(binding, "[CmdletBinding(PositionalBinding = $false)]", file);
    assert.equal(
      params.at(-1),
      "[Parameter(ValueFromRemainingArguments = $true)] [string[]]$Rest = @()",
      file,
    );
    for (const p of params.slice(0, -1)) {
      assert.ok(!p.includes("ValueFromRemainingArguments"), `${file}: ${p}`);
      // Only -Lab of the top-level script may be positional (`./run.ps1 05`).
      if (p.includes("Position")) assert.match(p, /^\[Parameter\(Position = 0\)\] \[string\]\$Lab/);
    }
    // $args is empty in a script with [CmdletBinding]: nothing may rely on it.
    assert.ok(!/\$args\b/.test(text), `${file} uses $args`);
    // Every deno call goes through `deno task` and passes $Rest on.
    const calls = text.split("\n").filter((l) => /&\s*deno\s/.test(l));
    assert.ok(calls.length > 0 || file === `${REPO_ROOT}/run.ps1`, file);
    for (const line of calls) assert.match(line, /& deno task .* @Rest$/, `${file}: ${line}`);
  }
  const top = await Deno.readTextFile(`${REPO_ROOT}/run.ps1`);
  assert.deepEqual(parameters(top).params, [
    "[Parameter(Position = 0)] [string]$Lab = ''",
    "[string]$Role = ''",
    "[switch]$Build",
    "[Parameter(ValueFromRemainingArguments = $true)] [string[]]$Rest = @()",
  ]);
  assert.match(top, /^& \$labScript @params @Rest$/m);
  const lab05 = await Deno.readTextFile(`${labs.find((l) => l.id === "05")!.dir}/run.ps1`);
  assert.deepEqual(parameters(lab05).params.slice(1), [
    "[switch]$Build",
    "[Parameter(ValueFromRemainingArguments = $true)] [string[]]$Rest = @()",
  ]);
  assert.match(
    parameters(lab05).params[0],
    /^\[ValidateSet\('audit_gateway', .*\)\] \[string\]\$Role = ''$/,
  );
});
