import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { fingerprint } from "./fingerprint.ts";
import { PolicyMaster } from "./master.ts";
import { encodeHugz, encodeKthxbai, encodeKv, newUuid } from "./protocol.ts";
import { PolicyReplica, REPLICA_TABLE, type TableChange } from "./replica.ts";
import { tableMarkdown, validateTable } from "@lib/patterns/mod.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const RULE = "deny any from any to any";

const kv = (key: string, sequence: number, body = RULE) =>
  encodeKv({ key, sequence, uuid: newUuid(), properties: new Map(), body: te.encode(body) });

function setup(opts: { subtree?: string; servers?: number } = {}) {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const sent: Uint8Array[][] = [];
  const changes: TableChange[] = [];
  const syncs: number[] = [];
  const replica = new PolicyReplica({
    clock,
    log,
    send: (f) => void sent.push(f),
    servers: opts.servers ?? 1,
    subtree: opts.subtree ?? "",
    heartbeatMs: 1000,
    liveness: 3,
    onSync: (s) => void syncs.push(s),
    onChange: (c) => void changes.push(c),
  });
  return { clock, log, sent, changes, syncs, replica };
}

/** Starts and proves the subscription (a first HUGZ), so ICANHAZ? goes out at once. */
function begin(replica: PolicyReplica) {
  replica.start();
  replica.onUpdate(encodeHugz(0), replica.server);
}

Deno.test("ICANHAZ? waits for the subscription: a first message, or one heartbeat", async () => {
  const { replica, sent, clock } = setup();
  replica.start();
  assert.equal(sent.length, 0);
  replica.onUpdate(encodeHugz(7), 0);
  assert.equal(sent.length, 1, "sent when the publisher delivered");
  const quiet = setup();
  quiet.replica.start();
  await quiet.clock.advance(999);
  quiet.replica.tick();
  assert.equal(quiet.sent.length, 0);
  await quiet.clock.advance(1);
  quiet.replica.tick();
  assert.equal(quiet.sent.length, 1, "sent after one heartbeat without proof");
  assert.equal(clock.now(), 0);
});

Deno.test("start: ICANHAZ? with the subtree; snapshot swapped in whole at KTHXBAI", () => {
  const { replica, sent, changes } = setup({ subtree: "/acl/dmz/" });
  begin(replica);
  assert.deepEqual(sent[0].map((f) => td.decode(f)), ["ICANHAZ?", "/acl/dmz/"]);
  replica.onSnapshot(kv("/acl/dmz/a", 3), 0);
  replica.onSnapshot(kv("/acl/dmz/b", 5), 0);
  assert.equal(replica.table.size, 0, "nothing is live before KTHXBAI");
  replica.onSnapshot(encodeKthxbai(9, "/acl/dmz/"), 0);
  assert.equal(replica.state, "active");
  assert.equal(replica.version, 9);
  assert.deepEqual([...replica.table.keys()], ["/acl/dmz/a", "/acl/dmz/b"]);
  assert.equal(changes[0].kind, "snapshot");
});

Deno.test("snapshot boundary: updates fired during the snapshot are applied once, none lost", () => {
  // A real master: updates 101..110 happen; the snapshot is cut after 105.
  const published: Uint8Array[][] = [];
  const master = new PolicyMaster({
    clock: new ManualClock(),
    log: createMemoryLogger(),
    publish: (f) => void published.push(f),
    sequenceBase: 100,
  });
  const { replica, changes } = setup();
  begin(replica);
  const set = (i: number) =>
    master.onMessage(encodeKv({
      key: `/acl/k${i}`,
      sequence: 0,
      uuid: newUuid(),
      properties: new Map(),
      body: te.encode(RULE),
    }));
  for (let i = 1; i <= 5; i++) set(i);
  const snapshot = master.snapshot("");
  for (let i = 6; i <= 10; i++) set(i);
  // The subscriber saw all ten updates (it subscribed before asking), interleaved with the
  // snapshot's arrival.
  for (const f of published.slice(0, 7)) replica.onUpdate(f, 0);
  for (const f of snapshot) replica.onSnapshot(f, 0);
  for (const f of published.slice(7)) replica.onUpdate(f, 0);
  assert.equal(replica.version, 110);
  assert.equal(replica.table.size, 10);
  const applied = changes.filter((c) => c.kind === "set").map((c) => (c as { key: string }).key);
  assert.deepEqual(applied, ["/acl/k6", "/acl/k7", "/acl/k8", "/acl/k9", "/acl/k10"]);
  assert.equal(replica.stats().stale, 5, "the five already in the snapshot were dropped");
});

Deno.test("active: stale updates dropped, empty body deletes, bad policy keeps the previous version", () => {
  const { replica, changes, log } = setup();
  begin(replica);
  replica.onSnapshot(kv("/acl/a", 1), 0);
  replica.onSnapshot(encodeKthxbai(10, ""), 0);
  replica.onUpdate(kv("/acl/a", 10, "allow any from any to any"), 0); // stale: not newer
  assert.equal(replica.table.get("/acl/a")!.body, RULE);
  replica.onUpdate(kv("/acl/a", 11, "allow garbage"), 0);
  assert.equal(replica.table.get("/acl/a")!.body, RULE, "previous version kept");
  assert.equal(changes.at(-1)!.kind, "rejected");
  assert.equal(log.events("policy_rejected").length, 1);
  replica.onUpdate(kv("/acl/a", 12, ""), 0);
  assert.equal(replica.table.size, 0);
  assert.equal(replica.version, 12);
  assert.throws(() => replica.onUpdate([te.encode("HUGZ")], 0), BadMessageError);
});

Deno.test("a sequence gap (update or HUGZ) starts a re-sync with the same server", () => {
  const { replica, sent, log, syncs } = setup();
  begin(replica);
  replica.onSnapshot(encodeKthxbai(10, ""), 0);
  replica.onUpdate(kv("/acl/a", 12), 0);
  assert.equal(replica.state, "syncing");
  assert.equal(replica.table.size, 0, "the update after the gap is not applied");
  assert.equal(sent.length, 2);
  assert.deepEqual(syncs, [0, 0]);
  assert.equal(log.events("sequence_gap").length, 1);
  replica.onSnapshot(kv("/acl/a", 12), 0);
  replica.onSnapshot(encodeKthxbai(12, ""), 0);
  replica.onUpdate(encodeHugz(13), 0); // the last update was lost: HUGZ tells
  assert.equal(replica.state, "syncing");
  assert.equal(replica.stats().gaps, 2);
});

Deno.test("HUGZ: equal is in sync, 0 carries nothing, three behind means the master restarted", () => {
  const { replica, log } = setup();
  begin(replica);
  replica.onSnapshot(encodeKthxbai(10, ""), 0);
  replica.onUpdate(encodeHugz(10), 0);
  replica.onUpdate(encodeHugz(0), 0);
  replica.onUpdate(encodeHugz(3), 0);
  replica.onUpdate(encodeHugz(3), 0);
  assert.equal(replica.state, "active", "one or two behind may be queued from before the snapshot");
  replica.onUpdate(encodeHugz(3), 0);
  assert.equal(replica.state, "syncing");
  assert.equal(log.events("master_restarted").length, 1);
});

Deno.test("with a subtree, jumps are normal: applied, no re-sync", () => {
  const { replica } = setup({ subtree: "/acl/dmz/" });
  begin(replica);
  replica.onSnapshot(encodeKthxbai(10, "/acl/dmz/"), 0);
  replica.onUpdate(kv("/acl/dmz/a", 15), 0);
  replica.onUpdate(encodeHugz(20), 0);
  assert.equal(replica.state, "active");
  assert.equal(replica.table.size, 1);
});

Deno.test("silent master: master_silent after liveness heartbeats, failover to the next server", async () => {
  const { replica, clock, log, syncs } = setup({ servers: 2 });
  begin(replica);
  replica.onSnapshot(kv("/acl/a", 1), 0);
  replica.onSnapshot(encodeKthxbai(5, ""), 0);
  await clock.advance(1000);
  replica.onUpdate(encodeHugz(5), 0);
  await clock.advance(3000);
  replica.tick();
  assert.equal(replica.state, "active", "3 heartbeats of silence is not yet more than 3");
  await clock.advance(1);
  replica.tick();
  assert.equal(replica.state, "syncing");
  assert.equal(replica.server, 1);
  assert.deepEqual(syncs, [0, 1]);
  assert.equal(log.events("master_silent").length, 1);
  assert.equal(replica.table.size, 1, "the last state is kept while re-syncing");
  // Messages from the old server are ignored now.
  replica.onSnapshot(encodeKthxbai(99, ""), 0);
  assert.equal(replica.state, "syncing");
  // No answer from server 1 either: after the sync timeout, back to server 0.
  await clock.advance(3000);
  replica.tick();
  assert.equal(replica.server, 0);
  assert.equal(log.events("sync_timeout").length, 1);
});

Deno.test("restore: a persisted table is live before the first snapshot; invalid ones skipped", () => {
  const { replica } = setup({ subtree: "/acl/dmz/" });
  const n = replica.restore(40, [
    { key: "/acl/dmz/a", body: RULE },
    { key: "/acl/dmz/bad", body: "junk" },
    { key: "/acl/core/x", body: RULE },
  ]);
  assert.equal(n, 1);
  assert.equal(replica.version, 40);
  begin(replica);
  replica.onSnapshot(encodeKthxbai(50, "/acl/dmz/"), 0);
  assert.equal(replica.table.size, 0, "the snapshot replaces it");
});

Deno.test("updates held during a sync are bounded: overflow means another snapshot", () => {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const sent: Uint8Array[][] = [];
  const replica = new PolicyReplica({
    clock,
    log,
    send: (f) => void sent.push(f),
    servers: 1,
    maxPending: 2,
  });
  begin(replica);
  for (let i = 11; i <= 13; i++) replica.onUpdate(kv(`/acl/k${i}`, i), 0);
  replica.onSnapshot(encodeKthxbai(10, ""), 0);
  assert.equal(replica.state, "syncing");
  assert.equal(sent.length, 2);
  assert.equal(log.events("updates_overflow").length, 1);
});

Deno.test("REPLICA_TABLE: valid, and the code only takes transitions it lists", async () => {
  validateTable(REPLICA_TABLE);
  assert.match(tableMarkdown(REPLICA_TABLE), /\| \*\*syncing\*\* \| syncing \/ request_snapshot/);
  // Drive every path once: start, gap, silence, restart, timeout, overflow (a transition
  // missing from the table would throw).
  const { replica, clock } = setup({ servers: 2 });
  begin(replica);
  replica.onSnapshot(encodeKthxbai(1, ""), 0);
  replica.onUpdate(kv("/acl/a", 3), 0); // gap
  replica.onSnapshot(encodeKthxbai(3, ""), 0);
  for (let i = 0; i < 3; i++) replica.onUpdate(encodeHugz(2), 0); // master went back
  replica.onSnapshot(encodeKthxbai(3, ""), 0);
  await clock.advance(5000);
  replica.tick(); // silent
  await clock.advance(5000);
  replica.tick(); // sync timeout
  assert.equal(replica.state, "syncing");
});

Deno.test("the running fingerprint equals a fresh one over the table after every change", () => {
  const { replica } = setup();
  begin(replica);
  replica.onSnapshot(kv("/acl/a", 1), 0);
  replica.onSnapshot(encodeKthxbai(1, ""), 0);
  replica.onUpdate(kv("/acl/b", 2), 0);
  replica.onUpdate(kv("/acl/a", 3, "allow any from any to any"), 0);
  replica.onUpdate(kv("/acl/b", 4, ""), 0);
  const fresh = fingerprint([...replica.table].map(([k, p]) => [k, p.body] as const));
  assert.equal(replica.fingerprint(), fresh);
  assert.equal(fingerprint([]), "00000000");
});
