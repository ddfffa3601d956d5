import assert from "node:assert/strict";
import { checkNewLab, labFiles } from "./new_lab.ts";
import { REPO_ROOT } from "./manifest.ts";

const EXISTING = ["01-heartbeat", "05-audit-gateway"];

Deno.test("checkNewLab pads the id, names the role and refuses a taken id or slug", () => {
  assert.deepEqual(
    checkNewLab({ id: "7", slug: "policy-sync", title: " Policy ", pattern: "Clone" }, EXISTING),
    {
      id: "07",
      slug: "policy-sync",
      title: "Policy",
      pattern: "Clone",
      role: "policy_sync_server",
    },
  );
  const refused: [Parameters<typeof checkNewLab>[0], RegExp][] = [
    [
      { id: "5", slug: "new-one", title: "T", pattern: "P" },
      /^Error: lab 05 exists already \(labs\/05-audit-gateway\)$/,
    ],
    [
      { id: "12", slug: "heartbeat", title: "T", pattern: "P" },
      /^Error: the slug "heartbeat" is taken \(labs\/01-heartbeat\)$/,
    ],
    [
      { id: "123", slug: "x", title: "T", pattern: "P" },
      /expected a lab id of one or two digits, got "123"/,
    ],
    [{ id: "12", slug: "Bad_Slug", title: "T", pattern: "P" }, /expected a slug .* got "Bad_Slug"/],
    [{ id: "12", slug: "x", title: " ", pattern: "P" }, /expected a non-empty title/],
    [
      { id: "12", slug: "x", title: "T", pattern: "P", role: "Bad-Role" },
      /snake_case, got "Bad-Role"/,
    ],
  ];
  for (const [spec, message] of refused) assert.throws(() => checkNewLab(spec, EXISTING), message);
});

Deno.test("labFiles is the house shape", () => {
  const files = labFiles({
    id: "99",
    slug: "demo-lab",
    title: "Demo",
    pattern: "PUB-SUB",
    role: "demo_server",
  });
  assert.deepEqual([...files.keys()].sort(), [
    "SUMMARY.md",
    "bench.ts",
    "cmd/demo_server.ts",
    "demo_lab_test.ts",
    "deno.json",
    "internal/protocol.ts",
    "internal/protocol_test.ts",
    "manifest.json",
    "testing.ts",
  ]);
  const manifest = JSON.parse(files.get("manifest.json")!);
  assert.equal(manifest.roles[0].entry, "cmd/demo_server.ts");
  assert.deepEqual(manifest.demo, [{
    role: "demo_server",
    args: ["--bind", "tcp://127.0.0.1:5599"],
  }]);
  assert.match(
    files.get("cmd/demo_server.ts")!,
    /import \{ endpoint, runRole \} from "@lib\/role\/mod\.ts";/,
  );
  assert.match(files.get("demo_lab_test.ts")!, /from "\.\/testing\.ts"/);
  assert.match(files.get("testing.ts")!, /spawnRole\("99", "demo_server"/);
  // Every SUMMARY has these sections.
  const headings = files.get("SUMMARY.md")!.split("\n").filter((l) => l.startsWith("## "));
  assert.deepEqual(headings, [
    "## Pattern",
    "## Roles",
    "## Who binds, who connects, and why",
    "## Wire protocol (`internal/protocol.ts`)",
    "## How to run",
    "## What to observe",
    "## Guarantees and the test that proves each",
    "## Bad input",
    "## Shutdown",
    "## Benchmark (`bench.ts`)",
    "## Known limits",
  ]);
});

async function run(cwd: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test({
  name:
    "deno task new 99 demo in a copy of the repository: sync --check accepts it, its tests pass",
  // The copy resolves npm packages from the Deno cache into its own node_modules.
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "new-lab-" });
    try {
      for (const file of ["deno.json", "deno.lock", "README.md"]) {
        await Deno.copyFile(`${REPO_ROOT}/${file}`, `${root}/${file}`);
      }
      const cp = await new Deno.Command("cp", { args: ["-r", `${REPO_ROOT}/lib`, root] }).output();
      assert.ok(cp.success);
      // The copy has no labs of its own: the new lab is the only one.
      await Deno.mkdir(`${root}/labs`);
      const created = await run(root, [
        "run",
        "-A",
        "lib/tooling/new_lab.ts",
        "99",
        "demo",
        "Demo",
        "PUB-SUB",
      ]);
      assert.equal(created.code, 0, created.text);
      assert.match(created.text, /created labs\/99-demo/);
      const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
      assert.deepEqual(config.workspace, ["./labs/99-demo"]);
      assert.equal(
        config.tasks["lab99:server"].command,
        "deno run --allow-ffi --allow-env --allow-read labs/99-demo/cmd/demo_server.ts",
      );
      assert.match(
        await Deno.readTextFile(`${root}/README.md`),
        /\| 99 \| \[Demo\]\(labs\/99-demo\/\)/,
      );

      const check = await run(root, ["run", "-A", "lib/tooling/sync.ts", "--check"]);
      assert.equal(check.code, 0, check.text);
      for (
        const args of [["fmt", "--check", "labs/99-demo"], ["lint", "labs/99-demo"], [
          "check",
          "--doc",
          "labs/99-demo",
        ]]
      ) {
        const result = await run(root, args);
        assert.equal(result.code, 0, `deno ${args.join(" ")}:\n${result.text}`);
      }
      const tests = await run(root, ["test", "-A", "labs/99-demo"]);
      assert.equal(tests.code, 0, tests.text);
      assert.match(tests.text, /ok \| 3 passed \| 0 failed/);

      // A second time: refused, one line, exit 2; so is the same slug under another id.
      for (const [id, slug] of [["99", "other"], ["98", "demo"]]) {
        const again = await run(root, ["run", "-A", "lib/tooling/new_lab.ts", id, slug, "D", "P"]);
        assert.equal(again.code, 2, again.text);
        assert.equal(again.text.trim().split("\n").length, 1, again.text);
        assert.match(again.text, /^new: error: (lab 99 exists already|the slug "demo" is taken)/);
      }

      // Removing the folder and syncing removes the lab everywhere.
      await Deno.remove(`${root}/labs/99-demo`, { recursive: true });
      const removed = await run(root, ["run", "-A", "lib/tooling/sync.ts"]);
      assert.equal(removed.code, 0, removed.text);
      const after = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
      assert.deepEqual(after.workspace, []);
      assert.equal(after.tasks.lab99, undefined);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
