// README.md: the quick start is exactly the two npx commands, they name tasks that exist and
// the Deno version CI installs; the lab table is the generated one.
import assert from "node:assert/strict";
import { REPO_ROOT } from "@lib/tooling/manifest.ts";
import { TABLE_BEGIN, TABLE_END } from "@lib/tooling/readme_table.ts";

const readme = await Deno.readTextFile(`${REPO_ROOT}/README.md`);
const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
const ci = await Deno.readTextFile(`${REPO_ROOT}/.ci/run`);

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no "## ${title}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

Deno.test("the quick start is exactly two npx commands for tasks that exist", () => {
  const blocks = [...section("Quick start").matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  const commands = blocks[0].trim().split("\n");
  assert.deepEqual(commands, ["npx -y deno@2.9.6 task lab01", "npx -y deno@2.9.6 task test"]);
  for (const command of commands) {
    const task = command.split(" ").at(-1)!;
    assert.ok(config.tasks[task], `task ${task} is not in deno.json`);
  }
});

Deno.test("the quick start, .ci/run and the running Deno agree on the version", () => {
  assert.equal(Deno.version.deno, "2.9.6");
  assert.match(ci, /^DENO_VERSION="2\.9\.6"$/m);
  assert.ok(section("Quick start").includes(`deno@${Deno.version.deno}`));
});

Deno.test("the README's test command is what .ci/run runs", () => {
  assert.match(ci, /^deno task test 2>&1 \| tee "\$out"$/m);
  assert.match(config.tasks.test.command, /lib\/tooling\/test_all\.ts/);
});

Deno.test("the README has the generated lab table with all 24 labs and links DEVELOPERS.md", async () => {
  const table = readme.slice(readme.indexOf(TABLE_BEGIN), readme.indexOf(TABLE_END));
  const ids = table.split("\n").filter((l) => /^\| \d\d /.test(l)).map((l) => l.slice(2, 4));
  assert.deepEqual(ids, Array.from({ length: 24 }, (_, i) => String(i + 1).padStart(2, "0")));
  assert.ok(readme.includes("](DEVELOPERS.md)"));
  assert.ok((await Deno.stat(`${REPO_ROOT}/DEVELOPERS.md`)).isFile);
  for (
    const topic of ["LIBZMQ_PATH", "DENORT_BIN", "libzmq5", "ZMQ_FD", "LOG_FORMAT", "LOG_LEVEL"]
  ) {
    assert.ok(readme.includes(topic), `README does not mention ${topic}`);
  }
});
