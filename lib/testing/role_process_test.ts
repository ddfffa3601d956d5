import assert from "node:assert/strict";
import { runScriptOnce, spawnRole, spawnScript, tempDir } from "./mod.ts";

const ECHO = new URL("../role/testdata/echo_role.ts", import.meta.url).pathname;

Deno.test("harness: event() sees past events and waits for new ones", async () => {
  await using proc = spawnScript(ECHO, ["env"], ["--interval", "10"], {
    env: { LOG_LEVEL: "debug" },
  });
  await proc.event("tick", (e) => e.n === 3);
  const first = await proc.event("started"); // already arrived
  assert.equal(first.role, "echo_role");
  assert.equal(first.pid, proc.pid);
  assert.ok(proc.eventCount("tick") >= 4);
  assert.equal(proc.eventCount("tick", (e) => e.n === 0), 1);
  await proc.stop();
  assert.deepEqual(await proc.wait(), { code: 0, signal: null });
});

Deno.test("harness: a timed out wait names the role, what it awaited and the last lines", async () => {
  await using proc = spawnScript(ECHO, ["env"], []);
  await proc.event("ready");
  await assert.rejects(
    proc.event("never_happens", (e) => e.x === 1, { timeout: 200 }),
    (error: Error) => {
      assert.match(error.message, /^echo_role \(pid \d+\): timed out after 200 ms/);
      assert.match(error.message, /waiting for event "never_happens" matching \(e\)=>e\.x === 1/);
      assert.match(error.message, /"event":"ready"/);
      return true;
    },
  );
  await assert.rejects(proc.stdoutLine("nothing", { timeout: 100 }), /a stdout line matching/);
  const bad = assert.rejects(
    proc.event("stopping", () => {
      throw new Error("bad predicate");
    }),
    /bad predicate/,
  );
  await proc.stop();
  await bad;
  assert.equal(proc.eventCount("stopped"), 1, "the reader survives a throwing predicate");
});

Deno.test("harness: waits reject as soon as the process exits, with its exit code", async () => {
  await using proc = spawnScript(ECHO, ["env"], ["--fail-after", "50"]);
  const t0 = performance.now();
  await assert.rejects(
    proc.event("never_happens", undefined, { timeout: 20_000 }),
    /the process exited \(code 1\)[\s\S]*"event":"fatal"/,
  );
  assert.ok(performance.now() - t0 < 10_000);
  await assert.rejects(proc.event("never_happens"), /had exited \(code 1\)/);
});

Deno.test("harness: stop() throws with the last lines unless the exit code is 0", async () => {
  await using proc = spawnScript(ECHO, ["env"], ["--hang-cleanup", "--shutdown-timeout", "100"]);
  await proc.event("ready");
  await assert.rejects(
    proc.stop(),
    /expected exit code 0 after SIGTERM, got 1[\s\S]*shutdown_timeout/,
  );
});

Deno.test("harness: stop() kills and throws when the process ignores SIGTERM too long", async () => {
  await using proc = spawnScript(ECHO, ["env"], ["--hang-cleanup", "--shutdown-timeout", "60000"]);
  await proc.event("ready");
  await assert.rejects(proc.stop({ timeout: 300 }), /did not exit within 300 ms \(killed\)/);
  assert.equal((await proc.wait()).signal, "SIGKILL");
});

Deno.test("harness: kill() and dispose end the process", async () => {
  const proc = spawnScript(ECHO, ["env"], []);
  await proc.event("ready");
  const status = await proc.kill();
  assert.equal(status.signal, "SIGKILL");
  await proc[Symbol.asyncDispose]();
  let pid = 0;
  {
    await using other = spawnScript(ECHO, ["env"], [], { stdin: "piped" });
    await other.event("ready");
    pid = other.pid;
  }
  assert.ok(pid > 0);
});

Deno.test("harness: stdin as a string is written and closed", async () => {
  await using proc = spawnScript(ECHO, ["env"], [], { stdin: "one\ntwo\n" });
  assert.equal(await proc.stdoutLine(/^tw/), "two");
  assert.deepEqual(proc.stdoutLines, ["one", "two"]);
  await assert.rejects(proc.writeStdin("x"), /stdin is not open/);
  await proc.stop();
});

Deno.test("harness: runScriptOnce kills a process that outlives its deadline", async () => {
  // echo_role runs until stopped; the deadline is long enough for its `ready` line to be in
  // the message even on a loaded machine.
  await assert.rejects(
    runScriptOnce(ECHO, ["env"], [], { timeout: 6000 }),
    /echo_role \(pid \d+\): did not exit within 6000 ms \(killed\)[\s\S]*"event":"ready"/,
  );
});

Deno.test("harness: permissions are exact: without env the env fallbacks are off", async () => {
  const noEnv = await runScriptOnce(ECHO, [], ["--help"]);
  assert.equal(noEnv.code, 0);
  assert.match(noEnv.stdout, /no --allow-env permission/);
  assert.doesNotMatch(noEnv.stdout, /env: ECHO_ROLE/);
  const withEnv = await runScriptOnce(ECHO, ["env"], ["--help"]);
  assert.match(withEnv.stdout, /env: ECHO_ROLE_MIN/);
});

Deno.test("harness: spawnRole names the labs that exist when the lab is unknown", async () => {
  await assert.rejects(spawnRole("99", "nobody", []), /no lab "99": expected one of/);
});

Deno.test("harness: tempDir is removed with its contents", async () => {
  let path = "";
  {
    await using dir = await tempDir("harness-");
    path = dir.path;
    await Deno.mkdir(`${path}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${path}/a/b/c.txt`, "x");
  }
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});
