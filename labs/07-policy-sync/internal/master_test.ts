import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { PolicyMaster } from "./master.ts";
import { decodeKv, encodeKv, newUuid } from "./protocol.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const RULE = "deny any from any to any";

function setup() {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const published: Uint8Array[][] = [];
  const master = new PolicyMaster({
    clock,
    log,
    publish: (f) => void published.push(f),
    sequenceBase: 100,
  });
  return { clock, log, published, master };
}

const kvset = (key: string, body: string, props: [string, string][] = [], uuid = newUuid()) =>
  encodeKv({ key, sequence: 0, uuid, properties: new Map(props), body: te.encode(body) });

Deno.test("KVSET -> KVPUB with the next sequence, uuid kept; empty body deletes", () => {
  const { master, published } = setup();
  const uuid = newUuid();
  assert.deepEqual(master.onMessage(kvset("/acl/a", RULE, [], uuid)), {
    kind: "set",
    key: "/acl/a",
    sequence: 101,
  });
  const pub = decodeKv(published[0]);
  assert.equal(pub.sequence, 101);
  assert.deepEqual(pub.uuid, uuid);
  assert.equal(td.decode(pub.body), RULE);
  assert.equal(master.onMessage(kvset("/acl/a", "")).kind, "deleted");
  assert.equal(decodeKv(published[1]).body.length, 0);
  assert.equal(decodeKv(published[1]).sequence, 102);
  assert.equal(master.size, 0);
});

Deno.test("invalid policies are refused and not published; malformed frames throw", () => {
  const { master, published, log } = setup();
  master.onMessage(kvset("/acl/a", RULE));
  assert.equal(master.onMessage(kvset("/acl/a", "permit all")).kind, "rejected");
  assert.equal(master.onMessage(kvset("not-a-key", RULE)).kind, "rejected");
  assert.equal(master.onMessage(kvset("/acl/b", RULE, [["ttl", "soon"]])).kind, "rejected");
  assert.equal(published.length, 1, "only the valid set was published");
  assert.equal(master.get("/acl/a")?.sequence, 101, "the previous version stays");
  assert.ok(log.events("policy_rejected").length >= 1);
  assert.throws(() => master.onMessage([te.encode("x")]), BadMessageError);
  assert.equal(master.stats().rejected, 3);
});

Deno.test("ttl: the key expires after ttl seconds and the delete is published", () => {
  const { master, published, clock } = setup();
  master.onMessage(kvset("/acl/t", RULE, [["ttl", "2"]]));
  assert.equal(decodeKv(published[0]).properties.get("ttl"), "2");
  clock.set(1999);
  master.tick();
  assert.equal(master.size, 1);
  clock.set(2000);
  master.tick();
  assert.equal(master.size, 0);
  const del = published.map(decodeKv).find((m) => m.key === "/acl/t" && m.body.length === 0);
  assert.equal(del?.sequence, 102);
  assert.equal(master.stats().expired, 1);
});

Deno.test("snapshot: KVSYNCs of the subtree then KTHXBAI with the current sequence", () => {
  const { master } = setup();
  master.load([
    { key: "/acl/dmz/web", body: RULE },
    { key: "/acl/core/db", body: RULE },
  ]);
  master.onMessage(kvset("/acl/dmz/dns", RULE));
  const all = master.snapshot("").map(decodeKv);
  assert.deepEqual(all.map((m) => m.key), [
    "/acl/dmz/web",
    "/acl/core/db",
    "/acl/dmz/dns",
    "KTHXBAI",
  ]);
  assert.equal(all.at(-1)!.sequence, 103);
  // KVSYNC frames 2 and 3 are empty, as the RFC writes them.
  assert.ok(all.slice(0, -1).every((m) => m.uuid.length === 0 && m.properties.size === 0));
  const dmz = master.snapshot("/acl/dmz/").map(decodeKv);
  assert.deepEqual(dmz.map((m) => m.key), ["/acl/dmz/web", "/acl/dmz/dns", "KTHXBAI"]);
  assert.equal(td.decode(dmz.at(-1)!.body), "/acl/dmz/");
});

Deno.test("HUGZ every heartbeat carrying the current sequence; max keys bound", () => {
  const clock = new ManualClock();
  const published: Uint8Array[][] = [];
  const master = new PolicyMaster({
    clock,
    log: createMemoryLogger(),
    publish: (f) => void published.push(f),
    sequenceBase: 7,
    heartbeatMs: 1000,
    maxKeys: 1,
  });
  master.tick();
  clock.set(500);
  master.tick();
  clock.set(1000);
  master.tick();
  const hugz = published.map(decodeKv).filter((m) => m.key === "HUGZ");
  assert.equal(hugz.length, 2);
  assert.equal(hugz[0].sequence, 7);
  assert.equal(master.onMessage(kvset("/acl/a", RULE)).kind, "set");
  assert.equal(master.onMessage(kvset("/acl/b", RULE)).kind, "rejected");
});

Deno.test("default sequence base is wall-clock microseconds: a restart keeps counting up", () => {
  const a = new PolicyMaster({
    clock: new ManualClock(),
    log: createMemoryLogger(),
    publish: () => {},
  });
  assert.ok(a.sequence >= Date.now() * 1000 - 10_000_000);
  assert.ok(Number.isSafeInteger(a.sequence));
});
