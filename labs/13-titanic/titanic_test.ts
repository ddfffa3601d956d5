/**
 * Lab 13 process tests: Lab 12's Majordomo broker and echo workers, storage_service,
 * titanic_broker and patient_client (and the Guide-style Python peers in testdata/) as real
 * processes on ephemeral endpoints, asserting on their JSON events and output.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { pythonWithZmq, runOnce, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import {
  jsonLines,
  runPatient,
  spawnPeer,
  startEcho,
  startMajordomo,
  startStorage,
  startTitanic,
} from "./testing.ts";

const QUICK_RETRY = ["--retry-initial", "100", "--retry-max", "500", "--poll-interval", "100"];

/** Rows by state in a storage database (read beside the running service: WAL allows it). */
function dbCounts(path: string): Record<string, number> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT state, COUNT(*) AS n FROM requests GROUP BY state").all() as {
      state: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  } finally {
    db.close();
  }
}

Deno.test("every role answers --help", async () => {
  for (const role of ["titanic_broker", "storage_service", "patient_client"]) {
    const result = await runOnce("13", role, ["--help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--help/);
  }
});

Deno.test("bad configuration exits 2 with one line", async () => {
  const result = await runOnce("13", "patient_client", ["--resume", "not-a-uuid"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /expected --resume of 32 hex characters, got "not-a-uuid"/);
});

Deno.test("request, go away, resume: the reply is kept until closed; close is idempotent; unknown is 400", async () => {
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using storage = await startStorage(`${dir.path}/t.db`);
  await using titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
  await using _echo = await startEcho(broker);
  const first = await runPatient(broker.endpoint, ["--body", "hi", "--no-wait"]);
  assert.equal(first.code, 0, first.stderr);
  const [{ uuid }] = jsonLines(first);
  assert.match(String(uuid), /^[0-9a-f]{32}$/);
  // Collected later, twice (titanic.reply is idempotent until closed).
  const again = await runPatient(broker.endpoint, ["--resume", String(uuid), "--no-close"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(jsonLines(again), [{ uuid, reply: ["hi"] }]);
  const third = await runPatient(broker.endpoint, ["--resume", String(uuid)]);
  assert.deepEqual(jsonLines(third), [{ uuid, reply: ["hi"] }]);
  // Closed now: unknown (400), and the client stops asking.
  const gone = await runPatient(broker.endpoint, ["--resume", String(uuid)]);
  assert.equal(gone.code, 1);
  assert.deepEqual(jsonLines(gone), [{ uuid, error: "400" }]);
  assert.equal(titanic.eventCount("bad_message"), 0);
  // Graceful stops (SIGTERM): exit 0, stats logged.
  await titanic.stop();
  await titanic.event("titanic_stats");
  await storage.proc.stop();
  await storage.proc.event("store_closed");
});

Deno.test("target service offline: requests accepted and stored, processed when a worker comes up", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await using broker = await startMajordomo();
  await using storage = await startStorage(db);
  await using titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
  const stored = await runPatient(broker.endpoint, [
    "--service",
    "later",
    "--requests",
    "20",
    "--no-wait",
  ]);
  assert.equal(stored.code, 0, stored.stderr);
  const uuids = jsonLines(stored).map((l) => String(l.uuid));
  assert.equal(new Set(uuids).size, 20);
  assert.deepEqual(dbCounts(db), { pending: 20 });
  await titanic.event("retry_later", (e) => e.service === "later", { timeout: 20_000 });
  await using _worker = await startEcho(broker, "later");
  const collected = await runPatient(broker.endpoint, [
    "--requests",
    "0",
    ...uuids.flatMap((u) => ["--resume", u]),
  ]);
  assert.equal(collected.code, 0, collected.stderr);
  const replies = jsonLines(collected);
  assert.equal(replies.length, 20);
  const bodies = new Map(jsonLines(stored).map((l) => [l.uuid, l.body]));
  for (const r of replies) assert.deepEqual(r.reply, [bodies.get(r.uuid)]);
});

Deno.test("dead letter after --max-attempts, with the reason stored and answered as 500", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await using broker = await startMajordomo();
  await using storage = await startStorage(db);
  await using titanic = await startTitanic(broker, storage.endpoint, [
    ...QUICK_RETRY,
    "--max-attempts",
    "3",
  ]);
  const result = await runPatient(broker.endpoint, ["--service", "nobody", "--max-wait", "60000"]);
  assert.equal(result.code, 1);
  const [line] = jsonLines(result).filter((l) => l.error);
  assert.match(
    String(line.error),
    /^500 dead letter after 3 attempts: service "nobody" has no workers/,
  );
  const dead = await titanic.event("dead_letter");
  assert.equal(dead.attempts, 3);
  await waitFor("dead row", () => dbCounts(db).dead === 1, { timeoutMs: 5000 });
});

Deno.test("malformed titanic.* bodies are answered 400 and logged; garbage on the storage socket is dropped", async () => {
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using storage = await startStorage(`${dir.path}/t.db`);
  await using titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
  const client = new Dealer({ linger: 0 });
  const raw = new Dealer({ linger: 0 });
  try {
    client.connect(broker.endpoint);
    raw.connect(storage.endpoint);
    const e = new TextEncoder();
    const ask = async (service: string, ...body: string[]) => {
      await client.send(["", "MDPC01", service, ...body]);
      const reply = await client.receive();
      return new TextDecoder().decode(reply[3]);
    };
    assert.match(await ask("titanic.reply", "xyz"), /^400 bad request: expected a UUID/);
    assert.match(await ask("titanic.close", "a", "b"), /^400 bad request: expected 1 UUID frame/);
    assert.match(await ask("titanic.request", "echo"), /^400 bad request/);
    assert.match(await ask("titanic.request", "mmi.service", "x"), /^400 bad request/);
    await waitFor("bad_message events", () => titanic.eventCount("bad_message") >= 1, {
      timeoutMs: 5000,
    });
    await raw.send([e.encode("not msgpack"), e.encode("x")]);
    await raw.send([Uint8Array.of(0xc1)]);
    await raw.send([e.encode("\x81\xa2op\xa3get")]); // {op: "get"} without id or uuid
    await storage.proc.event("bad_message");
    // Both still serve.
    assert.match(await ask("titanic.reply", "0".repeat(32)), /^400$/);
  } finally {
    client.close();
    raw.close();
  }
});

/** Every done row's reply equals its request body (echo): nothing mixed up, nothing lost. */
function assertEchoed(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT uuid, body, reply FROM requests WHERE state = 'done'")
      .all() as { uuid: string; body: Uint8Array; reply: Uint8Array }[];
    for (const row of rows) {
      assert.deepEqual(row.reply, row.body, `reply of ${row.uuid} differs from its request`);
    }
    return rows.length;
  } finally {
    db.close();
  }
}

Deno.test("kill -9 titanic_broker and storage_service mid-stream, restart: no accepted request lost, none answered twice differently", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  const storageBind = `ipc://${dir.path}/storage.sock`;
  await using broker = await startMajordomo();
  await using _echo = await startEcho(broker, "echo", ["--delay", "2"]);
  let storage = await startStorage(db, storageBind);
  let titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
  const N = 300;
  try {
    const client = runPatient(broker.endpoint, [
      "--requests",
      String(N),
      "--no-close",
      "--timeout",
      "1500",
      "--retries",
      "20",
      "--poll-interval",
      "100",
    ], 240_000);
    const total = () => Object.values(dbCounts(db)).reduce((a, b) => a + b, 0);
    await waitFor("60 requests stored", () => total() >= 60, { timeoutMs: 60_000 });
    await titanic.kill(); // SIGKILL: no drain, no DISCONNECT
    await titanic[Symbol.asyncDispose]();
    titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
    await waitFor("150 requests stored", () => total() >= 150, { timeoutMs: 60_000 });
    await storage.proc.kill();
    await storage[Symbol.asyncDispose]();
    storage = await startStorage(db, storageBind);
    const result = await client;
    assert.equal(result.code, 0, result.stderr + result.stdout.slice(-2000));
    const lines = jsonLines(result);
    const accepted = lines.filter((l) => "body" in l);
    const replies = lines.filter((l) => "reply" in l);
    assert.equal(accepted.length, N);
    // Every accepted request answered with its own body, exactly once.
    const byUuid = new Map(accepted.map((l) => [l.uuid, l.body]));
    assert.equal(replies.length, N);
    for (const r of replies) assert.deepEqual(r.reply, [byUuid.get(r.uuid)]);
    // Asked again after the crashes, the answers are the same (no second, different result).
    const again = await runPatient(broker.endpoint, [
      "--no-close",
      ...[...byUuid.keys()].slice(0, 50).flatMap((u) => ["--resume", String(u)]),
    ]);
    for (const r of jsonLines(again)) assert.deepEqual(r.reply, [byUuid.get(r.uuid)]);
    // The store holds each accepted request done, with its own body as reply.
    assert.ok(assertEchoed(db) >= N);
  } finally {
    await titanic[Symbol.asyncDispose]();
    await storage[Symbol.asyncDispose]();
  }
});

Deno.test("many requests end to end (2,000 here; bench.ts runs 10,000)", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await using broker = await startMajordomo();
  await using storage = await startStorage(db);
  await using titanic = await startTitanic(broker, storage.endpoint, [], 4);
  await using _echo1 = await startEcho(broker);
  await using _echo2 = await startEcho(broker);
  const N = 2000;
  const result = await runPatient(broker.endpoint, [
    "--requests",
    String(N),
    "--concurrency",
    "8",
    "--no-close",
  ], 300_000);
  assert.equal(result.code, 0, result.stderr);
  const lines = jsonLines(result);
  const bodies = new Map(lines.filter((l) => "body" in l).map((l) => [l.uuid, l.body]));
  assert.equal(bodies.size, N);
  const replies = lines.filter((l) => "reply" in l);
  assert.equal(replies.length, N);
  for (const r of replies) assert.deepEqual(r.reply, [bodies.get(r.uuid)]);
  assert.equal(assertEchoed(db), N);
  await titanic.stop();
  const stats = await titanic.event("titanic_stats");
  assert.equal(stats.requests, N);
  assert.equal(stats.completed, N);
});

Deno.test("interop: the Guide's ticlient (testdata/ticlient.py) against our titanic_broker", async () => {
  const python = await pythonWithZmq();
  if (!python) {
    console.log("skipping: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using storage = await startStorage(`${dir.path}/t.db`);
  await using _titanic = await startTitanic(broker, storage.endpoint, QUICK_RETRY);
  await using _echo = await startEcho(broker);
  await using peer = spawnPeer(python, "ticlient.py", [broker.endpoint, "echo", "from python"]);
  const uuid = (await peer.stdoutLine((l) => l.startsWith("uuid "), { timeout: 20_000 })).slice(5);
  assert.match(uuid, /^[0-9a-f]{32}$/);
  await peer.stdoutLine("reply from python", { timeout: 30_000 });
  await peer.stdoutLine("closed", { timeout: 20_000 });
  assert.equal((await peer.wait()).code, 0);
  assert.deepEqual(dbCounts(`${dir.path}/t.db`), {}); // closed: nothing left
});

Deno.test("interop: our patient_client against the Guide's titanic (testdata/titanic.py)", async () => {
  const python = await pythonWithZmq();
  if (!python) {
    console.log("skipping: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using peer = spawnPeer(python, "titanic.py", [broker.endpoint, `${dir.path}/titanic`]);
  await waitFor(
    "titanic.py services registered",
    () =>
      broker.proc.eventCount("worker_ready", (e) => String(e.service).startsWith("titanic.")) >= 3,
    { timeoutMs: 20_000 },
  );
  // Stored while the service is offline, answered once a worker comes.
  const stored = await runPatient(broker.endpoint, ["--requests", "3", "--no-wait"]);
  assert.equal(stored.code, 0, stored.stderr);
  const uuids = jsonLines(stored).map((l) => String(l.uuid));
  await using _echo = await startEcho(broker);
  // titanic.py dispatches once a second and its workers reconnect after 2.5 s when a loaded
  // machine delays their heartbeats: more patience than our own broker needs.
  const result = await runPatient(broker.endpoint, [
    ...uuids.flatMap((u) => ["--resume", u]),
    ...["--retries", "8"],
  ]);
  assert.equal(result.code, 0, result.stderr);
  const bodies = new Map(jsonLines(stored).map((l) => [l.uuid, l.body]));
  const replies = jsonLines(result);
  assert.equal(replies.length, 3);
  for (const r of replies) assert.deepEqual(r.reply, [bodies.get(r.uuid)]);
  await peer.stdoutLine((l) => l.startsWith("dispatched "));
});
