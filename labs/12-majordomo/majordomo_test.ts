/**
 * Lab 12 process tests: the real broker, workers and clients (and the Guide-style Python
 * peers in testdata/) on ephemeral endpoints, asserting on their JSON events and output.
 */
import assert from "node:assert/strict";
import { encodeClientRequest, encodeWorker, MdpCommand, MDPW01 } from "@lib/patterns/mod.ts";
import { pythonWithZmq, runOnce, spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Dealer, Router } from "@lib/zmq/mod.ts";
import { jsonLines, runClient, spawnPeer, startBroker, startWorker } from "./testing.ts";

// Short heartbeats keep the tests quick; liveness 4 leaves room for a loaded machine.
const FAST = ["--heartbeat-interval", "250", "--liveness", "4"];
const enc = new TextEncoder();

Deno.test("every role answers --help", async () => {
  for (const role of ["majordomo_broker", "echo_worker", "client_requester"]) {
    const result = await runOnce("12", role, ["--help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--help/);
  }
});

Deno.test("services x workers: every request answered, LRU spreads a service's work, SIGTERM sends DISCONNECT", async () => {
  await using broker = await startBroker();
  const workers = [];
  try {
    for (const service of ["alpha", "beta", "gamma"]) {
      for (let i = 0; i < 2; i++) {
        workers.push(await startWorker(broker, service, ["--delay", "5"]));
      }
    }
    const runs = await Promise.all(
      ["alpha", "beta", "gamma"].map((service) =>
        runClient(broker.endpoint, [
          "--service",
          service,
          "--mode",
          "async",
          "--window",
          "8",
          "--requests",
          "200",
          "--body",
          service,
        ])
      ),
    );
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 0, run.stderr);
      const replies = jsonLines(run);
      assert.equal(replies.length, 200);
      const service = ["alpha", "beta", "gamma"][i];
      for (const r of replies) assert.deepEqual(r, { service, body: [service] });
    }
    for (const worker of workers) {
      await worker.stop();
      const stats = await worker.event("worker_stats");
      // Both workers of a service took a share (LRU dispatch), none idle.
      assert.ok(Number(stats.replies) > 20, `expected a share of 200, got ${stats.replies}`);
    }
    assert.equal(broker.proc.eventCount("worker_left"), 6);
  } finally {
    for (const w of workers) await w[Symbol.asyncDispose]();
  }
});

Deno.test("8/MMI: mmi.service answers 200 and 404, other mmi.* 501; --json table lists the service", async () => {
  await using broker = await startBroker(["--json", "--table-interval", "100"]);
  await using _worker = await startWorker(broker, "echo");
  const line = await broker.proc.stdoutLine((l) => l.includes('"service":"echo"'));
  const table = JSON.parse(line);
  assert.deepEqual(table.services[0].service, "echo");
  assert.equal(table.services[0].workers, 1);
  assert.equal(table.workers, 1);
  const ask = async (service: string, body: string) =>
    jsonLines(await runClient(broker.endpoint, ["--service", service, "--body", body]))[0];
  assert.deepEqual(await ask("mmi.service", "echo"), { service: "mmi.service", body: ["200"] });
  assert.deepEqual(await ask("mmi.service", "nobody"), { service: "mmi.service", body: ["404"] });
  assert.deepEqual(await ask("mmi.nothing", "x"), { service: "mmi.nothing", body: ["501"] });
});

Deno.test("bounded queue: past --queue-size a 503 error reply; no worker before the deadline: 504", async () => {
  await using broker = await startBroker(["--queue-size", "2", "--request-timeout", "1000"]);
  const run = await runClient(broker.endpoint, [
    "--service",
    "nobody",
    "--mode",
    "async",
    "--window",
    "5",
    "--requests",
    "5",
    "--timeout",
    "20000",
  ]);
  assert.equal(run.code, 1); // refusals are failures for the CLI
  const codes = jsonLines(run).map((r) => r.error).sort();
  assert.deepEqual(codes, ["503", "503", "503", "504", "504"]);
  const texts = jsonLines(run).map((r) => String(r.text));
  assert.ok(texts.some((t) => t.startsWith("service queue full")), texts.join("; "));
});

Deno.test("a worker killed mid-request: the client's retry succeeds on another worker", async () => {
  await using broker = await startBroker(FAST);
  await using slow = await startWorker(broker, "echo", ["--delay", "600000", ...FAST], {
    LOG_LEVEL: "debug",
  });
  const client = runClient(broker.endpoint, ["--timeout", "1500", "--retries", "10"]);
  await slow.event("request_received", undefined, { timeout: 20_000 });
  await slow.kill();
  await using _healthy = await startWorker(broker, "echo", FAST);
  const result = await client;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(jsonLines(result), [{ service: "echo", body: ["hello"] }]);
  assert.ok(result.events.some((e) => e.event === "retry"), "expected at least one retry");
  await broker.proc.event("worker_expired", undefined, { timeout: 20_000 });
});

Deno.test("broker restart: workers re-register, a waiting client recovers", async () => {
  await using dir = await tempDir();
  const bind = `ipc://${dir.path}/mdp.sock`;
  const first = await startBroker(FAST, bind);
  await using worker = await startWorker(first, "echo", FAST);
  try {
    assert.equal((await runClient(bind, [])).code, 0);
    await first.proc.kill(); // no DISCONNECT: the worker must notice by heartbeats
  } finally {
    await first[Symbol.asyncDispose]();
  }
  await worker.event("broker_lost", undefined, { timeout: 20_000 });
  // A client asks while there is no broker; its retries reach the next one.
  const waiting = runClient(bind, ["--timeout", "1000", "--retries", "30"]);
  await using second = await startBroker(FAST, bind);
  await second.proc.event("worker_ready", (e) => e.service === "echo", { timeout: 30_000 });
  const result = await waiting;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(jsonLines(result), [{ service: "echo", body: ["hello"] }]);
});

Deno.test("heartbeats expire a SIGSTOPped worker; after SIGCONT it starts a new session and re-registers", async () => {
  await using broker = await startBroker(FAST);
  await using worker = await startWorker(broker, "echo", FAST);
  worker.signal("SIGSTOP");
  try {
    const expired = await broker.proc.event("worker_expired", undefined, { timeout: 20_000 });
    assert.equal(expired.reason, "heartbeat_expired");
    const mmi = jsonLines(
      await runClient(broker.endpoint, ["--service", "mmi.service", "--body", "echo"]),
    );
    assert.deepEqual(mmi, [{ service: "mmi.service", body: ["404"] }]);
  } finally {
    worker.signal("SIGCONT");
  }
  // The broker forgot it: its next HEARTBEAT gets DISCONNECT (or, on a loaded machine, the
  // broker's silence is noticed first); either way a new session registers again.
  await worker.event("ready", (e) => e.session === 2, { timeout: 20_000 });
  assert.ok(
    worker.eventCount("broker_disconnect") + worker.eventCount("broker_lost") >= 1,
    "expected the worker to end its first session",
  );
  await waitFor("worker re-registered", () => broker.proc.eventCount("worker_ready") >= 2, {
    timeoutMs: 20_000,
  });
  assert.equal((await runClient(broker.endpoint, [])).code, 0);
});

Deno.test("malformed frames on every command are dropped and logged; workers that send them get DISCONNECT", async () => {
  await using broker = await startBroker();
  const w = (cmd: number, ...rest: (string | Uint8Array)[]) => [
    new Uint8Array(0),
    MDPW01,
    Uint8Array.of(cmd),
    ...rest.map((f) => typeof f === "string" ? enc.encode(f) : f),
  ];
  // Each case from a fresh peer: [frames, expect DISCONNECT back].
  const cases: [Uint8Array[], boolean][] = [
    [[enc.encode("garbage")], false], // no delimiter
    [[new Uint8Array(0), enc.encode("MDPX01"), enc.encode("s"), enc.encode("b")], false], // bad header
    [encodeClientRequest("echo", []), false], // client REQUEST without a body
    [[new Uint8Array(0), enc.encode("MDPC01"), new Uint8Array(0), enc.encode("b")], false], // empty service
    [w(MdpCommand.READY), true], // READY without a service
    [w(MdpCommand.READY, "a", "b"), true], // READY with two
    [w(MdpCommand.READY, "mmi.x"), true], // READY for the reserved namespace
    [w(0x09), true], // unknown command
    [[new Uint8Array(0), MDPW01, Uint8Array.of(1, 2)], true], // two-byte command
    [w(MdpCommand.REPLY, "client", "", "body"), true], // REPLY from an unknown worker
    [w(MdpCommand.REPLY, "client", "x", "body"), true], // REPLY without the delimiter
    [w(MdpCommand.HEARTBEAT), true], // HEARTBEAT from an unknown worker
    [w(MdpCommand.HEARTBEAT, "extra"), true], // HEARTBEAT with frames
    [w(MdpCommand.REQUEST, "c", "", "b"), true], // REQUEST from a worker
  ];
  const peers: Dealer[] = [];
  try {
    for (const [frames, disconnect] of cases) {
      const peer = new Dealer({ linger: 0, receiveTimeout: disconnect ? 10_000 : 300 });
      peers.push(peer);
      peer.connect(broker.endpoint);
      await peer.send(frames);
      if (disconnect) {
        const reply = await peer.receive();
        assert.deepEqual(
          reply.map((f) => [...f]),
          encodeWorker({ command: "DISCONNECT" }).map((f) => [...f]),
        );
      } else {
        await assert.rejects(peer.receive(), (e: Error & { code?: string }) => e.code === "EAGAIN");
      }
    }
    // A registered worker that then sends garbage is dropped too.
    const bad = new Dealer({ linger: 0, receiveTimeout: 10_000 });
    peers.push(bad);
    bad.connect(broker.endpoint);
    await bad.send(encodeWorker({ command: "READY", service: "junk" }));
    await broker.proc.event("worker_ready", (e) => e.service === "junk");
    await bad.send(w(MdpCommand.READY, "junk")); // a second READY
    const reply = await bad.receive();
    assert.equal(reply[2][0], MdpCommand.DISCONNECT);
  } finally {
    for (const p of peers) p.close();
  }
  await waitFor("bad_message logged", () => broker.proc.eventCount("bad_message") >= 5);
  await using _worker = await startWorker(broker, "echo");
  const ok = await runClient(broker.endpoint, []);
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("client_requester: replies that are not MDP/Client are logged as bad_message, counted failed", async () => {
  const fake = new Router({ linger: 0 });
  try {
    await fake.bind("tcp://127.0.0.1:*");
    const endpoint = fake.lastEndpoint!;
    (async () => {
      for await (const [peer] of fake) {
        await fake.send([peer, new Uint8Array(0), enc.encode("HTTP/1.1 200 OK")]);
      }
    })().catch(() => {});
    const sync = await runClient(endpoint, ["--retries", "1", "--timeout", "2000"]);
    assert.equal(sync.code, 1);
    assert.ok(sync.events.some((e) => e.event === "bad_message"), sync.stderr);
    const async_ = await runClient(endpoint, [
      "--mode",
      "async",
      "--requests",
      "3",
      "--timeout",
      "500",
    ]);
    assert.equal(async_.code, 1);
    assert.ok(async_.events.some((e) => e.event === "bad_message"));
    assert.equal(async_.events.find((e) => e.event === "summary")?.failed, 3);
  } finally {
    fake.close();
  }
});

const python = await pythonWithZmq();
if (!python) console.log("Lab 12 interop tests skipped: no python3 here can import zmq");

Deno.test({
  name:
    "interop: Guide-style Python broker serves our echo_worker and client_requester (sync, async, MMI)",
  ignore: python === undefined,
  async fn() {
    await using broker = spawnPeer(python!, "mdbroker.py", ["tcp://127.0.0.1:*", "500"]);
    const endpoint = (await broker.stdoutLine((l) => l.startsWith("listening "))).split(" ")[1];
    await using worker = await spawnRole("12", "echo_worker", [
      "--broker",
      endpoint,
      "--heartbeat-interval",
      "500",
    ]);
    await worker.event("ready");
    // The Python broker says nothing about registrations: ask it (MMI) until it knows.
    await waitFor("python broker knows echo", async () => {
      const r = jsonLines(
        await runClient(endpoint, ["--service", "mmi.service", "--body", "echo"]),
      );
      return r[0]?.body?.toString() === "200";
    }, { timeoutMs: 20_000 });
    const sync = await runClient(endpoint, ["--requests", "20", "--body", "a,b"]);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(jsonLines(sync).length, 20);
    assert.deepEqual(jsonLines(sync)[0], { service: "echo", body: ["a", "b"] });
    const async_ = await runClient(endpoint, [
      "--mode",
      "async",
      "--window",
      "10",
      "--requests",
      "200",
      "--quiet",
    ]);
    assert.equal(async_.code, 0, async_.stderr);
    assert.equal(async_.events.find((e) => e.event === "summary")?.replied, 200);
    const mmi501 = jsonLines(await runClient(endpoint, ["--service", "mmi.foo"]));
    assert.deepEqual(mmi501, [{ service: "mmi.foo", body: ["501"] }]);
    await worker.stop();
  },
});

Deno.test({
  name:
    "interop: our broker serves the Guide-style Python worker, mdclient (REQ) and mdclient2 (DEALER)",
  ignore: python === undefined,
  async fn() {
    await using broker = await startBroker(["--heartbeat-interval", "500"]);
    await using worker = spawnPeer(python!, "mdworker.py", [broker.endpoint, "echo", "500"]);
    await broker.proc.event("worker_ready", (e) => e.service === "echo", { timeout: 20_000 });
    await using client = spawnPeer(python!, "mdclient.py", [
      broker.endpoint,
      "echo",
      "10",
      "x",
      "y",
    ]);
    assert.equal(await client.stdoutLine((l) => l.startsWith("done ")), "done 10");
    assert.ok(client.stdoutLines.includes("reply echo x|y"), client.stdoutLines.join("\n"));
    await using client2 = spawnPeer(python!, "mdclient2.py", [broker.endpoint, "echo", "100"]);
    assert.equal(await client2.stdoutLine((l) => l.startsWith("done ")), "done 100");
    await using mmi = spawnPeer(python!, "mdclient.py", [
      broker.endpoint,
      "mmi.service",
      "1",
      "echo",
    ]);
    await mmi.stdoutLine((l) => l.startsWith("done "));
    assert.ok(mmi.stdoutLines.includes("reply mmi.service 200"), mmi.stdoutLines.join("\n"));
    // Heartbeats kept the Python worker registered all along.
    assert.equal(broker.proc.eventCount("worker_expired"), 0);
    await worker.kill();
  },
});
