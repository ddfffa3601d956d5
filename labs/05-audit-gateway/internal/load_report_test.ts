import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { ClientSession } from "./client_session.ts";
import { auditRecords, formatSummary, roundSummary } from "./load_report.ts";
import { encodeReply } from "./protocol.ts";

Deno.test("auditRecords gives unique ids per client and round prefix", () => {
  const a = auditRecords("p1", 0, 3);
  const b = auditRecords("p1", 1, 3, "xx");
  assert.deepEqual(a.map((r) => r.id), ["p1-c0-r0", "p1-c0-r1", "p1-c0-r2"]);
  assert.deepEqual(b[2].record, {
    actor: "user-1",
    action: "update",
    resource: "doc/2",
    data: "xx",
  });
});

Deno.test("roundSummary adds up sessions, rates and latency", () => {
  const clock = new ManualClock();
  const sessions = [0, 1].map((c) =>
    new ClientSession(auditRecords("p", c, 2), { window: 2, timeoutMs: 1000, maxAttempts: 1 }, {
      send: () => {},
      clock,
    })
  );
  sessions.forEach((s) => s.start());
  clock.set(10);
  sessions[0].onReply(encodeReply({ id: "p-c0-r0", status: "ok", seq: 1, hash: "h" }));
  sessions[0].onReply(encodeReply({ id: "p-c0-r1", status: "busy", retry_after_ms: 5 }));
  clock.set(20);
  sessions[1].onReply(encodeReply({ id: "p-c1-r0", status: "ok", seq: 2, hash: "h" }));
  const summary = roundSummary(1, sessions, 2, 500);
  assert.deepEqual(
    [summary.records, summary.acked, summary.unacked, summary.busy_replies, summary.acks_per_s],
    [4, 2, 2, 1, 4],
  );
  assert.deepEqual([summary.p50_ms, summary.max_ms], [10, 20]);
  assert.match(formatSummary(summary), /^round 1: acked 2\/4 \(failed 0, busy 1, resends 0\)/);
});
