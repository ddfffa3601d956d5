import assert from "node:assert/strict";
import { formatAge, renderView, type ViewModel } from "./render.ts";
import type { NodeView } from "./fleet_monitor.ts";

function node(rack: string, name: string, over: Partial<NodeView> = {}): NodeView {
  return {
    rack,
    node: name,
    state: "alive",
    status: "ok",
    seq: 10,
    bootId: "b",
    gaps: 0,
    missing: 0,
    restarts: 0,
    beats: 11,
    metrics: { load1: 0.42, mem_used_pct: 51.26 },
    silentMs: 120,
    ...over,
  };
}

function model(nodes: NodeView[], over: Partial<ViewModel> = {}): ViewModel {
  return {
    mode: "heartbeats",
    subscriptions: ["hb."],
    intervalMs: 1000,
    nodes,
    totals: { nodes: nodes.length, beats: 40, gaps: 2, missing: 5, restarts: 1, stale: 0 },
    badMessages: 3,
    ...over,
  };
}

const plain = { color: false, width: 100, maxRows: 10 };

Deno.test("renders the racks × nodes grid and the worst-first table", () => {
  const lines = renderView(
    model([
      node("A", "a-01"),
      node("A", "a-02", { state: "suspect", status: "warning", silentMs: 2500 }),
      node("B", "b-01", { state: "dead", silentMs: 65_000, gaps: 2, restarts: 1, seq: 7 }),
      node("B", "b-02", { state: "unknown", metrics: {} }),
    ]),
    plain,
  );
  assert.deepEqual(lines, [
    "Cluster heartbeat · 4 nodes · interval 1000 ms · subscribed hb.",
    "alive 1 · suspect 1 · dead 1 · unknown 1 · gaps 2 (5 lost) · restarts 1 · bad 3",
    "",
    "A    │ ● a-01  ◐ a-02",
    "B    │ ✕ b-01  ? b-02",
    "legend: ● alive  ◐ suspect  ✕ dead  ? unknown",
    "",
    "RACK  NODE  STATE    STATUS   SEQ  GAPS  RESTARTS  LOAD1  MEM%    AGE",
    "B     b-01  dead     ok         7     2         1    0.4  51.3  1m05s",
    "A     a-02  suspect  warning   10     0         0    0.4  51.3   2.5s",
    "B     b-02  unknown  ok        10     0         0      -     -  120ms",
    "A     a-01  alive    ok        10     0         0    0.4  51.3  120ms",
  ]);
});

Deno.test("the grid wraps to the width and the table is capped", () => {
  const nodes = Array.from({ length: 30 }, (_, i) => node("A", `a-${String(i).padStart(2, "0")}`));
  const lines = renderView(model(nodes), { color: false, width: 40, maxRows: 5 });
  const grid = lines.filter((l) => l.includes("│"));
  assert.ok(grid.length > 1, "wrapped");
  assert.ok(grid.every((l) => l.length <= 40), grid.join("\n"));
  assert.ok(grid[0].startsWith("A    │"));
  assert.ok(grid[1].startsWith("     │"));
  assert.equal(lines.at(-1), "… 25 more nodes");
});

Deno.test("colour marks states with ANSI codes only when asked", () => {
  const view = model([node("A", "a-01", { state: "dead" })]);
  assert.ok(
    renderView(view, { ...plain, color: true }).some((l) => l.includes("\x1b[31m✕\x1b[0m")),
  );
  assert.ok(!renderView(view, plain).some((l) => l.includes("\x1b[")));
});

Deno.test("the alerts view shows levels, active and cleared", () => {
  const lines = renderView(
    model([
      node("A", "a-01", { status: "critical" }),
      node("A", "a-02", { status: "warning" }),
      node("B", "b-01", { status: "warning", state: "dead" }),
    ], { mode: "alerts", subscriptions: ["alert.warning.", "alert.critical."] }),
    plain,
  );
  assert.equal(
    lines[0],
    "Cluster alerts · 3 nodes · interval 1000 ms · subscribed alert.warning. alert.critical.",
  );
  assert.equal(lines[1], "active 2 (critical 1, warning 1) · cleared 1 · restarts 1 · bad 3");
  assert.equal(lines[3], "A    │ ! a-01  ~ a-02");
  assert.equal(lines[4], "B    │ ✕ b-01");
  assert.ok(lines.some((l) => /^A\s+a-01\s+active\s+critical/.test(l)));
  assert.ok(lines.some((l) => /^B\s+b-01\s+cleared\s+warning/.test(l)));
});

Deno.test("an empty fleet says it is waiting", () => {
  assert.equal(renderView(model([]), plain).at(-1), "(waiting for heartbeats)");
});

Deno.test("formatAge", () => {
  assert.equal(formatAge(5), "5ms");
  assert.equal(formatAge(3200), "3.2s");
  assert.equal(formatAge(245_000), "4m05s");
});
