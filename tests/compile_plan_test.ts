// The committed compile plan against the real lab manifests: every role is there under its
// manifest name with exactly its manifest permissions, outputs follow
// dist/<target>/<lab>/<role>[.exe], and the bundled libzmq files exist.
import assert from "node:assert/strict";
import { loadCompilePlan } from "@lib/tooling/build.ts";
import { COMPILE_TARGETS } from "@lib/tooling/compile_plan.ts";
import { loadAllManifests, permissionFlags, REPO_ROOT } from "@lib/tooling/manifest.ts";

const plan = await loadCompilePlan();
const labs = await loadAllManifests();

Deno.test("every role of every manifest is in the compile plan, under its manifest name", () => {
  const expected = labs.flatMap((lab) => lab.roles.map((r) => `${lab.id}/${r.name}`));
  assert.deepEqual(plan.roles.map((r) => `${r.lab}/${r.role}`), expected);
  for (const lab of labs) {
    for (const role of lab.roles) {
      const planned = plan.roles.find((r) => r.lab === lab.id && r.role === role.name)!;
      assert.equal(planned.entry, `labs/${lab.folder}/${role.entry}`);
      assert.equal(planned.folder, lab.folder);
    }
  }
});

Deno.test("each planned role bakes in exactly its manifest permissions", () => {
  for (const lab of labs) {
    for (const role of lab.roles) {
      const planned = plan.roles.find((r) => r.lab === lab.id && r.role === role.name)!;
      assert.deepEqual(planned.permissions, permissionFlags(role), `${lab.id} ${role.name}`);
      assert.ok(
        !planned.permissions.includes("--allow-all") && !planned.permissions.includes("-A"),
      );
    }
  }
});

Deno.test("outputs are dist/<target>/<lab>/<role>, with .exe exactly for Windows targets", () => {
  assert.deepEqual(Object.keys(plan.targets), Object.keys(COMPILE_TARGETS));
  for (const role of plan.roles) {
    for (const target of Object.keys(plan.targets)) {
      const exe = target.includes("windows") ? ".exe" : "";
      assert.equal(plan.targets[target].exe, exe === ".exe");
      assert.equal(role.outputs[target], `dist/${target}/${role.folder}/${role.role}${exe}`);
    }
  }
});

Deno.test("each target includes its libzmq from npm:zeromq, and those files exist", async () => {
  const linux = plan.targets["x86_64-unknown-linux-gnu"].libzmq;
  assert.ok(
    linux.includes("node_modules/zeromq/build/linux/x64/node/glibc-127-Release/addon.node"),
  );
  for (const [target, spec] of Object.entries(plan.targets)) {
    if (spec.libzmq.length === 0) {
      assert.ok(spec.note, `${target}: a target without bundled libzmq must say why`);
      continue;
    }
    assert.ok(spec.libzmq.includes("node_modules/zeromq/build/manifest.json"));
    for (const file of spec.libzmq) {
      assert.ok((await Deno.stat(`${REPO_ROOT}/${file}`)).isFile, `${target}: ${file}`);
    }
    for (const role of plan.roles) assert.deepEqual(role.include[target], spec.libzmq);
  }
});
