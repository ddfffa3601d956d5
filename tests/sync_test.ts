// deno task sync: the real repository has no drift, and the generator does what it should
// on a fixture repository (tasks, .vscode, run.ps1/build.ps1, compile plan, README table,
// --check).
import assert from "node:assert/strict";
import { compilePlan } from "@lib/tooling/compile_plan.ts";
import { loadAllManifests, REPO_ROOT } from "@lib/tooling/manifest.ts";
import { COMPILE_PLAN_PATH, sync } from "@lib/tooling/sync.ts";

Deno.test("generated files match the manifests (otherwise run `deno task sync`)", async () => {
  const drifted = await sync(REPO_ROOT, { check: true });
  assert.deepEqual(drifted, [], `drifted: ${drifted.join(", ")}; run \`deno task sync\``);
});

const ROOT_DENO_JSON = `{
  "workspace": ["./labs/01-alpha"],
  "imports": { "@lib/": "./lib/", "commander": "npm:commander@^15.1.0" },
  "fmt": { "lineWidth": 100, "exclude": ["dist/"] },
  "tasks": { "stale": "echo stale" }
}
`;

const README = `# Fixture

Intro.

<!-- labs:begin -->
old table
<!-- labs:end -->

## After
`;

const alpha = {
  id: "01",
  slug: "alpha",
  title: "Alpha Lab",
  pattern: "PUB-SUB",
  status: "done",
  roles: [
    {
      name: "alpha_server",
      entry: "cmd/alpha_server.ts",
      alias: "server",
      summary: "binds and serves",
      permissions: ["ffi", "env", "read", "write=/tmp/x y"],
    },
    {
      name: "client",
      entry: "cmd/client.ts",
      alias: "client",
      summary: "connects",
      permissions: ["ffi", "env", "read"],
    },
  ],
  demo: [
    { role: "alpha_server", args: ["--bind", "tcp://127.0.0.1:5501"] },
    {
      role: "client",
      args: ["--connect", "tcp://127.0.0.1:5501", "--out", "{run_dir}/c.txt"],
      instances: 2,
    },
  ],
  bench: null,
};

const beta = {
  ...alpha,
  id: "05",
  slug: "beta",
  title: "Beta Lab",
  pattern: "ROUTER-DEALER",
  status: "in-progress",
  roles: [{ ...alpha.roles[1], name: "beta_cli", entry: "cmd/beta_cli.ts", alias: "cli" }],
  demo: [{ role: "beta_cli", args: [] }],
};

async function fixtureRepo(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "sync-fixture-" });
  const write = async (path: string, text: string) => {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
  };
  await write("deno.json", ROOT_DENO_JSON);
  await write("README.md", README);
  await write("labs/01-alpha/manifest.json", JSON.stringify(alpha));
  await write("labs/01-alpha/deno.json", "{}\n");
  await write("labs/05-beta/manifest.json", JSON.stringify(beta));
  await write("labs/05-beta/deno.json", "{}\n");
  await write("labs/07-no-manifest-yet/deno.json", "{}\n");
  return root;
}

async function withFixture(fn: (root: string) => Promise<void>) {
  const root = await fixtureRepo();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("sync generates the root tasks and keeps the rest of deno.json", async () => {
  await withFixture(async (root) => {
    await sync(root);
    const text = await Deno.readTextFile(`${root}/deno.json`);
    const config = JSON.parse(text);
    assert.deepEqual(Object.keys(config.tasks), [
      "sync",
      "test",
      "build",
      "bench",
      "bench:zmq",
      "check",
      "new",
      "lab01",
      "lab01:server",
      "lab01:client",
      "test:lab01",
      "lab05",
      "lab05:cli",
      "test:lab05",
    ]);
    assert.equal(config.tasks.lab01.command, "deno run -A lib/tooling/run_lab.ts 01");
    assert.equal(
      config.tasks["lab01:server"].command,
      "deno run --allow-ffi --allow-env --allow-read '--allow-write=/tmp/x y' " +
        "labs/01-alpha/cmd/alpha_server.ts",
    );
    assert.equal(config.tasks["test:lab05"].command, "deno test -A labs/05-beta");
    assert.equal(config.tasks.test.command, "deno run -A lib/tooling/test_all.ts");
    assert.equal(config.tasks["bench:zmq"].command, "deno run -A lib/zmq/bench.ts");
    assert.match(config.tasks.check.command, /deno fmt --check && deno lint && deno check/);
    assert.equal(config.tasks.stale, undefined);
    // Hand-written parts stay as they were; new lab folders become workspace members.
    assert.ok(
      text.includes(`"imports": { "@lib/": "./lib/", "commander": "npm:commander@^15.1.0" },`),
    );
    assert.deepEqual(config.workspace, [
      "./labs/01-alpha",
      "./labs/05-beta",
      "./labs/07-no-manifest-yet",
    ]);
  });
});

Deno.test("sync generates .vscode launch (one config per role) and tasks", async () => {
  await withFixture(async (root) => {
    await sync(root);
    const launch = JSON.parse(await Deno.readTextFile(`${root}/.vscode/launch.json`));
    assert.deepEqual(launch.configurations.map((c: { name: string }) => c.name), [
      "lab01: alpha_server",
      "lab01: client",
      "lab05: beta_cli",
    ]);
    const server = launch.configurations[0];
    assert.equal(server.runtimeExecutable, "deno");
    assert.deepEqual(server.runtimeArgs, [
      "run",
      "--inspect-wait=127.0.0.1:9230",
      "--allow-ffi",
      "--allow-env",
      "--allow-read",
      "--allow-write=/tmp/x y",
    ]);
    assert.equal(server.program, "${workspaceFolder}/labs/01-alpha/cmd/alpha_server.ts");
    assert.deepEqual(server.args, ["--bind", "tcp://127.0.0.1:5501"]);
    assert.equal(server.attachSimplePort, 9230);
    assert.deepEqual(
      launch.configurations.map((c: { attachSimplePort: number }) => c.attachSimplePort),
      [9230, 9231, 9232],
    );
    // The runner's per-run {run_dir}: a fixed folder when debugging, made by a pre-launch task.
    const client = launch.configurations[1];
    assert.deepEqual(client.args, [
      "--connect",
      "tcp://127.0.0.1:5501",
      "--out",
      "${workspaceFolder}/dist/run/lab01/c.txt",
    ]);
    assert.equal(client.env.LAB_RUN_DIR, "${workspaceFolder}/dist/run/lab01");
    assert.equal(client.preLaunchTask, "lab01: run dir");
    assert.equal(launch.configurations[2].preLaunchTask, undefined);
    const tasks = JSON.parse(await Deno.readTextFile(`${root}/.vscode/tasks.json`));
    const byLabel = new Map(
      tasks.tasks.map((t: { label: string; command: string }) => [t.label, t.command]),
    );
    assert.equal(byLabel.get("sync"), "deno task sync");
    assert.equal(byLabel.get("lab01: run"), "deno task lab01");
    assert.equal(byLabel.get("lab01: test"), "deno task test:lab01");
    assert.equal(byLabel.get("lab05: build"), "deno task build 05");
    assert.match(byLabel.get("lab01: run dir") as string, /Deno\.mkdirSync\('dist\/run\/lab01'/);
    assert.equal(byLabel.get("lab05: run dir"), undefined);
  });
});

Deno.test("sync generates each lab's run.ps1 and build.ps1 over deno task", async () => {
  await withFixture(async (root) => {
    await sync(root);
    const run = await Deno.readTextFile(`${root}/labs/01-alpha/run.ps1`);
    assert.match(run, /\[ValidateSet\('alpha_server', 'server', 'client'\)\]/);
    assert.match(run, /'alpha_server' = 'server'/);
    assert.match(run, /& deno task "lab01:\$\(\$aliases\[\$Role\]\)" @Rest/);
    assert.match(run, /& deno task lab01 @Rest/);
    assert.match(run, /& deno task build 01 @Rest/);
    const build = await Deno.readTextFile(`${root}/labs/05-beta/build.ps1`);
    assert.match(build, /& deno task build 05 @Rest/);
    // A lab folder without a manifest gets nothing.
    await assert.rejects(
      Deno.stat(`${root}/labs/07-no-manifest-yet/run.ps1`),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("sync writes the compile plan of every manifest role", async () => {
  await withFixture(async (root) => {
    await sync(root);
    const plan = JSON.parse(await Deno.readTextFile(`${root}/${COMPILE_PLAN_PATH}`));
    assert.deepEqual(plan, compilePlan(await loadAllManifests(`${root}/labs`)));
    assert.deepEqual(plan.roles.map((r: { role: string }) => r.role), [
      "alpha_server",
      "client",
      "beta_cli",
    ]);
  });
});

Deno.test("sync fills the README table with all 24 labs, status from the manifests", async () => {
  await withFixture(async (root) => {
    await sync(root);
    const readme = await Deno.readTextFile(`${root}/README.md`);
    assert.ok(readme.startsWith("# Fixture\n\nIntro.\n\n<!-- labs:begin -->\n"));
    assert.ok(readme.endsWith("<!-- labs:end -->\n\n## After\n"));
    assert.ok(!readme.includes("old table"));
    const rows = readme.split("\n").filter((l) => /^\| \d\d /.test(l));
    assert.equal(rows.length, 24);
    assert.match(
      rows[0],
      /^\| 01 \| \[Alpha Lab\]\(labs\/01-alpha\/\) +\| PUB-SUB +\| `alpha_server`, `client` +\| done +\|$/,
    );
    assert.match(
      rows[4],
      /^\| 05 \| \[Beta Lab\]\(labs\/05-beta\/\) +\| ROUTER-DEALER +\| `beta_cli` +\| in-progress \|$/,
    );
    assert.match(
      rows[1],
      /^\| 02 \| High-Volume Log Ingestion Pipeline +\| Pipeline \(PUSH-PULL\) +\| — +\| planned +\|$/,
    );
    assert.match(
      rows[23],
      /^\| 24 \| Autonomous Secure Beaconing +\| UDP Discovery \+ REP\/REQ +\| — +\| planned +\|$/,
    );
  });
});

Deno.test("generated files are deno fmt clean and a second sync changes nothing", async () => {
  await withFixture(async (root) => {
    const first = await sync(root);
    assert.ok(first.length >= 8);
    assert.deepEqual(await sync(root, { check: true }), []);
    assert.deepEqual(await sync(root), []);
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: [
        "fmt",
        "--check",
        "--no-config",
        "--line-width=100",
        "deno.json",
        ".vscode",
        "lib",
        "README.md",
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(fmt.success, new TextDecoder().decode(fmt.stderr));
  });
});

Deno.test("sync --check lists drifted files and exits 1; without --check it repairs them", async () => {
  await withFixture(async (root) => {
    await sync(root);
    await Deno.writeTextFile(`${root}/.vscode/launch.json`, "{}\n");
    const manifest = {
      ...alpha,
      roles: [{ ...alpha.roles[0], permissions: ["ffi", "env", "read"] }, alpha.roles[1]],
    };
    await Deno.writeTextFile(`${root}/labs/01-alpha/manifest.json`, JSON.stringify(manifest));
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${REPO_ROOT}/lib/tooling/sync.ts`, ...args, "--root", root],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const check = await run("--check");
    const stderr = new TextDecoder().decode(check.stderr);
    assert.equal(check.code, 1, stderr);
    const listed = stderr.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.trim());
    assert.deepEqual(listed.sort(), [".vscode/launch.json", "deno.json", COMPILE_PLAN_PATH].sort());
    assert.equal((await run()).code, 0);
    assert.equal((await run("--check")).code, 0);
  });
});
