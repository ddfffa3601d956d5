import assert from "node:assert/strict";
import { benchEntries } from "./bench.ts";
import { spawnTool } from "./testdata/spawn_tool.ts";

async function fixtureRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "bench-fixture-" });
  const write = async (path: string, text: string) => {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
  };
  const manifest = (id: string, slug: string, bench: string | null) =>
    JSON.stringify({
      id,
      slug,
      title: `Lab ${id}`,
      pattern: "none",
      roles: [{ name: "r", entry: "cmd/r.ts", alias: "r", summary: "r", permissions: [] }],
      demo: [],
      bench,
    });
  await write("lib/zmq/bench.ts", `console.log("zmq bench " + Date.now());`);
  await write("labs/01-a/manifest.json", manifest("01", "a", "bench.ts"));
  await write("labs/01-a/bench.ts", `console.log("lab01 bench");`);
  await write("labs/02-b/manifest.json", manifest("02", "b", null));
  await write("labs/03-c/manifest.json", manifest("03", "c", "bench.ts"));
  await write("labs/03-c/bench.ts", `console.log("lab03 bench"); Deno.exit(4);`);
  await write("labs/04-d/manifest.json", manifest("04", "d", "missing_bench.ts"));
  return root;
}

Deno.test("benchEntries: lib/zmq first, then each manifest's bench; a lab filter drops lib/zmq", async () => {
  const root = await fixtureRoot();
  try {
    assert.deepEqual((await benchEntries([], root)).map((e) => e.file), [
      "lib/zmq/bench.ts",
      "labs/01-a/bench.ts",
      "labs/03-c/bench.ts",
      "labs/04-d/missing_bench.ts",
    ]);
    assert.deepEqual((await benchEntries(["3"], root)).map((e) => e.name), ["lab03"]);
    await assert.rejects(
      benchEntries(["99"], root),
      /^Error: no lab "99": expected one of 01, 02, 03, 04$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task bench runs every benchmark in order and fails on a failed or missing one", async () => {
  const root = await fixtureRoot();
  try {
    await using proc = spawnTool("bench.ts", ["--root", root]);
    const status = await proc.done();
    const out = proc.lines.join("\n");
    assert.equal(status.code, 1, out);
    const order = ["zmq bench", "lab01 bench", "lab03 bench"].map((t) =>
      proc.lines.findIndex((l) => l.startsWith(t))
    );
    assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), out);
    assert.match(out, /^lib\/zmq: ok/m);
    assert.match(out, /^lab01: ok/m);
    assert.match(out, /^lab03: FAILED \(code 4\)/m);
    assert.match(out, /^lab04: MISSING/m);
    await using one = spawnTool("bench.ts", ["--root", root, "01"]);
    assert.equal((await one.done()).code, 0, one.lines.join("\n"));
    assert.ok(!one.lines.some((l) => l.startsWith("zmq bench")));
    await using list = spawnTool("bench.ts", ["--root", root, "--list", "3"]);
    assert.equal((await list.done()).code, 0);
    assert.deepEqual(list.lines, ["lab03: deno run -A labs/03-c/bench.ts"]);
    await using unknown = spawnTool("bench.ts", ["--root", root, "99"]);
    assert.equal((await unknown.done()).code, 2);
    assert.deepEqual(unknown.lines, ['bench: error: no lab "99": expected one of 01, 02, 03, 04']);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
