import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { ClientSession } from "./client_session.ts";
import { decodeRequest, encodeReply } from "./protocol.ts";

function harness(n: number, window = 2) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const bad: string[] = [];
  const records = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, record: { i } }));
  const session = new ClientSession(records, { window, timeoutMs: 100, maxAttempts: 3 }, {
    send: (body) => sent.push(decodeRequest(body).id),
    clock,
    bad: (reason) => bad.push(reason),
  });
  return { session, sent, bad, advance: (ms: number) => clock.set(clock.now() + ms) };
}

const ok = (id: string, seq: number) => encodeReply({ id, status: "ok", seq, hash: `h${seq}` });

Deno.test("client keeps at most window records outstanding and records latency", () => {
  const h = harness(3);
  h.session.start();
  assert.deepEqual(h.sent, ["r0", "r1"]);
  h.advance(7);
  h.session.onReply(ok("r0", 1));
  assert.deepEqual(h.sent, ["r0", "r1", "r2"]);
  assert.equal(h.session.acks.get("r0")?.latencyMs, 7);
  h.session.onReply(ok("r1", 2));
  h.session.onReply(ok("r2", 3));
  assert.equal(h.session.done, true);
});

Deno.test("busy delays the resend by retry_after_ms; the retry uses the same id", () => {
  const h = harness(1);
  h.session.start();
  h.session.onReply(encodeReply({ id: "r0", status: "busy", retry_after_ms: 30 }));
  h.advance(29);
  h.session.tick();
  assert.deepEqual(h.sent, ["r0"]);
  h.advance(1);
  h.session.tick();
  assert.deepEqual(h.sent, ["r0", "r0"]);
  assert.equal(h.session.stats.busy, 1);
  h.session.onReply(ok("r0", 5));
  assert.equal(h.session.acks.get("r0")?.latencyMs, 30);
});

Deno.test("a second ack is counted as duplicate, and a different one as a mismatch", () => {
  const h = harness(1);
  h.session.start();
  h.session.onReply(ok("r0", 1));
  h.session.onReply(ok("r0", 1));
  h.session.onReply(ok("r0", 2));
  assert.deepEqual([h.session.stats.duplicateAcks, h.session.stats.mismatches], [2, 1]);
});

Deno.test("timeouts resend up to max attempts, then the record fails", () => {
  const h = harness(1);
  h.session.start();
  for (let i = 0; i < 3; i++) {
    h.advance(100);
    h.session.tick();
  }
  assert.deepEqual(h.sent, ["r0", "r0", "r0"]);
  assert.match(h.session.failed.get("r0")!, /no ack after 3 attempts/);
  assert.equal(h.session.done, true);
});

Deno.test("repeatAcked resends acked ids and checks the acks are the original ones", () => {
  const h = harness(2);
  h.session.start();
  h.session.onReply(ok("r0", 1));
  h.session.onReply(ok("r1", 2));
  h.session.repeatAcked();
  assert.deepEqual(h.sent, ["r0", "r1", "r0", "r1"]);
  assert.equal(h.session.done, false);
  h.session.onReply(encodeReply({ id: "r0", status: "ok", seq: 1, hash: "h1", duplicate: true }));
  h.session.onReply(ok("r1", 9));
  assert.equal(h.session.done, true);
  assert.deepEqual([h.session.stats.duplicateAcks, h.session.stats.mismatches], [2, 1]);
});

Deno.test("an unreadable reply is reported and dropped; the session goes on", () => {
  const h = harness(1);
  h.session.start();
  h.session.onReply(new Uint8Array([0xc1]));
  h.session.onReply(encodeReply({ id: "r0", status: "ok", seq: 1, hash: "h1" }).subarray(0, 3));
  assert.equal(h.bad.length, 2);
  assert.equal(h.session.stats.bad, 2);
  h.session.onReply(ok("r0", 1));
  assert.equal(h.session.done, true);
});
