/**
 * Lab 07 process tests: real policy_master and firewall_node processes on 127.0.0.1,
 * proving each guarantee through their JSON events and `--json` change lines.
 */
import assert from "node:assert/strict";
import { pythonWithZmq, runOnce, tempDir, waitFor } from "@lib/testing/mod.ts";
import { encodeKv, newUuid } from "./internal/protocol.ts";
import { Dealer, Push } from "@lib/zmq/mod.ts";
import {
  changes,
  chpOn,
  createPairNetwork,
  netnsSkipReason,
  rawWriter,
  spawnGuidePython,
  startHalf,
  startMaster,
  startNode,
  testdata,
} from "./testing.ts";

const RULE = "deny any from any to any";
const LONG = { timeout: 30_000 };

Deno.test("late node: full snapshot, then deltas; same table as an early node", async () => {
  await using master = await startMaster();
  await using early = await startNode(master.server);
  await early.event("synced", undefined, LONG);
  const set = await runOnce("07", "policy_master", [
    "set",
    "--server",
    master.server,
    "/acl/dmz/mail",
    "allow tcp from any to 10.0.1.25 port 25",
    RULE,
  ]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /set \/acl\/dmz\/mail: published at sequence \d+/);
  await using late = await startNode(master.server);
  const synced = await late.event("synced", undefined, LONG);
  assert.equal(synced.policies, 5, "4 loaded + the one set before the node started");
  await using writer = await rawWriter(master.port);
  await writer.set("/acl/core/new", "allow tcp from 10.0.0.0/8 to any port 443");
  for (const node of [early, late]) {
    await node.event("table_version", (e) => e.policies === 6, LONG);
  }
  // stdout is read apart from stderr: wait for the delta's own line.
  await late.stdoutLine((l) => l.includes(`"/acl/core/new"`), LONG);
  const fp = (n: typeof early) =>
    n.events.filter((e) => e.event === "table_version").at(-1)!.fingerprint;
  assert.equal(fp(early), fp(late));
  assert.deepEqual(
    changes(late).map((c) => c.kind),
    ["snapshot", "set"],
    "the late node got one snapshot and one delta",
  );
  await early.stop();
  await late.stop();
  await master.proc.stop();
});

Deno.test("updates fired during the snapshot: none lost, none applied twice", async () => {
  await using master = await startMaster();
  await using writer = await rawWriter(master.port);
  // The burst runs from before the node starts until well after its snapshot.
  let written = 0;
  let stop = false;
  const burst = (async () => {
    while (!stop && written < 20_000) {
      await writer.set(
        `/acl/burst/k${written}`,
        `allow tcp from any to any port ${1 + written % 60000}`,
      );
      written++;
      if (written % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await master.proc.event("policy_set", (e) => e.key === "/acl/burst/k40", LONG);
  await using node = await startNode(master.server);
  await node.event("synced", undefined, LONG);
  const after = written + 100;
  await waitFor("100 more updates after the snapshot", () => written >= after, {
    timeoutMs: 20_000,
  });
  stop = true;
  await burst;
  const N = written;
  await master.proc.event("policy_set", (e) => e.key === `/acl/burst/k${N - 1}`, LONG);
  const last = master.proc.events.filter((e) => e.event === "policy_set").at(-1)!.sequence;
  await node.event("table_version", (e) => e.version === last, LONG);
  // stdout is read apart from stderr: wait for the last delta's line itself.
  await node.stdoutLine((l) => l.includes(`"/acl/burst/k${N - 1}"`), LONG);
  const seen = changes(node);
  const snapshot = seen.find((c) => c.kind === "snapshot")!;
  const sets = seen.filter((c) => c.kind === "set").map((c) => String(c.key));
  assert.equal(new Set(sets).size, sets.length, "no key applied twice");
  assert.ok(Number(snapshot.policies) - 4 + sets.length === N, "snapshot + deltas = every update");
  const final = node.events.filter((e) => e.event === "table_version").at(-1)!;
  assert.equal(final.policies, N + 4);
  assert.equal(node.eventCount("sequence_gap"), 0);
  assert.ok(Number(snapshot.policies) > 4, "the snapshot was cut in the middle of the burst");
  assert.ok(sets.length > 0, "and deltas came after it");
  await node.stop();
  await master.proc.stop();
});

Deno.test("ttl: the master expires the key and every node deletes it", async () => {
  await using master = await startMaster();
  await using node = await startNode(master.server);
  await node.event("synced", undefined, LONG);
  const set = await runOnce("07", "policy_master", [
    "set",
    "--server",
    master.server,
    "--ttl",
    "1",
    "/acl/dmz/temp",
    RULE,
  ]);
  assert.equal(set.code, 0, set.stderr);
  await master.proc.event("policy_expired", (e) => e.key === "/acl/dmz/temp", LONG);
  await waitFor(
    "the node to delete /acl/dmz/temp",
    () => changes(node).some((c) => c.kind === "delete" && c.key === "/acl/dmz/temp"),
    {
      timeoutMs: 10_000,
    },
  );
  const kinds = changes(node).filter((c) => c.key === "/acl/dmz/temp").map((c) => c.kind);
  assert.deepEqual(kinds, ["set", "delete"]);
  await node.stop();
  await master.proc.stop();
});

Deno.test("master kill -9: nodes keep the table, report it silent, re-sync when it returns", async () => {
  await using dir = await Deno.makeTempDir().then((path) => ({
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }));
  const stateFile = `${dir.path}/node.json`;
  const first = await startMaster(["--heartbeat", "200"]);
  let port: number;
  await using node = await startNode(first.server, [
    "--heartbeat",
    "200",
    "--state-file",
    stateFile,
  ]);
  try {
    port = first.port;
    await node.event("synced", undefined, LONG);
    await first.proc.kill();
  } finally {
    await first[Symbol.asyncDispose]();
  }
  const silent = await node.event("master_silent", undefined, LONG);
  assert.equal(silent.policies, 4, "the last state is kept");
  assert.ok(Number(silent.missed) >= 3);
  // The table is still persisted while the master is away.
  const saved = JSON.parse(await Deno.readTextFile(stateFile));
  assert.equal(saved.policies.length, 4);
  // The master returns on the same port, with one more policy.
  await using again = await startMaster([
    "--heartbeat",
    "200",
    "--policies",
    testdata("policies"),
  ], `tcp://127.0.0.1:${port}`);
  await using writer = await rawWriter(again.port);
  await writer.set("/acl/core/after", RULE);
  await node.event("table_version", (e) => e.policies === 5, LONG);
  const resynced = node.events.filter((e) => e.event === "synced");
  assert.ok(resynced.length >= 2, "a second snapshot after the master came back");
  await node.stop();
  await again.proc.stop();
});

Deno.test("restart: a node enforces its persisted table at once, then re-syncs", async () => {
  await using dir = await Deno.makeTempDir().then((path) => ({
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }));
  const stateFile = `${dir.path}/node.json`;
  await using master = await startMaster();
  {
    await using node = await startNode(master.server, ["--state-file", stateFile]);
    await node.event("synced", undefined, LONG);
    await node.stop();
  }
  await master.proc.kill();
  // No master at all: the restarted node still has its policies.
  await using node = await startNode(master.server, ["--state-file", stateFile]);
  const restored = await node.event("state_restored", undefined, LONG);
  assert.equal(restored.policies, 4);
  const line = await node.stdoutLine((l) => l.includes('"restored"'), LONG);
  assert.deepEqual(JSON.parse(line), { kind: "restored", version: restored.version, policies: 4 });
  await node.event("sync_timeout", undefined, LONG);
  await node.stop();
});

Deno.test("malformed policy: the master refuses it and nodes keep the previous version", async () => {
  await using master = await startMaster();
  await using node = await startNode(master.server);
  const synced = await node.event("synced", undefined, LONG);
  await using writer = await rawWriter(master.port);
  await writer.set("/acl/dmz/web", "allow tcp from any to 10.0.1.10 port 443\npermit everything");
  const rejected = await master.proc.event("policy_rejected", undefined, LONG);
  assert.match(String(rejected.reason), /line 2/);
  // A valid update afterwards proves the node is live and skipped nothing.
  await writer.set("/acl/dmz/ok", RULE);
  await node.event("table_version", (e) => e.policies === 5, LONG);
  await node.stdoutLine((l) => l.includes(`"/acl/dmz/ok"`), LONG); // every line before it is in
  assert.equal(changes(node).filter((c) => c.key === "/acl/dmz/web").length, 0);
  assert.equal(node.eventCount("sequence_gap"), 0);
  assert.notEqual(synced.version, undefined);
  // The operator command refuses it before sending anything (exit 2).
  const cli = await runOnce("07", "policy_master", [
    "set",
    "--server",
    master.server,
    "/acl/dmz/web",
    "permit everything",
  ]);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /policy \/acl\/dmz\/web: line 1/);
  // A bad policy file is a configuration error too.
  const bad = await runOnce("07", "policy_master", ["--policies", testdata("bad_policy.acl")]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad_policy.acl: policy \/acl\/dmz\/broken \(line 1\): line 2/);
  await node.stop();
  await master.proc.stop();
});

Deno.test("garbage on every socket is logged as bad_message and dropped", async () => {
  await using master = await startMaster();
  await using writer = await rawWriter(master.port);
  await writer.sendFrames([new TextEncoder().encode("just one frame")]);
  await master.proc.event("bad_message", (e) => e.socket === "collector", LONG);
  const dealer = new Dealer({ linger: 0 });
  try {
    dealer.connect(master.server);
    await dealer.send(["GIMME", ""]);
    await master.proc.event("bad_message", (e) => e.socket === "snapshot", LONG);
  } finally {
    dealer.close();
  }
  await using node = await startNode(master.server);
  assert.equal((await node.event("synced", undefined, LONG)).policies, 4, "still serving");
  await node.stop();
  await master.proc.stop();
});

Deno.test("a sequence gap (injected loss) makes the node re-sync to the master's table", async () => {
  await using master = await startMaster();
  await using node = await startNode(master.server, ["--drop-every", "3"]);
  await node.event("synced", undefined, LONG);
  await using writer = await rawWriter(master.port);
  for (let i = 0; i < 6; i++) await writer.set(`/acl/gap/k${i}`, RULE);
  await node.event("sequence_gap", undefined, LONG);
  await node.event("synced", (e) => e.reason === "sequence_gap", LONG);
  await node.event("table_version", (e) => e.policies === 10, LONG);
  await node.stop();
  await master.proc.stop();
});

Deno.test("--pull: KVSETs from a PUSH writer (the Guide's clone.py) are taken too", async () => {
  await using dir = await tempDir();
  await using master = await startMaster(["--pull", `ipc://${dir.path}/pull`]);
  await using node = await startNode(master.server);
  await node.event("synced", undefined, LONG);
  const push = new Push({ linger: 1000 });
  try {
    push.connect(`ipc://${dir.path}/pull`);
    await push.send(encodeKv({
      key: "/acl/dmz/pushed",
      sequence: 0,
      uuid: newUuid(),
      properties: new Map(),
      body: new TextEncoder().encode(RULE),
    }));
    await node.event("table_version", (e) => e.policies === 5, LONG);
  } finally {
    push.close();
  }
  await node.stop();
  await master.proc.stop();
});

Deno.test("subtree: a node replicates only /acl/dmz/", async () => {
  await using master = await startMaster();
  await using node = await startNode(master.server, ["--subtree", "/acl/dmz/"]);
  assert.equal((await node.event("synced", undefined, LONG)).policies, 2);
  await using writer = await rawWriter(master.port);
  await writer.set("/acl/core/x", RULE);
  await writer.set("/acl/dmz/y", RULE);
  await node.event("table_version", (e) => e.policies === 3, LONG);
  await node.stdoutLine((l) => l.includes(`"/acl/dmz/y"`), LONG); // every line before it is in
  assert.ok(changes(node).every((c) => !String(c.key ?? "").startsWith("/acl/core/")));
  await node.stop();
  await master.proc.stop();
});

Deno.test("options: bad values exit 2 with one line; --help lists the roles' flags", async () => {
  const bad = await runOnce("07", "firewall_node", ["--subtree", "acl"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /subtree/);
  const port = await runOnce("07", "policy_master", ["--bind", "tcp://127.0.0.1:65535"]);
  assert.equal(port.code, 2);
  const help = await runOnce("07", "firewall_node", ["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--server", "--subtree", "--state-file", "--json", "--liveness"]) {
    assert.match(help.stdout, new RegExp(flag));
  }
});

const python = await pythonWithZmq();
if (!python) {
  console.log(
    "skipping the Guide interop tests: python3-zmq is not installed (apt-get install -y python3-zmq)",
  );
}

Deno.test({
  name: "interop: a Guide-style clonecli6.py against our master and node",
  ignore: !python,
  async fn() {
    await using master = await startMaster();
    await using node = await startNode(master.server);
    await node.event("synced", undefined, LONG);
    await using cli = spawnGuidePython(python!, "clonecli6.py", [
      "--server",
      master.server,
      "--subtree",
      "/acl/",
      "--set",
      "/acl/py/a=allow tcp from any to any port 8080",
      "--set",
      `/acl/py/b=${RULE}@1`,
      "--seconds",
      "6",
    ]);
    await cli.stdoutLine(/I: received snapshot=\d+ count=4/, LONG);
    await cli.stdoutLine(/I: received update=\d+ key=\/acl\/py\/a/, LONG);
    await cli.stdoutLine(/I: received delete=\d+ key=\/acl\/py\/b/, LONG);
    await node.event("table_version", (e) => e.policies === 5, LONG);
    const kinds = changes(node).filter((c) => c.key === "/acl/py/b").map((c) => c.kind);
    await waitFor(
      "the node to see /acl/py/b set and expired",
      () => changes(node).filter((c) => c.key === "/acl/py/b").length === 2,
      { timeoutMs: 10_000 },
    );
    assert.ok(kinds.length <= 2);
    assert.equal((await cli.wait()).code, 0);
    await node.stop();
    await master.proc.stop();
  },
});

Deno.test({
  name: "interop: our node and writer against a Guide-style clonesrv6.py",
  ignore: !python,
  async fn() {
    await using srv = spawnGuidePython(python!, "clonesrv6.py", [
      "-p",
      "--port",
      "0",
      "--set",
      `/acl/dmz/web=${RULE}`,
    ]);
    const line = await srv.stdoutLine(/I: listening on \d+/, LONG);
    const server = `tcp://127.0.0.1:${/(\d+)$/.exec(line)![1]}`;
    await using node = await startNode(server, ["--heartbeat", "1000"]);
    const synced = await node.event("synced", undefined, LONG);
    assert.equal(synced.policies, 1);
    const set = await runOnce("07", "policy_master", [
      "set",
      "--server",
      server,
      "/acl/dmz/x",
      "allow tcp from any to any port 22",
    ]);
    assert.equal(set.code, 0, set.stderr);
    await node.event("table_version", (e) => e.policies === 2, LONG);
    await srv.stdoutLine(/I: publishing update=\d+ key=\/acl\/dmz\/x/, LONG);
    await node.stop();
  },
});

const netnsSkip = await netnsSkipReason();
if (netnsSkip) console.log(`skipping the Lab 07 namespace tests: ${netnsSkip}`);

Deno.test({
  name:
    "pair (Clone model 6, namespaces): primary kill -9 -> the node fails over to the backup, nothing lost",
  ignore: netnsSkip !== undefined,
  async fn() {
    await using net = await createPairNetwork();
    const HB = "250";
    const primary = await startHalf(net, "primary", 250);
    try {
      await using backup = await startHalf(net, "backup", 250);
      await primary.event("state_changed", (e) => e.to === "ACTIVE", LONG);
      await backup.event("state_changed", (e) => e.to === "PASSIVE", LONG);
      const servers = [chpOn(net, "primary"), chpOn(net, "backup")];
      await using node = await startNode(servers, ["--heartbeat", HB], {
        netns: net.host("node").netns,
      });
      assert.equal((await node.event("synced", undefined, LONG)).server, 0);
      const write = (key: string) =>
        runOnce("07", "policy_master", [
          "set",
          ...servers.flatMap((s) => ["--server", s]),
          key,
          RULE,
        ], { netns: net.host("node").netns });
      const first = await write("/acl/dmz/before");
      assert.equal(first.code, 0, first.stderr);
      await node.event("table_version", (e) => e.policies === 5, LONG);
      // The backup mirrors the active: it has the update too.
      await backup.event("synced", undefined, LONG);
      await primary.kill();
      await node.event("master_silent", undefined, LONG);
      const failover = await node.event("synced", (e) => e.server === 1, LONG);
      assert.equal(failover.policies, 5, "the backup had every policy the primary had published");
      await backup.event("became_active", undefined, LONG);
      const second = await write("/acl/dmz/after");
      assert.equal(second.code, 0, second.stderr);
      await node.event("table_version", (e) => e.policies === 6, LONG);
      await node.stop();
      await backup.stop();
    } finally {
      await primary[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "node link down (namespaces): the node keeps its table, reports the master silent, re-syncs after link up",
  ignore: netnsSkip !== undefined,
  async fn() {
    await using net = await createPairNetwork();
    const server = chpOn(net, "primary");
    await using master = await startMaster(
      ["--heartbeat", "250"],
      server,
      net.host("primary").netns,
    );
    await using node = await startNode(server, ["--heartbeat", "250"], {
      netns: net.host("node").netns,
    });
    await node.event("synced", undefined, LONG);
    await net.linkDown("node");
    const silent = await node.event("master_silent", undefined, LONG);
    assert.equal(silent.policies, 4, "the last table is kept while the link is down");
    // A change the node cannot see yet.
    const set = await runOnce("07", "policy_master", [
      "set",
      "--server",
      server,
      "/acl/dmz/while-down",
      RULE,
    ], {
      netns: net.host("primary").netns,
    });
    assert.equal(set.code, 0, set.stderr);
    await net.linkUp("node");
    await node.event("table_version", (e) => e.policies === 5, { timeout: 60_000 });
    assert.ok(node.eventCount("synced") >= 2, "it re-synced by snapshot");
    await node.stop();
    await master.proc.stop();
  },
});
