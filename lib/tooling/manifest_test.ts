import assert from "node:assert/strict";
import {
  findRole,
  loadAllManifests,
  loadManifest,
  permissionFlags,
  validateManifest,
} from "./manifest.ts";

const FIXTURES = new URL("./testdata/labs", import.meta.url).pathname;

Deno.test("loadAllManifests reads a given labs dir, sorted by id", async () => {
  const labs = await loadAllManifests(FIXTURES);
  assert.deepEqual(labs.map((l) => l.folder), [
    "91-steady",
    "92-crash",
    "93-stubborn",
    "94-oneshot",
    "95-rundir",
  ]);
  assert.equal(labs[0].dir, `${FIXTURES}/91-steady`);
  assert.equal(labs[1].status, "in-progress"); // default
  const lab = await loadManifest("91", FIXTURES);
  assert.equal(findRole(lab, "o").name, "other");
  assert.deepEqual(permissionFlags(findRole(lab, "other")), [
    "--allow-env",
    "--allow-net=127.0.0.1",
  ]);
  await assert.rejects(
    loadManifest("5", FIXTURES),
    /no lab "5": expected one of 91, 92, 93, 94, 95/,
  );
});

Deno.test("validateManifest names the file, field, expectation and value", () => {
  const base = {
    id: "01",
    slug: "x",
    title: "X",
    pattern: "P",
    roles: [{ name: "r", entry: "cmd/r.ts", alias: "r", summary: "s", permissions: ["ffi"] }],
    demo: [{ role: "r", args: [] }],
  };
  const check = (raw: unknown) => validateManifest(raw, "m.json", "/d", "01-x");
  assert.equal(check(base).bench, null);
  assert.throws(
    () => check({ ...base, roles: [{ ...base.roles[0], permissions: ["all"] }] }),
    /^Error: m\.json: roles\[0\]\.permissions: expected names from .*, got "all"$/,
  );
  assert.throws(
    () => check({ ...base, demo: [{ role: "nope", args: [] }] }),
    /demo\[0\]\.role: expected one of r/,
  );
  assert.throws(
    () => validateManifest(base, "m.json", "/d", "02-x"),
    /expected folder name 01-x, got "02-x"/,
  );
});
