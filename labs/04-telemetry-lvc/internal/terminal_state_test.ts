import assert from "node:assert/strict";
import { READING_SCHEMA, type UpdateHeader } from "./protocol.ts";
import { renderTable, TerminalState } from "./terminal_state.ts";

function h(seq: number, ts: number, replay = false): UpdateHeader {
  return { seq, ts, units: "degC", schema: READING_SCHEMA, replay };
}

Deno.test("live updates record value, seq and latency; gaps are counted", () => {
  let now = 1000;
  const st = new TerminalState({ maxTopics: 10, now: () => now });
  const r1 = st.accept("a", h(1, 990), 20.5, 20);
  assert.equal(r1.verdict, "live");
  assert.equal(r1.state.latencyMs, 10);
  now = 2000;
  st.accept("a", h(4, 1995), 21, 20);
  assert.equal(st.get("a")!.seq, 4);
  assert.equal(st.get("a")!.latencyMs, 5);
  assert.equal(st.stats().gaps, 2);
  assert.equal(st.stats().live, 2);
});

Deno.test("a replay is shown for a new topic and ignored when not newer", () => {
  const st = new TerminalState({ maxTopics: 10, now: () => 5000 });
  assert.equal(st.accept("a", h(3, 100, true), 1, 20).verdict, "replay");
  assert.equal(st.accept("a", h(3, 100, true), 1, 20).verdict, "duplicate");
  assert.equal(st.accept("a", h(4, 4990), 2, 20).verdict, "live");
  assert.equal(st.accept("a", h(4, 4990, true), 2, 20).verdict, "duplicate");
  assert.equal(st.accept("a", h(2, 4990, true), 2, 20).verdict, "duplicate");
  // A replay newer than what we have (we missed a live update) is taken.
  assert.equal(st.accept("a", h(6, 4995, true), 3, 20).verdict, "replay");
  assert.equal(st.get("a")!.value, 3);
  // A live update after a replay does not count a gap relative to the replay.
  st.accept("a", h(9, 4999), 3, 20);
  assert.equal(st.stats().gaps, 0);
  assert.deepEqual(
    { ...st.stats() },
    { received: 7, live: 2, replays: 2, duplicates: 3, gaps: 0, bad: 0, topics: 1, evicted: 0 },
  );
});

Deno.test("a restarted source (seq back to 1) is still shown live", () => {
  const st = new TerminalState({ maxTopics: 10, now: () => 0 });
  st.accept("a", h(100, 0), 1, 20);
  assert.equal(st.accept("a", h(1, 0), 2, 20).verdict, "live");
  assert.equal(st.get("a")!.seq, 1);
});

Deno.test("topics are bounded, least recently updated evicted", () => {
  const st = new TerminalState({ maxTopics: 2, now: () => 0 });
  st.accept("a", h(1, 0), 1, 20);
  st.accept("b", h(1, 0), 1, 20);
  st.accept("a", h(2, 0), 1, 20);
  st.accept("c", h(1, 0), 1, 20);
  assert.equal(st.get("b"), undefined);
  assert.ok(st.get("a") && st.get("c"));
  assert.equal(st.stats().evicted, 1);
  st.bad();
  assert.equal(st.stats().bad, 1);
});

Deno.test("renderTable shows value, units, seq, age and latency", () => {
  const st = new TerminalState({ maxTopics: 10, now: () => 10_000 });
  st.accept("plant/temperature/00000", h(5, 9_990), 21.25, 20);
  st.accept("plant/humidity/00001", h(2, 4_000, true), 40, 20);
  const lines = renderTable(st.rows(10), st.stats(), 12_000);
  assert.match(lines[0], /TOPIC\s+VALUE\s+UNITS\s+SEQ\s+AGE\s+LATENCY/);
  assert.match(lines[1], /plant\/humidity\/00001\s+40\.000 degC\s+2\s+8\.0s\s+replay/);
  assert.match(lines[2], /plant\/temperature\/00000\s+21\.250 degC\s+5\s+2\.0s\s+10\.0ms/);
  assert.match(lines[3], /topics=2 received=2 live=1 replays=1/);
});
