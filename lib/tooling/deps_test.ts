import assert from "node:assert/strict";
import { ensureDeps, ZEROMQ_MARKER } from "./deps.ts";
import { REPO_ROOT } from "./manifest.ts";

Deno.test("ensureDeps installs npm:zeromq into a fresh checkout, and only once", async () => {
  const root = await Deno.makeTempDir({ prefix: "deps-fresh-" });
  try {
    const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
    delete config.workspace; // the members' files are not part of this copy
    await Deno.writeTextFile(`${root}/deno.json`, JSON.stringify(config));
    await Deno.copyFile(`${REPO_ROOT}/deno.lock`, `${root}/deno.lock`);
    const lines: string[] = [];
    assert.equal(await ensureDeps(root, (l) => lines.push(l)), true);
    assert.ok((await Deno.stat(`${root}/${ZEROMQ_MARKER}`)).isFile);
    assert.deepEqual(lines, ["installing npm dependencies (deno install) ..."]);
    assert.equal(await ensureDeps(root, (l) => lines.push(l)), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
