import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { tableMarkdown, validateTable } from "@lib/patterns/fsm.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { LOCK_TABLE } from "./lock_fsm.ts";
import { LockTable, type LockTableOptions } from "./lock_table.ts";
import type { LockReply, LockRequest, Mode } from "./protocol.ts";
import { MemoryLockStore } from "./store.ts";

const OPTIONS: LockTableOptions = {
  ttlMs: 1000,
  lockDelayMs: 200,
  maxSessions: 100,
  maxLocks: 100,
  maxWaiters: 3,
};

/** A table with one peer per session and the replies each got. */
function harness(store = new MemoryLockStore(), clock = new ManualClock(), options = OPTIONS) {
  const inbox = new Map<string, LockReply[]>();
  const log = createMemoryLogger();
  const table = new LockTable(
    {
      clock,
      log,
      send: (peer, reply) => {
        const name = new TextDecoder().decode(peer);
        inbox.set(name, [...(inbox.get(name) ?? []), reply]);
      },
    },
    store,
    options,
  );
  let req = 0;
  const send = (
    session: string,
    request: Omit<LockRequest, "req" | "session"> & { kind: string },
  ) =>
    table.onRequest(
      new TextEncoder().encode(session),
      { ...request, req: ++req, session } as LockRequest,
    );
  const open = (session: string) => send(session, { kind: "open" });
  const acquire = (session: string, lock: string, mode: Mode = "exclusive", wait_ms = 10_000) =>
    send(session, { kind: "acquire", lock, mode, wait_ms } as never);
  const release = (session: string, lock: string, token: number) =>
    send(session, { kind: "release", lock, token } as never);
  const last = (session: string) => inbox.get(session)?.at(-1);
  const grants = (session: string) =>
    (inbox.get(session) ?? []).filter((r) => r.kind === "granted") as Extract<
      LockReply,
      { kind: "granted" }
    >[];
  return { table, clock, log, store, inbox, send, open, acquire, release, last, grants };
}

Deno.test("the lock state table is valid and prints", () => {
  validateTable(LOCK_TABLE);
  const md = tableMarkdown(LOCK_TABLE);
  assert.match(md, /\| \*\*free\*\* \| exclusive \/ grant \|/);
});

Deno.test("exclusive grants take increasing tokens; a release wakes the head only (FIFO, no herd)", () => {
  const h = harness();
  for (const s of ["a", "b", "c"]) h.open(s);
  h.acquire("a", "L");
  assert.equal(h.grants("a")[0].token, 1);
  h.acquire("b", "L");
  h.acquire("c", "L");
  assert.equal(h.last("b")?.kind, "queued");
  assert.deepEqual(h.last("c"), { kind: "queued", req: 6, lock: "L", position: 2 });
  const before = h.inbox.get("c")!.length;
  h.release("a", "L", 1);
  assert.equal(h.last("a")?.kind, "released");
  assert.equal(h.grants("b")[0].token, 2);
  assert.equal(h.inbox.get("c")!.length, before, "c heard nothing: only the head is woken");
  h.release("b", "L", 2);
  assert.equal(h.grants("c")[0].token, 3);
  h.release("c", "L", 3);
  assert.equal(h.table.stateOf("L"), "free");
  assert.equal(h.table.stats().locks, 0, "a free lock leaves memory; its token stays in the store");
  assert.equal(h.store.lastToken("L"), 3);
  h.acquire("a", "L");
  assert.equal(h.grants("a")[1].token, 4);
});

Deno.test("shared holders coexist; a waiting writer blocks later readers; readers run together after it", () => {
  const h = harness();
  for (const s of ["r1", "r2", "w", "r3", "r4"]) h.open(s);
  h.acquire("r1", "L", "shared");
  h.acquire("r2", "L", "shared");
  assert.equal(h.grants("r1").length + h.grants("r2").length, 2);
  h.acquire("w", "L", "exclusive");
  h.acquire("r3", "L", "shared");
  h.acquire("r4", "L", "shared");
  assert.equal(h.last("r3")?.kind, "queued", "no reader overtakes a waiting writer");
  h.release("r1", "L", 1);
  assert.equal(h.grants("w").length, 0, "r2 still reads");
  h.release("r2", "L", 2);
  assert.equal(h.grants("w")[0].token, 3);
  assert.equal(h.table.stateOf("L"), "exclusive");
  h.release("w", "L", 3);
  assert.equal(h.grants("r3")[0].token, 4);
  assert.equal(h.grants("r4")[0].token, 5, "the run of readers at the head is granted together");
  assert.equal(h.table.stateOf("L"), "shared");
});

Deno.test("try-lock is refused at once; a wait times out on the server's clock", async () => {
  const h = harness();
  for (const s of ["a", "b", "c"]) h.open(s);
  h.acquire("a", "L");
  h.acquire("b", "L", "exclusive", 0);
  assert.deepEqual(h.last("b"), { kind: "not_granted", req: 5, lock: "L", reason: "held" });
  h.acquire("c", "L", "exclusive", 300);
  await h.clock.advance(200);
  h.send("a", { kind: "keepalive" });
  h.send("c", { kind: "keepalive" });
  h.table.tick();
  assert.equal(h.last("c")?.kind, "alive");
  await h.clock.advance(100);
  h.table.tick();
  assert.deepEqual(h.last("c"), { kind: "not_granted", req: 6, lock: "L", reason: "timeout" });
  assert.equal(h.table.stats().waiters, 0);
});

Deno.test("a silent session expires after the TTL; its lock goes to the waiter after the lock-delay", async () => {
  const h = harness();
  h.open("a");
  h.open("b");
  h.acquire("a", "L");
  h.acquire("b", "L");
  for (let t = 0; t < 10; t++) {
    await h.clock.advance(100);
    h.send("b", { kind: "keepalive" }); // b heartbeats, a has gone silent
    h.table.tick();
  }
  assert.equal(h.log.events("session_expired").length, 1);
  assert.equal(h.table.stateOf("L"), "delayed");
  assert.equal(h.grants("b").length, 0, "no grant during the lock-delay");
  await h.clock.advance(199);
  h.table.tick();
  assert.equal(h.grants("b").length, 0);
  await h.clock.advance(1);
  h.table.tick();
  assert.equal(h.grants("b")[0].token, 2);
  // The expired session is gone: its requests are refused, its release too.
  h.send("a", { kind: "keepalive" });
  assert.equal(h.last("a")?.kind, "refused");
  assert.equal((h.last("a") as { reason: string }).reason, "unknown_session");
});

Deno.test("release needs the holder's session and token", () => {
  const h = harness();
  h.open("a");
  h.open("b");
  h.acquire("a", "L");
  h.release("b", "L", 1);
  assert.equal(h.last("b")?.kind, "refused");
  assert.equal((h.last("b") as { reason: string }).reason, "not_holder");
  h.release("a", "L", 2);
  assert.equal((h.last("a") as { reason: string }).reason, "wrong_token");
  assert.equal(h.table.stateOf("L"), "exclusive");
  h.release("a", "L", 1);
  assert.equal(h.last("a")?.kind, "released");
});

Deno.test("acquire is idempotent: a holder gets its grant again, a waiter keeps its place", () => {
  const h = harness();
  for (const s of ["a", "b", "c"]) h.open(s);
  h.acquire("a", "L");
  h.acquire("a", "L");
  assert.deepEqual(h.grants("a").map((g) => g.token), [1, 1]);
  h.acquire("b", "L");
  h.acquire("c", "L");
  h.acquire("b", "L");
  assert.equal((h.last("b") as { position: number }).position, 1);
  assert.equal(h.table.stats().waiters, 2);
});

Deno.test("bounded: sessions, locks and waiters per lock", () => {
  const h = harness(undefined, undefined, { ...OPTIONS, maxSessions: 2, maxLocks: 1 });
  h.open("a");
  h.open("b");
  h.open("c");
  assert.equal((h.last("c") as { reason: string }).reason, "too_many_sessions");
  h.acquire("a", "L1");
  h.acquire("a", "L2");
  assert.equal((h.last("a") as { reason: string }).reason, "too_many_locks");
});

Deno.test("a restart keeps tokens monotonic and the holders, with a fresh TTL", async () => {
  const store = new MemoryLockStore();
  const clock = new ManualClock();
  const first = harness(store, clock);
  first.open("a");
  first.acquire("a", "L");
  first.release("a", "L", 1);
  first.acquire("a", "L");
  assert.equal(first.grants("a")[1].token, 2);
  await clock.advance(900); // a's lease has 100 ms left when the server "crashes"
  const second = harness(store, clock);
  assert.equal(second.log.events("recovered").length, 1);
  assert.equal(second.table.stateOf("L"), "exclusive");
  await clock.advance(500);
  second.table.tick();
  assert.equal(second.table.stateOf("L"), "exclusive", "the recovered lease restarted its TTL");
  second.open("b");
  second.acquire("b", "L");
  await clock.advance(500);
  second.table.tick();
  await clock.advance(200);
  second.table.tick();
  assert.equal(second.grants("b")[0].token, 3);
});

Deno.test("a waiter whose session expires leaves the queue; readers behind it get in", async () => {
  const h = harness();
  for (const s of ["r1", "w", "r2"]) h.open(s);
  h.acquire("r1", "L", "shared");
  h.acquire("w", "L", "exclusive");
  h.acquire("r2", "L", "shared");
  for (let t = 0; t < 10; t++) {
    await h.clock.advance(100);
    h.send("r1", { kind: "keepalive" });
    h.send("r2", { kind: "keepalive" });
    h.table.tick();
  }
  assert.equal(h.grants("r2").length, 1, "w expired while waiting: r2 reads beside r1");
  assert.equal(h.table.stateOf("L"), "shared");
});

Deno.test("SUMMARY.md prints the lock state table as the code has it", async () => {
  const summary = await Deno.readTextFile(new URL("../SUMMARY.md", import.meta.url));
  // deno fmt pads the cells: compare with the padding squeezed out.
  const squeeze = (line: string) => line.replace(/\s*\|\s*/g, "|").trim();
  const lines = new Set(summary.split("\n").map(squeeze));
  for (const row of tableMarkdown(LOCK_TABLE).split("\n")) {
    if (/^\|[\s|-]+\|$/.test(row)) continue; // the separator row
    assert.ok(lines.has(squeeze(row)), `SUMMARY.md lacks the row ${row}`);
  }
});

Deno.test("idle sessions expiring en masse are logged rate-limited; a holder's expiry always", async () => {
  const h = harness(undefined, undefined, { ...OPTIONS, maxSessions: 2000 });
  for (let i = 0; i < 1000; i++) h.open(`idle-${i}`);
  h.open("holder");
  h.acquire("holder", "L");
  await h.clock.advance(1000);
  h.table.tick();
  assert.equal(h.table.stats().expired_sessions, 1001);
  const expired = h.log.events("session_expired");
  assert.ok(expired.length <= 3, `1000 idle expiries: ${expired.length} log lines, expected a few`);
  assert.equal(
    expired.filter((e) => e.fields.session === "holder").length,
    1,
    "the holder's is logged",
  );
});
