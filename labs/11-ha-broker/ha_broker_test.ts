/**
 * Process tests of Lab 11: the Binary Star pair under real faults, in network namespaces
 * (three hosts: primary, backup, client), and with the Guide's Python programs on the wire.
 * Options, bad input and Ctrl+C run on loopback (ipc) and need no namespaces.
 */
import assert from "node:assert/strict";
import { deadline } from "@lib/async/mod.ts";
import {
  pythonWithZmq,
  type RoleEvent,
  type RoleProcess,
  runOnce,
  spawnRole,
  tempDir,
  waitFor,
} from "@lib/testing/mod.ts";
import { Dealer, Publisher, Router } from "@lib/zmq/mod.ts";
import {
  createLabNetwork,
  netnsSkipReason,
  pairEndpoints,
  pythonServerArgs,
  reaches,
  spawnGuidePython,
  startBroker,
  startClient,
  startPair,
} from "./testing.ts";

const NETNS_SKIP = await netnsSkipReason();
if (NETNS_SKIP) console.log(`skipping the Lab 11 network-namespace tests: ${NETNS_SKIP}`);
const PYTHON = await pythonWithZmq();
if (!PYTHON) {
  console.log(
    "skipping the Lab 11 Guide interop tests: python3-zmq is not installed (apt-get install -y python3-zmq)",
  );
}

/** Our pairs beacon faster than the Guide's 1000 ms to keep the tests short. */
const HB = 300;
/** Client timings for HB: the settle delay covers the 2-heartbeat expiry with room. */
const CLIENT = ["--timeout", "1000", "--settle", "1000", "--max-failovers", "20"];
const LONG = { timeout: 60_000 };

const replies = (proc: RoleProcess) => proc.events.filter((e) => e.event === "reply");
const exited = (proc: RoleProcess, ms = 60_000) =>
  deadline(proc.wait(), ms, { what: `${proc.name} to exit` });

/** Asserts every request 1..n was answered exactly once, in order. */
function assertAllAnswered(events: RoleEvent[], n: number) {
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: n }, (_, i) => i + 1));
}

// ---------------------------------------------------------------- loopback, no namespaces

Deno.test("--help lists the options with their env names; a bad value exits 2 with one line", async () => {
  const help = await runOnce("11", "ha_broker_backup", ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const flag of ["--frontend", "--state-bind", "--peer", "--heartbeat", "--outage-after"]) {
    assert.ok(help.stdout.includes(flag), `${flag} in --help:\n${help.stdout}`);
  }
  assert.match(help.stdout, /HA_BROKER_BACKUP_PEER/);
  const bad = await runOnce("11", "ha_broker_primary", ["--heartbeat", "5"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--heartbeat <ms>.*expected an integer in \[10, 600000\], got "5"/);
  const client = await runOnce("11", "client_app", ["--server", "nowhere"]);
  assert.equal(client.code, 2);
});

Deno.test("config from the environment: CLIENT_APP_SERVER and HA_BROKER_PRIMARY_HEARTBEAT", async () => {
  await using dir = await tempDir();
  await using primary = await spawnRole("11", "ha_broker_primary", [], {
    env: {
      HA_BROKER_PRIMARY_FRONTEND: `ipc://${dir.path}/front`,
      HA_BROKER_PRIMARY_STATE_BIND: `ipc://${dir.path}/state`,
      HA_BROKER_PRIMARY_PEER: `ipc://${dir.path}/nobody`,
      HA_BROKER_PRIMARY_HEARTBEAT: "100",
    },
  });
  const star = await primary.event("binary_star");
  assert.equal(star.heartbeat_ms, 100);
  // Alone, the primary takes clients once its peer has been silent for 2 heartbeats.
  const run = await runOnce("11", "client_app", ["--count", "2", "--interval", "0"], {
    env: { CLIENT_APP_SERVER: `ipc://${dir.path}/front`, CLIENT_APP_SETTLE: "300" },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdoutLines.filter((l) => l.startsWith("reply")).length, 2);
  await primary.stop();
});

Deno.test("bad beacons and bad requests are logged and dropped; a good beacon still counts; SIGINT stops it cleanly", async () => {
  await using dir = await tempDir();
  const front = `ipc://${dir.path}/front`;
  const peerState = `ipc://${dir.path}/peer-state`;
  // A fake peer: publishes garbage on the state channel the broker subscribes to.
  const fakePeer = new Publisher({ linger: 0 });
  const garbage = new Dealer({ linger: 0 });
  try {
    await fakePeer.bind(peerState);
    await using backup = await spawnRole("11", "ha_broker_backup", [
      "--frontend",
      front,
      "--state-bind",
      `ipc://${dir.path}/state`,
      "--peer",
      peerState,
      "--heartbeat",
      "100",
    ]);
    await backup.event("binary_star");
    // Garbage until the broker has seen some (the SUB joins asynchronously).
    await waitFor("a bad beacon logged", async () => {
      await fakePeer.send(["9"]);
      await fakePeer.send(["3", "3"]);
      return backup.eventCount("bad_message", (e) => e.socket === "state") > 0;
    }, { timeoutMs: 20_000, intervalMs: 50 });
    garbage.connect(front);
    await garbage.send(["no envelope"]);
    await backup.event("bad_message", (e) => e.socket === "frontend", LONG);
    // A real beacon still works: the "primary" is active, so the backup goes passive.
    await waitFor("the backup to go passive", async () => {
      await fakePeer.send(["3"]);
      return backup.eventCount("state_changed", (e) => e.to === "PASSIVE") > 0;
    }, { timeoutMs: 20_000, intervalMs: 50 });
    const bad = backup.events.find((e) => e.event === "bad_message" && e.socket === "state")!;
    assert.match(String(bad.reason), /^beacon: expected/);
    backup.signal("SIGINT");
    const status = await exited(backup, 15_000);
    assert.equal(status.code, 0, backup.tail());
    assert.equal(backup.eventCount("fatal"), 0);
  } finally {
    fakePeer.close();
    garbage.close();
  }
});

Deno.test("client_app: a reply that does not echo the request is a bad message and the request fails", async () => {
  const server = new Router({ linger: 0 });
  try {
    await server.bind("tcp://127.0.0.1:*");
    await using client = await spawnRole("11", "client_app", [
      "--server",
      server.lastEndpoint!,
      "--count",
      "1",
      "--timeout",
      "5000",
    ]);
    const [id, empty] = await deadline(server.receive(), 30_000, { what: "the request" });
    await server.send([id, empty, "not the request"]);
    const status = await exited(client, 30_000);
    assert.equal(status.code, 1, client.tail());
    const bad = await client.event("bad_message");
    assert.equal(bad.reason, "reply does not echo the request");
    assert.equal(client.eventCount("reply"), 0);
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------- network namespaces

Deno.test({
  name: "kill -9 the active: the client fails over to the backup and every request completes",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    await using pair = await startPair(net, HB);
    const { primary, backup } = pair;
    await using client = await startClient(net, [...CLIENT, "--interval", "50"]);
    await client.event("reply", (e) => e.seq === 5, LONG);
    await primary.kill();
    const ep = pairEndpoints(net);
    await waitFor(
      "10 replies from the backup",
      () => replies(client).filter((e) => e.server === ep.backup.frontend).length >= 10,
      { timeoutMs: 60_000 },
    );
    client.signal("SIGTERM");
    assert.equal((await exited(client)).code, 0, client.tail());
    // Every request sent was answered, once, in order: none lost across the failover.
    const answered = replies(client);
    assertAllAnswered(answered, answered.length);
    assert.equal(client.eventCount("request_failed"), 0);
    assert.equal((await client.event("summary")).failed, 0);
    assert.ok(client.eventCount("failover") >= 1);
    const takeover = await reaches(backup, "ACTIVE");
    assert.equal(takeover.trigger, "CLIENT_REQUEST");
    await backup.stop();
  },
});

Deno.test({
  name:
    "partition between the brokers with no client traffic: no takeover, and the pair carries on after healing",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    const stats = ["--stats-interval", String(HB)];
    await using pair = await startPair(net, HB, stats);
    const { primary, backup } = pair;
    await net.partition("primary", "backup");
    await backup.event("peer_silent", (e) => e.state === "PASSIVE", LONG);
    await primary.event("peer_silent", (e) => e.state === "ACTIVE", LONG);
    // Ten heartbeats of silence, seen by the backup's own stats: still passive.
    await waitFor(
      "10 stats of the backup with its peer expired",
      () => backup.eventCount("stats", (e) => e.peerExpired === true) >= 10,
      { timeoutMs: 60_000 },
    );
    assert.equal(backup.eventCount("state_changed", (e) => e.to === "ACTIVE"), 0);
    assert.ok(
      backup.events.filter((e) => e.event === "stats" && e.peerExpired === true)
        .every((e) => e.state === "PASSIVE"),
    );
    const healedAt = backup.events.length;
    await net.heal("primary");
    await waitFor(
      "the backup to hear the active primary again",
      () =>
        backup.events.slice(healedAt).find((e) => e.event === "peer_state" && e.peer === "ACTIVE"),
      { timeoutMs: 60_000 },
    );
    assert.equal(backup.eventCount("state_changed"), 1, "only BACKUP -> PASSIVE, ever");
    assert.equal(primary.eventCount("state_changed"), 1, "only PRIMARY -> ACTIVE, ever");
    await backup.stop();
    await primary.stop();
  },
});

Deno.test({
  name:
    "partition where the client sees only the backup: it takes over (two actives); the healed link is fatal",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    await using pair = await startPair(net, HB);
    const { primary, backup } = pair;
    await net.partition("primary", "backup");
    await net.partition("primary", "client");
    await using client = await startClient(net, [...CLIENT, "--interval", "200"]);
    const takeover = await reaches(backup, "ACTIVE", 60_000);
    assert.equal(takeover.trigger, "CLIENT_REQUEST");
    const ep = pairEndpoints(net);
    await client.event("reply", (e) => e.server === ep.backup.frontend, LONG);
    // Split brain: the primary, cut off, is still active and still running.
    assert.equal(primary.status, undefined);
    assert.equal(primary.eventCount("state_changed", (e) => e.to === "ACTIVE"), 1);
    assert.equal(primary.eventCount("dual_active"), 0);

    await net.heal("primary");
    // The first ACTIVE beacon that gets through is fatal to its receiver (the Guide aborts).
    const first = await Promise.race([
      exited(primary).then((s) => ({ proc: primary, s })),
      exited(backup).then((s) => ({ proc: backup, s })),
    ]);
    assert.equal(first.s.code, 1, first.proc.tail());
    assert.equal(first.proc.eventCount("dual_active"), 1, first.proc.tail());
    assert.match(String(first.proc.events.find((e) => e.event === "fatal")?.error), /dual active/);
    const other = first.proc === primary ? backup : primary;
    const otherFrontend = other === primary ? ep.primary.frontend : ep.backup.frontend;
    // The other one may read the dead one's ACTIVE beacons too (those already in the
    // kernel's buffers still arrive), or not: then it is the one active left, and the
    // client ends up there.
    const since = client.events.length;
    const outcome = await waitFor(
      `${other.name} to abort too or to serve the client`,
      () =>
        other.status
          ? "aborted"
          : client.events.slice(since).some((e) =>
            e.event === "reply" && e.server === otherFrontend
          ) && "serving",
      { timeoutMs: 60_000 },
    );
    if (outcome === "aborted") {
      assert.equal(other.status!.code, 1);
      assert.equal(other.eventCount("dual_active"), 1);
    }
    console.log(
      `  healed link: ${first.proc.name} aborted (dual active); ${other.name} ${
        outcome === "aborted" ? "aborted too" : "is the one active left and serves the client"
      }`,
    );
    client.signal("SIGTERM");
    assert.equal((await exited(client)).code, 0);
  },
});

Deno.test({
  name:
    "a client cut off from the primary while the brokers see each other: the backup refuses it (no takeover)",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    await using pair = await startPair(net, HB);
    const { primary, backup } = pair;
    await net.partition("client", "primary");
    await using client = await startClient(net, [
      ...CLIENT,
      "--count",
      "1",
      "--max-failovers",
      "3",
    ]);
    // The client asks the backup (twice), but the primary's beacons say it is alive.
    assert.equal((await exited(client)).code, 1, client.tail());
    assert.equal(client.eventCount("request_failed"), 1);
    assert.ok(backup.eventCount("request_rejected") >= 1, backup.tail());
    assert.equal(backup.eventCount("state_changed", (e) => e.to === "ACTIVE"), 0);
    await backup.stop();
    await primary.stop();
  },
});

Deno.test({
  name: "30 % packet loss on the client's link: every request completes, once, in order",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    await using pair = await startPair(net, HB);
    const { primary, backup } = pair;
    await net.loss("client", 0.3);
    await using client = await startClient(net, [
      "--timeout",
      "1000",
      "--retries",
      "3",
      "--settle",
      "1000",
      "--max-failovers",
      "50",
      "--count",
      "30",
      "--interval",
      "0",
    ]);
    assert.equal((await exited(client, 120_000)).code, 0, client.tail());
    assertAllAnswered(replies(client), 30);
    const summary = await client.event("summary");
    console.log(`  under 30 % loss: ${summary.retries} retries, ${summary.failovers} failovers`);
    // Whatever the loss made the client do, the primary never stopped beaconing: no takeover.
    assert.equal(backup.eventCount("state_changed", (e) => e.to === "ACTIVE"), 0);
    await backup.stop();
    await primary.stop();
  },
});

Deno.test({
  name: "the old primary restarted: it hears the active backup and stays passive (no fail-back)",
  ignore: !!NETNS_SKIP,
  async fn() {
    await using net = await createLabNetwork();
    await using pair = await startPair(net, HB);
    const { primary: old, backup } = pair;
    await old.kill();
    {
      await using client = await startClient(net, [...CLIENT, "--count", "3", "--interval", "0"]);
      assert.equal((await exited(client)).code, 0, client.tail());
    }
    await reaches(backup, "ACTIVE");
    await using primary = await startBroker(net, "primary", HB);
    const passive = await reaches(primary, "PASSIVE");
    assert.equal(passive.trigger, "PEER_ACTIVE");
    // A client trying the primary first is refused there and served by the backup.
    await using client = await startClient(net, [...CLIENT, "--count", "5", "--interval", "0"]);
    assert.equal((await exited(client)).code, 0, client.tail());
    assertAllAnswered(replies(client), 5);
    assert.ok(replies(client).every((e) => e.server === pairEndpoints(net).backup.frontend));
    assert.ok(primary.eventCount("request_rejected") >= 1);
    assert.equal(primary.eventCount("state_changed", (e) => e.to === "ACTIVE"), 0);
    await primary.stop();
    await backup.stop();
  },
});

// ---------------------------------------------------------------- the Guide's programs

Deno.test({
  name: "the Guide's bstarcli.py against our pair: kill -9 the active, it fails over and goes on",
  ignore: !!NETNS_SKIP || !PYTHON,
  async fn() {
    await using net = await createLabNetwork();
    // The Guide's client has fixed timings (1 s timeout, 2 s settle): the Guide's heartbeat.
    await using pair = await startPair(net, 1000);
    const { primary, backup } = pair;
    const ep = pairEndpoints(net);
    await using cli = spawnGuidePython(net, "client", PYTHON!, "bstarcli.py", [
      ep.primary.frontend,
      ep.backup.frontend,
    ]);
    await cli.stdoutLine("I: server replied OK (2)", LONG);
    await primary.kill();
    const failedOver = await waitFor(
      "bstarcli to fail over",
      () => cli.stdoutLines.findIndex((l) => l.startsWith("W: no response from server")) + 1,
      { timeoutMs: 60_000 },
    );
    const after = await waitFor(
      "an OK from the backup",
      () => cli.stdoutLines.slice(failedOver).find((l) => l.startsWith("I: server replied OK")),
      { timeoutMs: 60_000 },
    );
    // Nothing lost: the reply after the failover is the next number in sequence.
    const before = cli.stdoutLines.slice(0, failedOver).filter((l) => l.includes("replied OK"));
    const last = Number(/\((\d+)\)/.exec(before.at(-1)!)![1]);
    assert.equal(after, `I: server replied OK (${last + 1})`);
    await reaches(backup, "ACTIVE");
    await backup.stop();
  },
});

Deno.test({
  name:
    "client_app against the Guide's bstarsrv2.py -p/-b: served, and fails over when the primary dies",
  ignore: !!NETNS_SKIP || !PYTHON,
  async fn() {
    await using net = await createLabNetwork();
    await using p = spawnGuidePython(
      net,
      "primary",
      PYTHON!,
      "bstarsrv2.py",
      pythonServerArgs(net, "primary"),
    );
    await using b = spawnGuidePython(
      net,
      "backup",
      PYTHON!,
      "bstarsrv2.py",
      pythonServerArgs(net, "backup"),
    );
    await p.stdoutLine("I: connected to backup (passive), ready active", LONG);
    await b.stdoutLine("I: connected to primary (active), ready passive", LONG);
    await using client = await startClient(net, [
      "--count",
      "30",
      "--interval",
      "100",
      "--timeout",
      "1000",
      "--settle",
      "2000",
    ]);
    await client.event("reply", (e) => e.seq === 3, LONG);
    await p.kill();
    assert.equal((await exited(client)).code, 0, client.tail());
    assertAllAnswered(replies(client), 30);
    assert.ok(client.eventCount("failover") >= 1);
    await b.stdoutLine("I: failover successful, ready active", LONG);
  },
});

/** A mixed pair: the Guide's server as `pyHalf`, ours as the other half. */
async function mixedPair(pyHalf: "primary" | "backup") {
  const ourHalf = pyHalf === "primary" ? "backup" : "primary";
  await using net = await createLabNetwork();
  await using py = spawnGuidePython(
    net,
    pyHalf,
    PYTHON!,
    "bstarsrv2.py",
    pythonServerArgs(net, pyHalf),
  );
  await using ours = await startBroker(net, ourHalf, 1000);
  if (ourHalf === "primary") {
    await reaches(ours, "ACTIVE");
    await py.stdoutLine("I: connected to primary (active), ready passive", LONG);
  } else {
    await reaches(ours, "PASSIVE");
    await py.stdoutLine("I: connected to backup (passive), ready active", LONG);
  }
  await using client = await startClient(net, [
    "--count",
    "30",
    "--interval",
    "100",
    "--settle",
    "2000",
  ]);
  await client.event("reply", (e) => e.seq === 3, LONG);
  // Kill the primary (whichever side it is): the other half takes over.
  if (ourHalf === "primary") await ours.kill();
  else await py.kill();
  assert.equal((await exited(client)).code, 0, client.tail());
  assertAllAnswered(replies(client), 30);
  assert.ok(client.eventCount("failover") >= 1);
  if (ourHalf === "backup") {
    assert.equal((await reaches(ours, "ACTIVE")).trigger, "CLIENT_REQUEST");
    await ours.stop();
  } else {
    await py.stdoutLine("I: failover successful, ready active", LONG);
  }
}

Deno.test({
  name: "mixed pair: the Guide's bstarsrv2.py -p with our backup",
  ignore: !!NETNS_SKIP || !PYTHON,
  fn: () => mixedPair("primary"),
});

Deno.test({
  name: "mixed pair: our primary with the Guide's bstarsrv2.py -b",
  ignore: !!NETNS_SKIP || !PYTHON,
  fn: () => mixedPair("backup"),
});
