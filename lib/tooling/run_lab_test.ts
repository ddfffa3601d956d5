import assert from "node:assert/strict";
import { demoInstances } from "./run_lab.ts";
import { loadManifest } from "./manifest.ts";
import { FIXTURE_LABS, spawnTool, TOOLING } from "./testdata/spawn_tool.ts";

const lab = (id: string, ...args: string[]) =>
  spawnTool("run_lab.ts", [id, "--labs-dir", FIXTURE_LABS, ...args]);

Deno.test("demoInstances numbers a role that runs more than once", async () => {
  const manifest = await loadManifest("91", FIXTURE_LABS);
  assert.deepEqual(demoInstances(manifest).map((p) => p.label), ["ticker#1", "ticker#2", "other"]);
  const crash = await loadManifest("92", FIXTURE_LABS);
  assert.deepEqual(demoInstances(crash).map((p) => p.label), ["ticker", "quitter"]);
});

Deno.test("--duration runs every instance with its own permissions, prefixed, then stops all cleanly", async () => {
  await using proc = lab("91", "--duration", "1500ms");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  // Every instance is its own process, with exactly its role's flags and LOG_FORMAT=pretty.
  for (const label of ["ticker#1", "ticker#2"]) {
    assert.ok(
      proc.lines.some((l) =>
        /^ticker#[12] +\| tk started env=granted net=prompt LOG_FORMAT=pretty$/.test(l) &&
        l.startsWith(label)
      ),
      out,
    );
    assert.ok(proc.lines.some((l) => l.startsWith(label) && l.endsWith("tk stopping")), out);
  }
  assert.ok(proc.lines.some((l) => /^other +\| ot started env=granted/.test(l)), out);
  assert.ok(proc.lines.some((l) => /^other +\| ot stopping$/.test(l)), out);
  assert.match(out, /stopping \(--duration 1500 ms elapsed\)/);
  assert.match(out.split("\n").at(-1)!, /all roles stopped cleanly/);
});

Deno.test("SIGTERM to the runner stops every role gracefully and exits 0", async () => {
  await using proc = lab("91");
  for (const name of ["ticker#1", "ticker#2", "other"]) {
    await proc.waitFor((l) => l.startsWith(name) && l.includes("tick 1"));
  }
  proc.child.kill("SIGTERM");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  assert.equal(proc.lines.filter((l) => /(tk|ot) stopping$/.test(l)).length, 3, out);
  assert.match(out, /stopping \(SIGTERM\)/);
});

Deno.test("a role that exits on its own fails the lab and stops the others", async () => {
  await using proc = lab("92");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 1, out);
  assert.match(out, /quitter exited on its own \(code 3\)/);
  assert.ok(proc.lines.some((l) => /^ticker +\| tk stopping$/.test(l)), out);
  assert.match(out, /FAILED: quitter$/m);
});

Deno.test("a oneshot demo process may finish with 0; one that fails still fails the lab", async () => {
  await using proc = lab("94");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 1, out);
  assert.match(out, /client#1 finished \(code 0\)/);
  // The lab kept running after client#1 finished: the server ticked on until client#2 failed.
  const finished = proc.lines.findIndex((l) => l.includes("client#1 finished"));
  assert.ok(proc.lines.slice(finished).some((l) => /^server +\| sv tick/.test(l)), out);
  assert.match(out, /client#2 exited on its own \(code 5\)/);
  assert.ok(proc.lines.some((l) => /^server +\| sv stopping$/.test(l)), out);
  assert.match(out, /FAILED: client#2$/m);
});

Deno.test("a role that ignores SIGTERM is killed after --grace and fails the lab", async () => {
  const started = performance.now();
  await using proc = lab("93", "--duration", "800ms", "--grace", "700ms");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 1, out);
  assert.match(out, /stubborn still running after 700 ms: SIGKILL/);
  assert.match(out, /stubborn exited \(signal SIGKILL\)/);
  assert.ok(proc.lines.some((l) => /^ticker +\| tk stopping$/.test(l)), out);
  assert.ok(performance.now() - started < 15_000);
});

Deno.test("each role's prefix has its own colour unless NO_COLOR", async () => {
  await using proc = spawnTool(
    "run_lab.ts",
    ["91", "--labs-dir", FIXTURE_LABS, "--duration", "1s"],
    { NO_COLOR: "" },
  );
  assert.equal((await proc.done()).code, 0, proc.lines.join("\n"));
  const colours = new Map<string, string>();
  for (const line of proc.lines) {
    // deno-lint-ignore no-control-regex
    const m = /^\x1b\[(\d+)m(\S+) +\|\x1b\[0m /.exec(line);
    if (m && m[2] !== "lab") colours.set(m[2], m[1]);
  }
  assert.deepEqual([...colours.keys()].sort(), ["other", "ticker#1", "ticker#2"]);
  assert.equal(new Set(colours.values()).size, 3);
});

Deno.test("bad arguments are one line and exit 2", async () => {
  await using proc = lab("91", "--duration", "soon");
  const status = await proc.done();
  assert.equal(status.code, 2);
  assert.match(proc.lines[0], /^run_lab: error: expected a duration like 30s.*got "soon"$/);
  await using missing = lab("99");
  assert.equal((await missing.done()).code, 2);
  assert.match(missing.lines[0], /no lab "99": expected one of 91, 92, 93, 94/);
});

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "Ctrl+C in a terminal: the roles get SIGINT once (not a second signal) and stop cleanly",
  ignore: !hasTmux(),
  async fn() {
    const dir = await Deno.makeTempDir();
    const session = `run-lab-test-${Deno.pid}`;
    const out = `${dir}/out.txt`;
    const read = async () => {
      try {
        return await Deno.readTextFile(out);
      } catch {
        return "";
      }
    };
    const waitFor = async (pred: (text: string) => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!pred(await read())) {
        if (Date.now() > deadline) throw new Error(`no ${what} within 20 s:\n${await read()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const tmux = (...args: string[]) => new Deno.Command("tmux", { args }).output();
    try {
      const command = `NO_COLOR=1 '${Deno.execPath()}' run -A '${TOOLING}/run_lab.ts' 91 ` +
        `--labs-dir '${FIXTURE_LABS}' > '${out}' 2>&1; echo EXIT=$? >> '${out}'; sleep 60`;
      assert.ok(
        (await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "30", command)).success,
      );
      await waitFor(
        (t) =>
          ["ticker#1", "ticker#2", "other"].every((l) =>
            new RegExp(`^${l} +\\| (tk|ot) tick 1$`, "m").test(t)
          ),
        "ticks",
      );
      await tmux("send-keys", "-t", session, "C-c");
      await waitFor((t) => t.includes("EXIT="), "exit");
      const text = await read();
      assert.match(text, /^EXIT=0$/m, text);
      assert.equal(text.match(/(tk|ot) got SIGINT$/gm)?.length, 3, text);
      assert.ok(!text.includes("second signal"), text);
      assert.match(text, /stopping \(SIGINT from the terminal/);
    } finally {
      await tmux("kill-session", "-t", session);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
