// Each role runs under exactly the permissions its compile plan bakes in: for every role of
// the plan (i.e. of every lab that has a manifest), `deno run <plan flags> <entry> --help`
// exits 0 and prints usage naming the role.
import assert from "node:assert/strict";
import { loadCompilePlan } from "@lib/tooling/build.ts";
import { REPO_ROOT } from "@lib/tooling/manifest.ts";

const plan = await loadCompilePlan();

for (const role of plan.roles) {
  Deno.test(`lab${role.lab} ${role.role}: --help under ${role.permissions.join(" ")}`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...role.permissions, role.entry, "--help"],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `exit ${out.code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stdout, /usage/i, stdout);
    assert.ok(stdout.includes(role.role), `usage does not name ${role.role}:\n${stdout}`);
  });
}
