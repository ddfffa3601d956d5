import assert from "node:assert/strict";
import { waitFor } from "@lib/testing/mod.ts";
import { demoInstances } from "./run_lab.ts";
import { loadManifest } from "./manifest.ts";
import { forEachLine } from "./lines.ts";
import { FIXTURE_LABS, spawnTool, TOOLING, type ToolProcess } from "./testdata/spawn_tool.ts";

const lab = (id: string, ...args: string[]) =>
  spawnTool("run_lab.ts", [id, "--labs-dir", FIXTURE_LABS, ...args]);

/**
 * Waits until each named instance ticked (its signal handlers are in place: a stop that
 * came earlier would kill it by the signal's default action), then sends the runner SIGTERM.
 */
async function stopWhenTicking(proc: ToolProcess, names: string[]): Promise<void> {
  for (const name of names) {
    await proc.waitForLine((l) => l.startsWith(name) && / tick 1$/.test(l));
  }
  proc.child.kill("SIGTERM");
}

Deno.test("demoInstances numbers a role that runs more than once", async () => {
  const manifest = await loadManifest("91", FIXTURE_LABS);
  assert.deepEqual(demoInstances(manifest).map((p) => p.label), ["ticker#1", "ticker#2", "other"]);
  const crash = await loadManifest("92", FIXTURE_LABS);
  assert.deepEqual(demoInstances(crash).map((p) => p.label), ["ticker", "quitter"]);
});

Deno.test("--duration runs every instance with its own permissions, prefixed, then stops all cleanly", async () => {
  // Long enough for every role to be up (and handling signals) on a loaded machine.
  await using proc = lab("91", "--duration", "5s");
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
  assert.match(out, /stopping \(--duration 5000 ms elapsed\)/);
  assert.match(out.split("\n").at(-1)!, /all roles stopped cleanly/);
});

Deno.test("a demo may run another lab's role, with that lab's entry and permissions", async () => {
  await using proc = lab("96", "--duration", "4s");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  // Lab 91's ticker (env only), beside Lab 96's own role.
  assert.ok(proc.lines.some((l) => /^ticker +\| tk started env=granted net=prompt/.test(l)), out);
  assert.ok(proc.lines.some((l) => /^other +\| ot started env=granted/.test(l)), out);
  assert.match(out.split("\n").at(-1)!, /all roles stopped cleanly/);
});

Deno.test("a role that exits on its own fails the lab and stops the others", async () => {
  await using proc = lab("92");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 1, out);
  assert.match(out, /quitter exited on its own \(code 3\)/);
  assert.ok(proc.lines.some((l) => /^ticker +\| tk stopping$/.test(l)), out);
  // ticker exits 130 after the runner's SIGTERM: the runner stopped it, so only quitter is
  // named.
  assert.match(out, /ticker exited \(code 130\)/);
  assert.match(out, /FAILED: quitter$/m);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} to the runner alone (no terminal): each role gets exactly one ${signal}, exit 0`, async () => {
    await using proc = lab("91");
    for (const name of ["ticker#1", "ticker#2", "other"]) {
      await proc.waitForLine((l) => l.startsWith(name) && l.includes("tick 1"));
    }
    proc.child.kill(signal);
    const status = await proc.done();
    const out = proc.lines.join("\n");
    assert.equal(status.code, 0, out);
    assert.equal(
      proc.lines.filter((l) => new RegExp(`(tk|ot) got ${signal}$`).test(l)).length,
      3,
      out,
    );
    assert.match(out, new RegExp(`stopping \\(${signal}\\): ${signal} to 3 role\\(s\\)`));
    assert.ok(!out.includes("SIGKILL") && !out.includes("second signal"), out);
    assert.match(out.split("\n").at(-1)!, /all roles stopped cleanly/);
  });
}

function hasTimeout(): boolean {
  try {
    return new Deno.Command("timeout", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "timeout -s INT ... deno task labNN: SIGINT to the whole group stops every role once, exit 0",
  ignore: !hasTimeout(),
  async fn() {
    // As `timeout -s INT 20 deno task lab01` does when it expires: the signal goes to deno
    // task, the runner and (unless they are shielded) the roles, and deno task relays it to
    // the runner once more.
    const dir = await Deno.makeTempDir({ prefix: "run-lab-timeout-" });
    try {
      const task =
        `'${Deno.execPath()}' run -A '${TOOLING}/run_lab.ts' 91 --labs-dir '${FIXTURE_LABS}'`;
      await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks: { lab91: task } }));
      const child = new Deno.Command("timeout", {
        args: ["-s", "INT", "120", Deno.execPath(), "task", "--quiet", "lab91"],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines: string[] = [];
      const output = Promise.all([
        forEachLine(child.stdout, (l) => lines.push(l)),
        forEachLine(child.stderr, (l) => lines.push(l)),
      ]);
      try {
        await waitFor(
          "every role's first tick",
          () =>
            ["ticker#1", "ticker#2", "other"].every((n) =>
              lines.some((l) => l.startsWith(n) && l.includes("tick 1"))
            ),
          { timeoutMs: 30_000 },
        );
      } catch (error) {
        child.kill("SIGKILL");
        throw new Error(`${(error as Error).message}\n${lines.join("\n")}`);
      }
      // timeout passes a signal it gets on to its child and its process group, as on expiry.
      child.kill("SIGINT");
      const status = await child.status;
      await output;
      const out = lines.join("\n");
      assert.equal(status.code, 0, out);
      assert.equal(lines.filter((l) => /(tk|ot) got SIGINT$/.test(l)).length, 3, out);
      assert.ok(!out.includes("second signal") && !out.includes("SIGKILL"), out);
      assert.match(out, /all roles stopped cleanly/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("each run gets a temp dir: {run_dir} in demo args, LAB_RUN_DIR, printed, removed at the end", async () => {
  await using proc = lab("95");
  await stopWhenTicking(proc, ["writer#1", "writer#2"]);
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  const runDir = /^lab +\| run dir (\S+) \(LAB_RUN_DIR/m.exec(out)?.[1];
  assert.ok(runDir, out);
  for (const name of ["w1", "w2"]) {
    assert.ok(
      proc.lines.some((l) =>
        l.endsWith(`${name} touched ${runDir}/${name}.txt LAB_RUN_DIR=${runDir}`)
      ),
      out,
    );
  }
  await assert.rejects(Deno.stat(runDir), Deno.errors.NotFound);
});

Deno.test("--keep keeps the run dir with what the roles wrote", async () => {
  await using proc = lab("95", "--keep");
  await stopWhenTicking(proc, ["writer#1", "writer#2"]);
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  const runDir = /^lab +\| run dir kept: (\S+)$/m.exec(out)?.[1];
  assert.ok(runDir, out);
  try {
    assert.equal(await Deno.readTextFile(`${runDir}/w1.txt`), "w1");
    assert.equal(await Deno.readTextFile(`${runDir}/w2.txt`), "w2");
  } finally {
    await Deno.remove(runDir, { recursive: true });
  }
});

Deno.test("--stop-via stdin (the Windows way): roles stop on end of stdin, no signal, exit 0", async () => {
  await using proc = lab("95", "--duration", "1500ms", "--stop-via", "stdin");
  const status = await proc.done();
  const out = proc.lines.join("\n");
  assert.equal(status.code, 0, out);
  assert.match(out, /stopping \(--duration 1500 ms elapsed\): closing stdin of 2 role\(s\)/);
  assert.equal(proc.lines.filter((l) => /w[12] got stdin EOF$/.test(l)).length, 2, out);
  assert.ok(!/got SIG/.test(out), out);
  assert.match(out.split("\n").at(-1)!, /all roles stopped cleanly/);
});

Deno.test("a runner that dies (SIGKILL) leaves no role behind: each reads end of stdin and stops", async () => {
  await using proc = lab("95");
  const runDir = /run dir (\S+) \(/.exec(await proc.waitForLine((l) => l.includes("run dir")))![1];
  try {
    for (const name of ["w1", "w2"]) {
      await proc.waitForLine((l) => l.includes(`${name} tick 1`));
    }
    proc.child.kill("SIGKILL");
    await proc.done();
    // The roles run in their own session, so only the closed pipe can tell them.
    await waitFor(
      "both roles to see end of stdin",
      async () => {
        const names: string[] = [];
        for await (const e of Deno.readDir(runDir)) names.push(e.name);
        return names.includes("w1.eof") && names.includes("w2.eof");
      },
      { timeoutMs: 20_000 },
    );
  } finally {
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
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
  await using proc = lab("93", "--grace", "700ms");
  await stopWhenTicking(proc, ["ticker", "stubborn"]);
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
    ["91", "--labs-dir", FIXTURE_LABS],
    { NO_COLOR: "" },
  );
  await stopWhenTicking(proc, ["\x1b[36mticker#1", "\x1b[33mticker#2", "\x1b[35mother"]);
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
  assert.match(missing.lines[0], /no lab "99": expected one of 91, 92, 93, 94, 95/);
});

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

for (const how of ["Ctrl+C on deno task", "kill -INT <runner>"] as const) {
  Deno.test({
    name: `${how} in a terminal: the roles get SIGINT once (not a second signal) and stop cleanly`,
    ignore: !hasTmux(),
    async fn() {
      const dir = await Deno.makeTempDir();
      const session = `run-lab-test-${Deno.pid}-${how === "kill -INT <runner>" ? "kill" : "keys"}`;
      const out = `${dir}/out.txt`;
      const read = async () => {
        try {
          return await Deno.readTextFile(out);
        } catch {
          return "";
        }
      };
      const waitForText = async (pred: (text: string) => boolean, what: string) => {
        try {
          await waitFor(what, async () => pred(await read()), {
            timeoutMs: 20_000,
            intervalMs: 50,
          });
        } catch (error) {
          throw new Error(`${(error as Error).message}:\n${await read()}`);
        }
      };
      const tmux = (...args: string[]) => new Deno.Command("tmux", { args }).output();
      try {
        // stdin stays the terminal. Ctrl+C goes through `deno task` (which relays the
        // SIGINT to the runner once more); for kill, `exec` keeps the pid in the pid file.
        const runner = `"${Deno.execPath()}" run -A "${TOOLING}/run_lab.ts" 91 ` +
          `--labs-dir "${FIXTURE_LABS}" --grace 20s`;
        await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks: { lab91: runner } }));
        const start = how === "Ctrl+C on deno task"
          ? `cd '${dir}' && NO_COLOR=1 '${Deno.execPath()}' task --quiet lab91`
          : `NO_COLOR=1 sh -c 'echo $$ > "${dir}/pid"; exec ${runner.replaceAll("'", "")}'`;
        const command = `${start} > '${out}' 2>&1; echo EXIT=$? >> '${out}'; sleep 60`;
        assert.ok(
          (await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "30", command))
            .success,
        );
        await waitForText(
          (t) =>
            ["ticker#1", "ticker#2", "other"].every((l) =>
              new RegExp(`^${l} +\\| (tk|ot) tick 1$`, "m").test(t)
            ),
          "ticks",
        );
        if (how === "Ctrl+C on deno task") await tmux("send-keys", "-t", session, "C-c");
        else Deno.kill(Number(await Deno.readTextFile(`${dir}/pid`)), "SIGINT");
        await waitForText((t) => t.includes("EXIT="), "exit");
        const text = await read();
        assert.match(text, /^EXIT=0$/m, text);
        assert.equal(text.match(/(tk|ot) got SIGINT$/gm)?.length, 3, text);
        assert.ok(!text.includes("second signal") && !text.includes("SIGKILL"), text);
        assert.match(text, /stopping \(SIGINT\): SIGINT to 3 role\(s\)/);
        assert.match(text, /all roles stopped cleanly/);
      } finally {
        await tmux("kill-session", "-t", session);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
