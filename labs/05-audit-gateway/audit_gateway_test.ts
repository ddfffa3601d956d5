/**
 * Lab 05 process tests: real gateway, worker and client processes on ephemeral ports with
 * temp dirs, asserting the lab's guarantees from their JSON events, the acks the clients
 * got and the chain file itself.
 */
import assert from "node:assert/strict";
import { Dealer, Request } from "@lib/zmq/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import { type RoleProcess, runOnce, spawnRole, tempDir } from "@lib/testing/mod.ts";
import { ChainStore } from "./internal/chain_store.ts";
import { parseEntry } from "./internal/hash_chain.ts";
import { decodeReply, encodeRequest, WORKER_HEADER } from "./internal/protocol.ts";

const LAB = "05";
const ANY = "tcp://127.0.0.1:*";

function hexId(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The gateway's bound endpoints, from its `listening` events. */
async function endpointsOf(gateway: RoleProcess): Promise<{ frontend: string; backend: string }> {
  const endpoint = async (socket: string) =>
    String((await gateway.event("listening", (e) => e.socket === socket)).endpoint);
  return { frontend: await endpoint("frontend"), backend: await endpoint("backend") };
}

function spawnGateway(args: string[] = []): Promise<RoleProcess> {
  return spawnRole(LAB, "audit_gateway", ["--frontend", ANY, "--backend", ANY, ...args]);
}

async function spawnWorker(
  gateway: RoleProcess,
  backend: string,
  chain: string,
  identity: string,
  args: string[] = [],
): Promise<RoleProcess> {
  const worker = await spawnRole(LAB, "archival_worker", [
    "--gateway",
    backend,
    "--chain",
    chain,
    "--identity",
    identity,
    ...args,
  ]);
  await gateway.event("worker_ready", (e) => e.worker === hexId(identity));
  return worker;
}

interface Ack {
  id: string;
  seq: number;
  hash: string;
}

/** Reads the chain: id → entry; asserts every id appears once. */
async function readChain(path: string): Promise<Map<string, Ack>> {
  const text = await Deno.readTextFile(path);
  const byId = new Map<string, Ack>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const entry = parseEntry(line);
    assert.ok(!byId.has(entry.id), `id ${entry.id} is in the chain twice`);
    byId.set(entry.id, { id: entry.id, seq: entry.seq, hash: entry.hash });
  }
  return byId;
}

async function readAcks(path: string): Promise<Ack[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** Every ack a client got is in the chain with the same seq and hash. */
function assertAcksInChain(acks: Ack[], chain: Map<string, Ack>): void {
  for (const ack of acks) {
    const entry = chain.get(ack.id);
    assert.ok(entry, `acked id ${ack.id} is missing from the chain`);
    assert.deepEqual([entry.seq, entry.hash], [ack.seq, ack.hash], `ack of ${ack.id} differs`);
  }
}

async function verify(chain: string): Promise<{ code: number; stdout: string }> {
  const { code, stdout } = await runOnce(LAB, "archival_worker", ["verify", chain]);
  return { code, stdout };
}

async function clientSummary(client: RoleProcess, timeout = 60_000) {
  const summary = await client.event("summary", undefined, { timeout });
  const status = await client.wait();
  assert.equal(status.code, 0, `client exited ${status.code}\n${client.tail()}`);
  return summary;
}

Deno.test("1,000 concurrent DEALER clients x 10 records: each acked once and once in the chain", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  const acksFile = `${dir.path}/acks.ndjson`;
  await using gateway = await spawnGateway();
  const { frontend, backend } = await endpointsOf(gateway);
  await using w1 = await spawnWorker(gateway, backend, chain, "w1");
  await using w2 = await spawnWorker(gateway, backend, chain, "w2");
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "1000",
    "--records",
    "10",
    "--timeout",
    "30000",
    "--acks-out",
    acksFile,
  ]);
  const summary = await clientSummary(client, 120_000);
  assert.equal(summary.acked, 10_000);
  assert.equal(summary.failed, 0);
  assert.equal(summary.duplicate_acks, 0, "a record was acknowledged twice");
  assert.equal(summary.ack_mismatches, 0);
  const acks = await readAcks(acksFile);
  assert.equal(new Set(acks.map((a) => a.id)).size, 10_000);
  const entries = await readChain(chain);
  assert.equal(entries.size, 10_000, "the chain holds exactly the acked records");
  assertAcksInChain(acks, entries);
  await Promise.all([w1.stop(), w2.stop(), gateway.stop()]);
  const report = await verify(chain);
  assert.equal(report.code, 0, report.stdout);
  assert.match(report.stdout, /^ok: 10000 entries/);
  // Both workers took a share.
  const [d1, d2] = [await w1.event("worker_done"), await w2.event("worker_done")];
  assert.equal(Number(d1.stored) + Number(d2.stored), 10_000);
  assert.ok(Number(d1.stored) > 0 && Number(d2.stored) > 0);
});

Deno.test("verify fails on a flipped byte, a deleted line and a reordering, naming the record", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  {
    await using store = await ChainStore.open(chain);
    await store.append(
      Array.from({ length: 6 }, (_, i) => ({ id: `r${i + 1}`, record: { actor: "alice", i } })),
    );
  }
  const intact = await Deno.readTextFile(chain);
  const good = await verify(chain);
  assert.equal(good.code, 0);
  assert.match(good.stdout, /^ok: 6 entries/);
  const lines = intact.split("\n").slice(0, -1);
  const cases: [string, string, RegExp][] = [
    ["flip", intact.replace('"i":3', '"i":7'), /^bad record at seq 4 \(line 4\): hash mismatch/],
    [
      "delete",
      [...lines.slice(0, 2), ...lines.slice(3), ""].join("\n"),
      /^bad record at seq 3 \(line 3\): seq out of order: expected 3, got 4/,
    ],
    [
      "reorder",
      [lines[0], lines[1], lines[3], lines[2], lines[4], lines[5], ""].join("\n"),
      /^bad record at seq 3 \(line 3\): seq out of order/,
    ],
  ];
  for (const [name, text, expected] of cases) {
    const file = `${dir.path}/${name}.log`;
    await Deno.writeTextFile(file, text);
    const { code, stdout } = await verify(file);
    assert.equal(code, 1, `${name}: expected exit 1`);
    assert.match(stdout, expected, name);
  }
  // A byte flipped in a hash itself is caught as well.
  const bytes = new TextEncoder().encode(intact);
  const at = intact.indexOf('"hash":"') + 8;
  bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30;
  await Deno.writeFile(`${dir.path}/hashflip.log`, bytes);
  const flipped = await verify(`${dir.path}/hashflip.log`);
  assert.equal(flipped.code, 1);
  assert.match(flipped.stdout, /^bad record at seq 1 \(line 1\): hash mismatch/);
});

Deno.test("a worker killed mid-stream (SIGKILL) loses no acknowledged record", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  const acksFile = `${dir.path}/acks.ndjson`;
  await using gateway = await spawnGateway([
    "--heartbeat",
    "100",
    "--worker-timeout",
    "600",
    "--stats-interval",
    "50",
  ]);
  const { frontend, backend } = await endpointsOf(gateway);
  const hb = ["--heartbeat", "100", "--gateway-timeout", "600"];
  await using victim = await spawnWorker(gateway, backend, chain, "victim", [
    ...hb,
    "--delay",
    "5",
  ]);
  await using survivor = await spawnWorker(gateway, backend, chain, "survivor", hb);
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "100",
    "--records",
    "60",
    "--window",
    "5",
    "--timeout",
    "20000",
    "--acks-out",
    acksFile,
  ]);
  await gateway.event("stats", (e) => Number(e.acked) >= 1000, { timeout: 30_000 });
  await victim.kill();
  const lost = await gateway.event("worker_lost", (e) => e.worker === hexId("victim"), {
    timeout: 10_000,
  });
  const summary = await clientSummary(client);
  assert.equal(summary.acked, 6000);
  assert.equal(summary.failed, 0);
  const entries = await readChain(chain);
  assertAcksInChain(await readAcks(acksFile), entries);
  assert.equal(entries.size, 6000, "every record is in the chain exactly once");
  assert.ok(Number(lost.redispatch) > 0, "the killed worker held unacked records");
  await Promise.all([survivor.stop(), gateway.stop()]);
  const report = await verify(chain);
  assert.equal(report.code, 0, report.stdout);
});

Deno.test("over the in-flight bound clients get busy, their retries succeed and repeats are idempotent", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  await using gateway = await spawnGateway(["--max-inflight", "20", "--retry-after", "10"]);
  const { frontend, backend } = await endpointsOf(gateway);
  await using worker = await spawnWorker(gateway, backend, chain, "w1", [
    "--capacity",
    "10",
    "--delay",
    "10",
  ]);
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "50",
    "--records",
    "10",
    "--max-attempts",
    "1000",
    "--repeat",
  ]);
  const summary = await clientSummary(client);
  assert.ok(Number(summary.busy_replies) > 0, "expected busy replies above the bound");
  assert.equal(summary.acked, 500);
  assert.equal(summary.failed, 0);
  // --repeat resent all 500 ids: each came back with the original seq and hash.
  assert.equal(summary.duplicate_acks, 500);
  assert.equal(summary.ack_mismatches, 0);
  assert.equal((await readChain(chain)).size, 500);
  await Promise.all([worker.stop(), gateway.stop()]);
});

Deno.test("one slow worker does not stall the others: dispatch follows free credit", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  await using gateway = await spawnGateway();
  const { frontend, backend } = await endpointsOf(gateway);
  await using slow = await spawnWorker(gateway, backend, chain, "slow", [
    "--capacity",
    "4",
    "--delay",
    "500",
  ]);
  await using fast = await spawnWorker(gateway, backend, chain, "fast", ["--capacity", "4"]);
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "20",
    "--records",
    "40",
  ]);
  const summary = await clientSummary(client);
  assert.equal(summary.acked, 800);
  await Promise.all([slow.stop(), fast.stop(), gateway.stop()]);
  const [s, f] = [await slow.event("worker_done"), await fast.event("worker_done")];
  assert.equal(Number(s.stored) + Number(f.stored), 800);
  // Round-robin would give the slow worker half; credit-based dispatch gives it little.
  assert.ok(Number(s.stored) < 200, `slow worker stored ${s.stored} of 800`);
});

Deno.test("garbage on either socket is logged as bad_message and the gateway keeps serving", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  await using gateway = await spawnGateway();
  const { frontend, backend } = await endpointsOf(gateway);
  await using worker = await spawnWorker(gateway, backend, chain, "w1");
  const client = new Dealer({ linger: 0, receiveTimeout: 10_000 });
  const intruder = new Dealer({ linger: 0 });
  const req = new Request({ linger: 0, receiveTimeout: 10_000 });
  try {
    client.connect(frontend);
    intruder.connect(backend);
    const empty = new Uint8Array(0);
    await client.send(["a", "b", "c"]); // three frames, non-empty delimiter
    await client.send([empty, new Uint8Array([0xc1, 0xff, 0x00])]); // not msgpack
    await client.send([empty, encode({ no: "id" })]); // wrong schema
    await client.send([empty, new Uint8Array(70 * 1024)]); // oversize
    await intruder.send(["garbage"]);
    await intruder.send([WORKER_HEADER, "FLY"]);
    await intruder.send([WORKER_HEADER, "READY", "not msgpack"]);
    // A readable id with a record that is not JSON gets a structured `invalid` reply.
    await client.send([empty, encode({ id: "bad-1", record: new Uint8Array(4) })]);
    let reply = decodeReply((await client.receive()).at(-1)!);
    assert.equal(reply.status, "invalid");
    await gateway.event("bad_message", () => gateway.eventCount("bad_message") >= 8, {
      timeout: 5000,
    });
    assert.equal(gateway.eventCount("bad_message"), 8);
    // Still serving: a valid record is acked.
    await client.send([empty, encodeRequest({ id: "good-1", record: { actor: "bob" } })]);
    reply = decodeReply((await client.receive()).at(-1)!);
    assert.equal(reply.status, "ok");
    assert.equal(reply.id, "good-1");
    // A plain REQ socket (envelope ['', body]) is a client too.
    req.connect(frontend);
    await req.send(encodeRequest({ id: "req-1", record: { actor: "carol" } }));
    const [body] = await req.receive();
    assert.deepEqual(decodeReply(body).status, "ok");
  } finally {
    client.close();
    intruder.close();
    req.close();
  }
  await Promise.all([worker.stop(), gateway.stop()]);
});

Deno.test("SIGTERM to every role mid-stream: all exit 0 and every acked record is in the chain", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  const acksFile = `${dir.path}/acks.ndjson`;
  await using gateway = await spawnGateway(["--stats-interval", "50"]);
  const { frontend, backend } = await endpointsOf(gateway);
  await using w1 = await spawnWorker(gateway, backend, chain, "w1", ["--delay", "2"]);
  await using w2 = await spawnWorker(gateway, backend, chain, "w2", ["--delay", "2"]);
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "50",
    "--records",
    "20",
    "--rounds",
    "0",
    "--acks-out",
    acksFile,
  ]);
  await gateway.event("stats", (e) => Number(e.acked) >= 1500, { timeout: 30_000 });
  await Promise.all([client.stop(), gateway.stop(), w1.stop(), w2.stop()]);
  const acks = await readAcks(acksFile);
  assert.ok(acks.length >= 1000, `expected the client to hold acks, got ${acks.length}`);
  assertAcksInChain(acks, await readChain(chain));
  const report = await verify(chain);
  assert.equal(report.code, 0, report.stdout);
});

Deno.test("SIGTERM to the gateway with records at a slow worker: it drains them all before exiting", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  await using gateway = await spawnGateway(["--max-inflight", "16", "--stats-interval", "20"]);
  const { frontend, backend } = await endpointsOf(gateway);
  await using worker = await spawnWorker(gateway, backend, chain, "slow", [
    "--capacity",
    "8",
    "--delay",
    "300",
  ]);
  await using client = await spawnRole(LAB, "audit_client", [
    "--gateway",
    frontend,
    "--clients",
    "20",
    "--records",
    "20",
  ]);
  await gateway.event("stats", (e) => Number(e.acked) > 0 && Number(e.inflight) >= 8, {
    timeout: 20_000,
  });
  const stopping = gateway.stop();
  const draining = await gateway.event("draining");
  const drained = await gateway.event("drained", undefined, { timeout: 10_000 });
  await stopping;
  assert.ok(Number(draining.inflight) > 0, "nothing was in flight: the test proves nothing");
  // Every accepted record was acked before exit; the drain ended on the last ack, well
  // before the 4 s deadline (5 s shutdown timeout minus 1 s).
  assert.equal(drained.unacked, 0);
  assert.equal(drained.acked, drained.accepted);
  const tookMs = Date.parse(String(drained.ts)) - Date.parse(String(draining.ts));
  assert.ok(tookMs < 3000, `drain took ${tookMs} ms`);
  await client.kill();
  await worker.kill();
  const entries = await readChain(chain);
  assert.ok(entries.size >= Number(drained.acked), "an acked record is missing from the chain");
});

Deno.test("after a gateway restart workers re-register and resent ids get their original acks from the store", async () => {
  await using dir = await tempDir();
  const chain = `${dir.path}/audit.log`;
  const ipc = [
    "--frontend",
    `ipc://${dir.path}/front.sock`,
    "--backend",
    `ipc://${dir.path}/back.sock`,
  ];
  const frontend = `ipc://${dir.path}/front.sock`;
  const runClient = async (acksOut: string) => {
    await using client = await spawnRole(LAB, "audit_client", [
      "--gateway",
      frontend,
      "--clients",
      "5",
      "--records",
      "20",
      "--id-prefix",
      "restart",
      "--acks-out",
      acksOut,
    ]);
    return await clientSummary(client);
  };
  const hb = ["--heartbeat", "100", "--gateway-timeout", "500"];
  await using first = await spawnRole(LAB, "audit_gateway", ipc);
  await first.event("listening", (e) => e.socket === "backend");
  await using worker = await spawnWorker(first, `ipc://${dir.path}/back.sock`, chain, "w1", hb);
  await runClient(`${dir.path}/acks1.ndjson`);
  await first.kill();
  await using second = await spawnRole(LAB, "audit_gateway", ipc);
  // The worker's next heartbeat gets RESET (or it times the gateway out) and registers again.
  await second.event("worker_ready", (e) => e.worker === hexId("w1"));
  const summary = await runClient(`${dir.path}/acks2.ndjson`);
  assert.equal(summary.acked, 100);
  const before = await readAcks(`${dir.path}/acks1.ndjson`);
  const after = await readAcks(`${dir.path}/acks2.ndjson`);
  const key = (a: Ack) => `${a.id} ${a.seq} ${a.hash}`;
  assert.deepEqual(after.map(key).sort(), before.map(key).sort());
  assert.equal((await readChain(chain)).size, 100);
  await Promise.all([worker.stop(), second.stop()]);
  const done = await worker.event("worker_done");
  assert.equal(done.duplicates, 100);
});

Deno.test("bad options exit 2 with one line; verify of a missing file exits 2", async () => {
  const bad = await runOnce(LAB, "audit_gateway", ["--max-inflight", "0"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^audit_gateway: error: option '--max-inflight <n>' argument '0' is invalid/,
  );
  const missing = await runOnce(LAB, "archival_worker", ["verify", "/nonexistent/audit.log"]);
  assert.equal(missing.code, 2);
  assert.ok(missing.events.some((e) => e.event === "cannot_read"), "expected a cannot_read event");
});
