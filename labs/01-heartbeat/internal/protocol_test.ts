import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import {
  alertTopic,
  BadMessageError,
  decodeMessage,
  type Heartbeat,
  heartbeatMessages,
  heartbeatTopic,
  MAX_PAYLOAD_BYTES,
  parseTopic,
  subscriptionsFor,
} from "./protocol.ts";

const te = new TextEncoder();
const hb: Heartbeat = {
  node: "a-01",
  rack: "A",
  seq: 7,
  boot_id: "0b7c",
  ts: 1_700_000_000_000,
  status: "ok",
  metrics: { load1: 0.5, mem_used_pct: 40 },
};

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof BadMessageError) return error.reason;
    throw new Error(`expected a BadMessageError, got ${error}`);
  }
  throw new Error("expected a BadMessageError");
}

Deno.test("topics", () => {
  assert.equal(heartbeatTopic("A", "a-01"), "hb.A.a-01");
  assert.equal(alertTopic("critical", "B", "h.example"), "alert.critical.B.h.example");
  assert.deepEqual(parseTopic("hb.A.a-01"), { kind: "heartbeat", rack: "A", node: "a-01" });
  assert.deepEqual(parseTopic("alert.warning.B.x.y"), {
    kind: "alert",
    level: "warning",
    rack: "B",
    node: "x.y",
  });
  for (const bad of ["hb.A", "hb..n", "alert.info.A.n", "alert.warning.A", "x.A.n", ""]) {
    assert.match(reason(() => parseTopic(bad)), /expected hb\.<rack>\.<node>/, bad);
  }
});

Deno.test("an ok beat is one hb message; a warning beat is also an alert copy", () => {
  const ok = heartbeatMessages(hb);
  assert.deepEqual(ok.map(([t]) => t), ["hb.A.a-01"]);
  const warn = heartbeatMessages({ ...hb, status: "warning" });
  assert.deepEqual(warn.map(([t]) => t), ["hb.A.a-01", "alert.warning.A.a-01"]);
  for (const [topic, payload] of warn) {
    const got = decodeMessage([te.encode(topic), payload]);
    assert.deepEqual(got.heartbeat, { ...hb, status: "warning" });
  }
  assert.equal(decodeMessage([te.encode(warn[1][0]), warn[1][1]]).kind, "alert");
});

Deno.test("subscriptions select racks and alert levels by prefix", () => {
  const all = { racks: [], alertsOnly: false, levels: [] };
  assert.deepEqual(subscriptionsFor(all), ["hb."]);
  assert.deepEqual(subscriptionsFor({ ...all, racks: ["A", "C", "A"] }), ["hb.A.", "hb.C."]);
  assert.deepEqual(subscriptionsFor({ ...all, alertsOnly: true }), [
    "alert.warning.",
    "alert.critical.",
  ]);
  assert.deepEqual(subscriptionsFor({ ...all, alertsOnly: true, levels: ["critical"] }), [
    "alert.critical.",
  ]);
  assert.deepEqual(subscriptionsFor({ racks: ["B"], alertsOnly: true, levels: ["warning"] }), [
    "alert.warning.B.",
  ]);
  assert.throws(() => subscriptionsFor({ ...all, racks: ["A.B"] }), /rack: expected a name/);
  // The trailing separator keeps rack A from matching rack AB.
  const [prefix] = subscriptionsFor({ ...all, racks: ["A"] });
  assert.ok(heartbeatTopic("A", "n").startsWith(prefix));
  assert.ok(!heartbeatTopic("AB", "n").startsWith(prefix));
});

Deno.test("malformed messages are rejected with a reason", () => {
  const topic = te.encode("hb.A.a-01");
  const payload = encode(hb);
  assert.match(reason(() => decodeMessage([topic])), /expected 2 frames \[topic, payload\], got 1/);
  assert.match(reason(() => decodeMessage([topic, payload, payload])), /got 3/);
  assert.match(reason(() => decodeMessage([topic, te.encode("garbage!")])), /.+/);
  assert.match(reason(() => decodeMessage([topic, new Uint8Array([0xc1])])), /.+/);
  assert.match(
    reason(() => decodeMessage([topic, new Uint8Array(MAX_PAYLOAD_BYTES + 1)])),
    /payload: expected at most 16384 bytes, got 16385/,
  );
  assert.match(reason(() => decodeMessage([new Uint8Array([0xff, 0xfe]), payload])), /UTF-8/);
  assert.match(
    reason(() => decodeMessage([te.encode("hb.B.a-01"), payload])),
    /rack\/node A\/a-01/,
  );
  assert.match(
    reason(() => decodeMessage([te.encode("alert.critical.A.a-01"), payload])),
    /expected level ok/,
  );
  assert.match(reason(() => decodeMessage([topic, encode({ ...hb, seq: -1 })])), /seq/);
  assert.match(reason(() => decodeMessage([topic, encode({ ...hb, seq: 1.5 })])), /seq/);
  assert.match(reason(() => decodeMessage([topic, encode({ ...hb, status: "meh" })])), /status/);
  assert.match(reason(() => decodeMessage([topic, encode({ ...hb, boot_id: "" })])), /boot_id/);
  assert.match(reason(() => decodeMessage([topic, encode({ ...hb, rack: "A.B" })])), /rack/);
  const { metrics: _, ...noMetrics } = hb;
  assert.match(reason(() => decodeMessage([topic, encode(noMetrics)])), /metrics/);
});

Deno.test("extra payload fields are tolerated (forward compatible)", () => {
  const got = decodeMessage([te.encode("hb.A.a-01"), encode({ ...hb, extra: 1 })]);
  assert.equal(got.heartbeat.seq, 7);
});
