import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { LockTable } from "./lock_table.ts";
import type { LockRequest } from "./protocol.ts";
import { LockSession, RequestTimeoutError } from "./session_client.ts";
import { MemoryLockStore } from "./store.ts";

/** A client session wired to a real LockTable; `up` false drops requests (server gone). */
function wired(ttlMs = 3000, margin = 0.2) {
  const clock = new ManualClock();
  const peer = new Uint8Array([1]);
  const net = { up: true, delayed: [] as LockRequest[] };
  const lost: string[] = [];
  const ref: { session?: LockSession } = {};
  const table = new LockTable(
    {
      clock,
      log: createMemoryLogger(),
      send: (to, reply) => {
        if (to[0] === peer[0]) queueMicrotask(() => ref.session!.onReply(reply));
      },
    },
    new MemoryLockStore(),
    {
      ttlMs,
      lockDelayMs: 0,
      maxSessions: 10,
      maxLocks: 10,
      maxWaiters: 10,
    },
  );
  const session = new LockSession({
    clock,
    send: (request) => {
      if (net.up) table.onRequest(peer, request);
    },
  }, {
    session: "s1",
    margin,
    resendMs: 500,
    requestTimeoutMs: 5000,
    onLeaseLost: (why) => lost.push(why),
  });
  ref.session = session;
  const step = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      await clock.advance(50);
      session.tick();
      table.tick();
      await Promise.resolve();
    }
  };
  return { clock, table, session, net, lost, step };
}

Deno.test("the client assumes expiry a safety margin before the server does", async () => {
  const w = wired(3000, 0.2);
  await w.session.open();
  const grant = await w.session.acquire("L", "exclusive", 0);
  assert.equal(grant.kind, "granted");
  await w.step(3000);
  assert.ok(w.session.leaseValid(), "keepalives every ttl/3 keep it alive");
  w.net.up = false; // the server hears nothing more from now on
  const cutAt = w.clock.now();
  while (w.lost.length === 0) await w.step(50);
  const clientGaveUp = w.clock.now() - cutAt;
  while (w.table.stats().sessions > 0) await w.step(50);
  const serverExpired = w.clock.now() - cutAt;
  assert.deepEqual(w.lost, ["lease_timeout"]);
  assert.ok(clientGaveUp < serverExpired, `${clientGaveUp} < ${serverExpired}`);
  assert.ok(serverExpired - clientGaveUp >= 3000 * 0.2 - 100, "by about the margin");
});

Deno.test("an unknown_session reply (the server expired us) loses the lease at once", async () => {
  const w = wired(1000);
  await w.session.open();
  w.net.up = false;
  await w.step(1100); // the server expired the session; the client's own check fires too
  assert.equal(w.table.stats().sessions, 0);
  assert.equal(w.session.lost, true);
  assert.equal(w.session.leaseValid(), false);
});

Deno.test("a request with no reply is re-sent, then times out", async () => {
  const w = wired(3000);
  w.net.up = false;
  const opening = w.session.open();
  await w.step(1100);
  w.net.up = true; // re-sent after resendMs: now it arrives
  await w.step(600);
  const opened = await opening;
  assert.equal(opened.ttl_ms, 3000);
  w.net.up = false;
  const status = w.session.status();
  const failed = assert.rejects(status, RequestTimeoutError);
  await w.step(5100);
  await failed;
});

Deno.test("a waiting acquire is answered by the grant when the holder releases", async () => {
  const w = wired(3000);
  await w.session.open();
  // Another session holds L.
  w.table.onRequest(new Uint8Array([2]), { kind: "open", req: 1, session: "other" });
  w.table.onRequest(new Uint8Array([2]), {
    kind: "acquire",
    req: 2,
    session: "other",
    lock: "L",
    mode: "exclusive",
    wait_ms: 0,
  });
  const waiting = w.session.acquire("L", "exclusive", 10_000);
  await w.step(200);
  w.table.onRequest(new Uint8Array([2]), {
    kind: "release",
    req: 3,
    session: "other",
    lock: "L",
    token: 1,
  });
  await w.step(50);
  const grant = await waiting;
  assert.equal(grant.kind, "granted");
  assert.equal(grant.kind === "granted" && grant.token, 2);
});
