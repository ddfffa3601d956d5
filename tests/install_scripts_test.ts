// A first `deno install` must not ask the user to run `deno approve-scripts`: the root
// deno.json denies the npm build scripts explicitly (zeromq ships prebuilt binaries, and
// msgpackr's optional native extract is not used). Runs in a temp copy of deno.json and
// deno.lock; the packages come from the Deno cache that `deno install` (.ci/run) filled.
import assert from "node:assert/strict";
import { REPO_ROOT } from "@lib/tooling/manifest.ts";

async function install(config: string): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "install-scripts-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, config);
    await Deno.copyFile(`${REPO_ROOT}/deno.lock`, `${dir}/deno.lock`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno install asks for no build-script approval", async () => {
  const text = await Deno.readTextFile(`${REPO_ROOT}/deno.json`);
  const config = JSON.parse(text);
  assert.deepEqual(config.allowScripts, { deny: ["npm:zeromq", "npm:msgpackr-extract"] });
  // Only what install reads: the imports, node_modules and the script policy.
  const minimal = (allowScripts?: unknown) =>
    JSON.stringify({ nodeModulesDir: "auto", imports: config.imports, allowScripts });
  const configured = await install(minimal(config.allowScripts));
  assert.equal(configured.code, 0, configured.output);
  assert.doesNotMatch(configured.output, /approve-scripts|Ignored build scripts/);
  // Without the setting the box appears: the check above can fail.
  const bare = await install(minimal());
  assert.equal(bare.code, 0, bare.output);
  assert.match(bare.output, /Ignored build scripts[\s\S]*npm:zeromq@6\.8\.0[\s\S]*approve-scripts/);
});
