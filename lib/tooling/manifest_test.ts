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
    "96-borrow",
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
    /no lab "5": expected one of 91, 92, 93, 94, 95, 96/,
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
    () => check({ ...base, demo: [{ lab: "01", role: "r", args: [] }] }),
    /demo\[0\]\.lab: expected another lab's two-digit id \(not 01\), got "01"/,
  );
  assert.equal(
    check({ ...base, demo: [{ lab: "12", role: "broker", args: [] }] }).demo[0].lab,
    "12",
  );
  assert.throws(
    () => validateManifest(base, "m.json", "/d", "02-x"),
    /expected folder name 01-x, got "02-x"/,
  );
});

Deno.test("a demo entry naming another lab's role must name a role that lab has", async () => {
  const dir = await Deno.makeTempDir({ prefix: "manifest-borrow-" });
  try {
    for (const name of ["91-steady", "96-borrow"]) {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.copyFile(`${FIXTURES}/${name}/manifest.json`, `${dir}/${name}/manifest.json`);
    }
    assert.equal((await loadManifest("96", dir)).demo[0].lab, "91");
    const raw = JSON.parse(await Deno.readTextFile(`${dir}/96-borrow/manifest.json`));
    raw.demo[0].role = "nope";
    await Deno.writeTextFile(`${dir}/96-borrow/manifest.json`, JSON.stringify(raw));
    await assert.rejects(
      loadAllManifests(dir),
      /96-borrow\/manifest\.json: demo\[0\]: expected a role of lab 91 \(ticker, other\), got "nope"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
