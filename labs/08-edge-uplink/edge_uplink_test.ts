/**
 * Lab 08 process tests on loopback: real field_device and central_receiver processes,
 * ephemeral ports, JSON log events awaited with deadlines, storage read back from sqlite.
 * Faults here are process faults (kill -9, SIGSTOP); link faults are in
 * `edge_uplink_netns_test.ts`.
 */
import assert from "node:assert/strict";
import { Dealer, Router } from "@lib/zmq/mod.ts";
import { runOnce, spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { findRole, loadManifest, permissionFlags } from "@lib/tooling/manifest.ts";
import {
  assertExactlyOnceInOrder,
  deviceCounters,
  FAILOVER_ARGS,
  freeEndpoint,
  range,
  startDevice,
  startReceiver,
  storedReadings,
} from "./testing.ts";

const LONG = { timeout: 60_000 };

Deno.test("readings are stored exactly once and in order; the device reports all acked", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  await using receiver = await startReceiver(db);
  await using device = await startDevice("d1", [receiver.endpoint], `${dir.path}/dev`, [
    "--count",
    "500",
    "--interval",
    "0",
    "--batch",
    "20",
  ]);
  await device.event("all_acked", undefined, LONG);
  assertExactlyOnceInOrder(db, "d1", range(500));
  await receiver.proc.event("device_ready");
  await device.stop();
  await receiver.proc.stop();
});

Deno.test("receiver kill -9 mid-stream: nothing acked is lost; after a restart each reading is stored once", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  const bind = freeEndpoint();
  let receiver = await startReceiver(db, [], { bind });
  try {
    await using device = await startDevice("d1", [bind], `${dir.path}/dev`, [
      "--count",
      "400",
      "--interval",
      "5",
      "--batch",
      "10",
      "--log-level",
      "debug",
    ]);
    await device.event("acked", (e) => Number(e.upto) >= 100, LONG);
    await receiver.proc.kill();
    const ackedUpto = Math.max(
      ...device.events.filter((e) => e.event === "acked").map((e) => Number(e.upto)),
    );
    // Everything the device saw acked is on disk (and each exactly once).
    const afterKill = storedReadings(db, "d1").map((r) => r.seq);
    assert.deepEqual(afterKill.slice(0, ackedUpto + 1), range(ackedUpto + 1));
    await device.event("receiver_lost", undefined, LONG);
    receiver = await startReceiver(db, [], { bind });
    await device.event("all_acked", undefined, { timeout: 90_000 });
    assertExactlyOnceInOrder(db, "d1", range(400));
    await device.stop();
  } finally {
    await receiver[Symbol.asyncDispose]();
  }
});

Deno.test("failover: a frozen primary (SIGSTOP) -> the device moves to the backup within liveness + 2 heartbeats; it fails back when the primary returns", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  await using primary = await startReceiver(db, [], { name: "primary" });
  await using backup = await startReceiver(db, [], { name: "backup" });
  await using device = await startDevice(
    "d1",
    [primary.endpoint, backup.endpoint],
    `${dir.path}/dev`,
    FAILOVER_ARGS,
  );
  await device.event("receiver_up", (e) => e.receiver === primary.endpoint, LONG);
  await waitFor("a few readings stored", () => storedReadings(db, "d1").length >= 20, {
    timeoutMs: 30_000,
  });
  Deno.kill(primary.proc.pid, "SIGSTOP");
  try {
    const failover = await device.event("failover", (e) => e.to === backup.endpoint, LONG);
    // Silence for liveness (3) intervals, a jittered wait of at most one interval, then
    // the backup's answer: the test allows one more interval for a loaded machine.
    assert.ok(
      Number(failover.heartbeats) <= 3 + 2,
      `expected failover within 5 heartbeats, got ${failover.heartbeats} (${failover.ms} ms)`,
    );
  } finally {
    Deno.kill(primary.proc.pid, "SIGCONT");
  }
  await device.event("failback", (e) => e.to === primary.endpoint, LONG);
  await device.event(
    "receiver_up",
    (e) => e.receiver === primary.endpoint && device.eventCount("failback") > 0,
    LONG,
  );
  await device.event("all_acked", undefined, { timeout: 90_000 });
  assertExactlyOnceInOrder(db, "d1", range(300));
  const receivers = new Set(storedReadings(db, "d1").map((r) => r.receiver));
  assert.deepEqual([...receivers].sort(), ["backup", "primary"]);
  await device.stop();
});

Deno.test("no receiver answers: the device buffers up to --buffer, then drops the oldest and reports it; a receiver returns and the buffer drains in order", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  const bind = freeEndpoint();
  await using device = await startDevice("d1", [bind, freeEndpoint()], `${dir.path}/dev`, [
    "--count",
    "120",
    "--interval",
    "10",
    "--buffer",
    "50",
    "--overflow",
    "drop-oldest",
  ]);
  const dropped = await device.event("readings_dropped", undefined, LONG);
  assert.equal(dropped.buffer, 50);
  await device.event("sampling_done", undefined, LONG);
  await using receiver = await startReceiver(db, [], { bind });
  const done = await device.event("all_acked", undefined, { timeout: 90_000 });
  const seqs = storedReadings(db, "d1").map((r) => r.seq);
  // The newest 50 survive, stored in order; the receiver counts the 70 dropped as a gap.
  assert.equal(done.dropped, 70);
  assertExactlyOnceInOrder(db, "d1", range(50, 70));
  assert.equal(seqs.length, 50);
  assert.equal(deviceCounters(db, "d1")?.missing, 70);
  await receiver.proc.event("gap", (e) => e.missing === 70);
  await device.stop();
});

Deno.test("--overflow block: the sensor waits for room instead of dropping; everything is stored once", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  const bind = freeEndpoint();
  await using device = await startDevice("d1", [bind], `${dir.path}/dev`, [
    "--count",
    "60",
    "--interval",
    "5",
    "--buffer",
    "20",
    "--overflow",
    "block",
  ]);
  await device.event("sampling_blocked", undefined, LONG);
  await using receiver = await startReceiver(db, [], { bind });
  await device.event("sampling_resumed", undefined, LONG);
  const done = await device.event("all_acked", undefined, { timeout: 90_000 });
  assert.equal(done.dropped, 0);
  assertExactlyOnceInOrder(db, "d1", range(60));
  await device.stop();
  await receiver.proc.stop();
});

Deno.test("circuit breaker: a dead receiver's breaker opens, half-opens after the cooldown, re-opens on a failed trial; the device stays on the live one", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  const dead = freeEndpoint();
  await using live = await startReceiver(db);
  await using device = await startDevice("d1", [dead, live.endpoint], `${dir.path}/dev`, [
    "--interval",
    "50",
    "--breaker-failures",
    "1",
    "--breaker-cooldown",
    "1500",
    "--failback-after",
    "300",
  ]);
  await device.event("breaker", (e) => e.receiver === dead && e.to === "open", LONG);
  await device.event("receiver_up", (e) => e.receiver === live.endpoint, LONG);
  await device.event("breaker", (e) => e.receiver === dead && e.to === "half_open", LONG);
  const reopened = await device.event(
    "breaker",
    (e) => e.receiver === dead && e.from === "half_open" && e.to === "open",
    LONG,
  );
  assert.equal(reopened.cooldown_ms, 3000); // doubled after a failed trial
  // While open, fail-back attempts (every 300 ms) do not touch the dead receiver: one
  // session for the first failure, one for the trial.
  assert.equal(device.eventCount("session_started", (e) => e.receiver === dead), 2);
  await device.stop();
});

Deno.test("Ctrl+C drains what it can and exits 0; the queue survives a restart and numbering continues", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  const bind = freeEndpoint();
  const store = `${dir.path}/dev`;
  {
    await using device = await startDevice("d1", [bind], store, [
      "--count",
      "40",
      "--interval",
      "5",
    ]);
    await device.event("sampling_done", undefined, LONG);
    await device.stop({ timeout: 20_000 }); // no receiver: nothing drains, still exit 0
    assert.equal(device.eventCount("drain_timeout"), 1);
  }
  await using receiver = await startReceiver(db, [], { bind });
  await using again = await startDevice("d1", [bind], store, ["--count", "10", "--interval", "5"]);
  const started = await again.event("device_started");
  assert.equal(started.queued, 40);
  assert.equal(started.next_seq, 40);
  await again.event("all_acked", undefined, LONG);
  assertExactlyOnceInOrder(db, "d1", range(50));
  await again.stop();
  await receiver.proc.stop();
});

Deno.test("central_receiver: bad input on its socket is logged and dropped; it keeps serving devices", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  await using receiver = await startReceiver(db);
  const junk = new Dealer({ linger: 0 });
  try {
    junk.connect(receiver.endpoint);
    const enc = new TextEncoder();
    await junk.send([enc.encode("\x07")]);
    await junk.send([enc.encode("BATCH"), enc.encode("not msgpack")]);
    await junk.send([enc.encode("ACK"), new Uint8Array([0x80])]);
    await junk.send([enc.encode("x"), enc.encode("y"), enc.encode("z")]);
    await waitFor("4 bad_message", () => receiver.proc.eventCount("bad_message") >= 1, {
      timeoutMs: 20_000,
    });
  } finally {
    junk.close();
  }
  await using device = await startDevice("d1", [receiver.endpoint], `${dir.path}/dev`, [
    "--count",
    "20",
    "--interval",
    "5",
  ]);
  await device.event("all_acked", undefined, LONG);
  assertExactlyOnceInOrder(db, "d1", range(20));
  assert.equal(receiver.proc.eventCount("handler_error"), 0);
  await device.stop();
  await receiver.proc.stop();
});

Deno.test("field_device: bad input from a receiver is logged and dropped; its heartbeats still keep the session", async () => {
  await using dir = await tempDir("lab08-");
  const fake = new Router({ linger: 0 });
  try {
    await fake.bind("tcp://127.0.0.1:*");
    const enc = new TextEncoder();
    const hb = 600; // liveness 1.8 s: a stall of the loaded machine is not a lost receiver
    await using device = await startDevice("d1", [fake.lastEndpoint!], `${dir.path}/dev`, [
      "--interval",
      "100",
      "--heartbeat-interval",
      String(hb),
    ]);
    const [rid] = await fake.receive(); // READY
    await fake.send([rid, enc.encode("\x02")]);
    await fake.send([rid, enc.encode("ACK"), enc.encode("garbage")]);
    await fake.send([rid, enc.encode("a"), enc.encode("b"), enc.encode("c")]);
    await device.event("bad_message", undefined, LONG);
    // Keep beating for 2 × liveness intervals: the device must not declare us dead.
    const until = Date.now() + hb * 6;
    while (Date.now() < until) {
      await fake.send([rid, enc.encode("\x02")]);
      await new Promise((r) => setTimeout(r, hb / 3));
    }
    assert.equal(device.eventCount("receiver_lost"), 0);
    await device.stop();
  } finally {
    fake.close();
  }
});

Deno.test("both roles: --help, a bad option exits 2 with one line, env config works", async () => {
  for (const role of ["field_device", "central_receiver"]) {
    const help = await runOnce("08", role, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--heartbeat-interval/);
  }
  const deviceHelp = await runOnce("08", "field_device", ["--help"]);
  assert.match(deviceHelp.stdout, /--receiver <endpoint>.*repeatable/s);
  assert.match(deviceHelp.stdout, /--overflow/);
  const bad = await runOnce("08", "field_device", ["--overflow", "sometimes"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  const badEnv = await runOnce("08", "central_receiver", [], {
    env: { CENTRAL_RECEIVER_HEARTBEAT_INTERVAL: "fast" },
  });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /heartbeat-interval/);
  // A good env value is used: the receiver binds where the environment says.
  await using dir = await tempDir("lab08-");
  const bind = freeEndpoint();
  await using receiver = await spawnRole("08", "central_receiver", ["--view-interval", "0"], {
    env: { CENTRAL_RECEIVER_BIND: bind, CENTRAL_RECEIVER_DB: `${dir.path}/env.db` },
  });
  const listening = await receiver.event("listening", undefined, LONG);
  assert.equal(listening.endpoint, bind);
  await receiver.stop();
});

Deno.test("central_receiver view: plain snapshots when piped, JSON lines with --json", async () => {
  await using dir = await tempDir("lab08-");
  const db = `${dir.path}/central.db`;
  await using plain = await startReceiver(db, ["--view-interval", "200"], { name: "plain" });
  await using json = await startReceiver(db, ["--view-interval", "200", "--json"], {
    name: "json",
  });
  await using device = await startDevice("d1", [plain.endpoint], `${dir.path}/dev`, [
    "--count",
    "30",
    "--interval",
    "5",
  ]);
  await device.event("all_acked", undefined, LONG);
  const header = await plain.proc.stdoutLine((l) => l.startsWith("device "), LONG);
  assert.match(header, /last seen\s+lag\s+last seq\s+stored\s+gaps/);
  await plain.proc.stdoutLine((l) => /^d1\s+online\s.*\s29\s+30\s+0\s/.test(l), LONG);
  assert.ok(!plain.proc.stdoutLines.some((l) => l.includes("\x1b[")), "no ANSI when piped");
  // The JSON receiver shares the storage: it sees the device as stored via another receiver.
  const line = await json.proc.stdoutLine(
    (l) => l.includes('"device":"d1"') && l.includes('"stored":30'),
    LONG,
  );
  const row = JSON.parse(line);
  assert.equal(row.event, "device");
  assert.equal(row.state, "away");
  assert.equal(row.missing, 0);
  await device.stop();
  await plain.proc.stop();
  await json.proc.stop();
});

const tmux = await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
if (!tmux) console.log("skipping the terminal view test: tmux is not installed");

Deno.test({
  name: "central_receiver view on a terminal: the table is redrawn in place (tmux)",
  ignore: !tmux,
  async fn() {
    await using dir = await tempDir("lab08-");
    const db = `${dir.path}/central.db`;
    const bind = freeEndpoint();
    const lab = await loadManifest("08");
    const role = findRole(lab, "central_receiver");
    const session = `lab08-${crypto.randomUUID().slice(0, 8)}`;
    const entry = new URL("./cmd/central_receiver.ts", import.meta.url).pathname;
    const command = [
      Deno.execPath(),
      "run",
      ...permissionFlags(role),
      entry,
      "--bind",
      bind,
      "--db",
      db,
      "--name",
      "tty",
      "--view-interval",
      "200",
      "--log-level",
      "error",
      "2>/dev/null",
    ].join(" ");
    const tmuxRun = (...args: string[]) => new Deno.Command("tmux", { args }).output();
    await tmuxRun("new-session", "-d", "-s", session, "-x", "120", "-y", "30", command);
    try {
      const screen = async () =>
        new TextDecoder().decode((await tmuxRun("capture-pane", "-t", session, "-p")).stdout);
      await waitFor("the view on the terminal", async () => (await screen()).includes("device "), {
        timeoutMs: 30_000,
      });
      await using device = await startDevice("d1", [bind], `${dir.path}/dev`, [
        "--count",
        "20",
        "--interval",
        "5",
      ]);
      await device.event("all_acked", undefined, LONG);
      const shown = await waitFor("d1 with 20 stored", async () => {
        const s = await screen();
        return /^d1\s+online\s.*\s19\s+20\s+0\s/m.test(s) && s;
      }, { timeoutMs: 30_000 });
      // Redrawn in place: after many redraws the screen holds exactly one table.
      assert.equal(shown.split("\n").filter((l) => l.startsWith("device ")).length, 1, shown);
      assert.match(shown.split("\n")[0], /^tty: 1 device\(s\)/);
      await device.stop();
    } finally {
      await tmuxRun("kill-session", "-t", session);
    }
  },
});
