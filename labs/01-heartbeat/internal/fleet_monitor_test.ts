import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { FleetMonitor, type MonitorEvent } from "./fleet_monitor.ts";
import type { Heartbeat, Received } from "./protocol.ts";

const I = 100;

function hb(over: Partial<Heartbeat> = {}): Received {
  const heartbeat: Heartbeat = {
    node: "a-01",
    rack: "A",
    seq: 0,
    boot_id: "boot-1",
    ts: 0,
    status: "ok",
    metrics: { load1: 0.1 },
    ...over,
  };
  const kind = heartbeat.status === "ok" ? "heartbeat" : "alert";
  return { kind, topic: "t", heartbeat };
}

const names = (events: MonitorEvent[]) => events.map((e) => e.event);

function dashboard(maxNodes = 100) {
  return new FleetMonitor({
    clock: new ManualClock(),
    mode: "heartbeats",
    intervalMs: I,
    maxNodes,
  });
}

Deno.test("first beats: status appears, the node becomes alive after two", () => {
  const m = dashboard();
  const first = m.receive(hb(), 0);
  assert.deepEqual(first, [{
    event: "node_status",
    change: true,
    level: "info",
    fields: { rack: "A", node: "a-01", from: null, to: "ok", seq: 0 },
  }]);
  const second = m.receive(hb({ seq: 1 }), 100);
  assert.deepEqual(names(second), ["node_state"]);
  assert.deepEqual(second[0].fields, {
    rack: "A",
    node: "a-01",
    from: "unknown",
    to: "alive",
    silent_ms: 100,
    missed: 1,
    boot_id: "boot-1",
  });
  assert.equal(m.nodes(150)[0].state, "alive");
});

Deno.test("a gap is counted with the number of lost beats", () => {
  const m = dashboard();
  m.receive(hb({ seq: 0 }), 0);
  m.receive(hb({ seq: 1 }), 100);
  const events = m.receive(hb({ seq: 5 }), 200);
  assert.deepEqual(names(events), ["seq_gap"]);
  assert.deepEqual(events[0].fields, {
    rack: "A",
    node: "a-01",
    expected: 2,
    seq: 5,
    missing: 3,
    gaps: 1,
  });
  assert.equal(events[0].change, false);
  assert.deepEqual(m.totals(), { nodes: 1, beats: 3, gaps: 1, missing: 3, restarts: 0, stale: 0 });
});

Deno.test("a new boot_id is a restart, not a gap; a stale seq is dropped", () => {
  const m = dashboard();
  m.receive(hb({ seq: 40 }), 0);
  m.receive(hb({ seq: 41 }), 100);
  const stale = m.receive(hb({ seq: 41 }), 150);
  assert.deepEqual(names(stale), ["seq_stale"]);
  const restart = m.receive(hb({ seq: 0, boot_id: "boot-2" }), 200);
  assert.deepEqual(names(restart), ["node_restart"]);
  assert.deepEqual(restart[0].fields, {
    rack: "A",
    node: "a-01",
    previous_boot_id: "boot-1",
    boot_id: "boot-2",
    previous_seq: 41,
    seq: 0,
    restarts: 1,
  });
  assert.deepEqual(names(m.receive(hb({ seq: 1, boot_id: "boot-2" }), 300)), []);
  assert.equal(m.totals().gaps, 0);
  assert.equal(m.totals().stale, 1);
});

Deno.test("silence → suspect → dead on the monitor's own clock, regardless of sender ts", () => {
  const m = dashboard();
  m.receive(hb({ seq: 0, ts: 9e12 }), 0);
  m.receive(hb({ seq: 1, ts: 0 }), 100);
  assert.deepEqual(m.tick(300), []);
  const suspect = m.tick(301);
  assert.deepEqual(suspect.map((e) => [e.event, e.fields.to]), [["node_state", "suspect"]]);
  const dead = m.tick(401);
  assert.deepEqual(dead.map((e) => [e.event, e.fields.from, e.fields.to]), [[
    "node_state",
    "suspect",
    "dead",
  ]]);
  assert.equal(dead[0].fields.missed, 3);
});

Deno.test("status changes are state-change events", () => {
  const m = dashboard();
  m.receive(hb({ seq: 0 }), 0);
  const events = m.receive(hb({ seq: 1, status: "critical" }), 100);
  assert.deepEqual(events.map((e) => [e.event, e.fields.from, e.fields.to]), [
    ["node_status", "ok", "critical"],
    ["node_state", "unknown", "alive"],
  ]);
});

Deno.test("more nodes than maxNodes are rejected as bad messages", () => {
  const m = dashboard(2);
  m.receive(hb({ node: "n1" }), 0);
  m.receive(hb({ node: "n2" }), 0);
  assert.throws(() => m.receive(hb({ node: "n3" }), 0), (e: Error & { reason?: string }) => {
    assert.match(e.reason ?? e.message, /expected at most 2 nodes/);
    return true;
  });
  m.receive(hb({ node: "n1", seq: 1 }), 10); // known nodes still fine
  assert.equal(m.totals().nodes, 2);
});

Deno.test("alerts mode: alert on raise and level change, cleared after silence, no gaps", () => {
  const m = new FleetMonitor({
    clock: new ManualClock(),
    mode: "alerts",
    intervalMs: I,
    maxNodes: 10,
  });
  const raised = m.receive(hb({ seq: 3, status: "warning" }), 0);
  assert.deepEqual(raised.map((e) => [e.event, e.fields.alert_level, e.fields.from]), [[
    "alert",
    "warning",
    null,
  ]]);
  assert.deepEqual(m.receive(hb({ seq: 4, status: "warning" }), 100), []);
  const escalated = m.receive(hb({ seq: 9, status: "critical" }), 200); // gap expected here
  assert.deepEqual(escalated.map((e) => [e.event, e.fields.alert_level, e.fields.from]), [[
    "alert",
    "critical",
    "warning",
  ]]);
  assert.deepEqual(m.tick(450), []); // suspect is not an alert event
  const cleared = m.tick(501);
  assert.deepEqual(cleared.map((e) => [e.event, e.fields.alert_level]), [[
    "alert_cleared",
    "critical",
  ]]);
  const again = m.receive(hb({ seq: 20, status: "critical" }), 900);
  assert.deepEqual(again.map((e) => [e.event, e.fields.from]), [["alert", null]]);
  assert.equal(m.totals().gaps, 0);
});

Deno.test("times come from the injected clock; silence is whole ms", () => {
  const clock = new ManualClock();
  const m = new FleetMonitor({ clock, mode: "heartbeats", intervalMs: I, maxNodes: 10 });
  m.receive(hb({ seq: 0 }));
  clock.set(100.4);
  m.receive(hb({ seq: 1 }));
  clock.set(301.7);
  const [suspect] = m.tick();
  assert.deepEqual([suspect.fields.to, suspect.fields.silent_ms], ["suspect", 201]);
  assert.equal(m.nodes()[0].silentMs, 201);
});

Deno.test("seq gaps and stale beats carry a rate-limit key; state changes do not", () => {
  const m = dashboard();
  m.receive(hb({ seq: 0 }), 0);
  const gap = m.receive(hb({ seq: 5 }), 100);
  assert.equal(gap.find((e) => e.event === "seq_gap")?.limit, "seq_gap");
  assert.equal(m.receive(hb({ seq: 5 }), 150)[0].limit, "seq_stale");
  const restart = m.receive(hb({ seq: 0, boot_id: "boot-2" }), 200);
  assert.equal(restart[0].limit, undefined);
});
