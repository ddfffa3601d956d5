import assert from "node:assert/strict";
import { score } from "./detector.ts";
import { MemoryDetectorStore } from "./detector.ts";
import { SqliteDetectorStore } from "./detector_store.ts";
import { DEFAULT_INDICATORS, IntelSet } from "./intel.ts";
import { buildScenario, EXPECTED_ALERTS } from "./scenario.ts";

function fullIntel(): IntelSet {
  const intel = new IntelSet(["ip", "domain", "hash"]);
  DEFAULT_INDICATORS.forEach((i) => intel.add(i));
  return intel;
}

function alertsOf(store: MemoryDetectorStore | SqliteDetectorStore, events = buildScenario()) {
  const intel = fullIntel();
  return events.flatMap((e) => score(e, intel, store).findings.map((f) => `${e.id}:${f.rule}`));
}

Deno.test("the scenario produces exactly the documented alerts (and no near miss fires)", () => {
  assert.deepEqual(
    alertsOf(new MemoryDetectorStore()).sort(),
    EXPECTED_ALERTS.map((a) => a.alert_id).sort(),
  );
});

Deno.test("the scenario is deterministic and a looping round renames ids and shifts time", () => {
  assert.deepEqual(buildScenario(), buildScenario());
  const round = buildScenario({ idPrefix: "r2-", offsetMs: 1000 });
  assert.equal(round[0].id.startsWith("r2-"), true);
  assert.equal(round[0].ts, buildScenario()[0].ts + 1000);
});

Deno.test("SQLite and memory stores agree; a restarted SQLite store answers retries identically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lab10-det-" });
  try {
    const events = buildScenario();
    const half = Math.floor(events.length / 2);
    let store = new SqliteDetectorStore(`${dir}/d.db`);
    const first = alertsOf(store, events.slice(0, half));
    store.close();
    // "Restart": a new store on the same file; the last event is retried first.
    store = new SqliteDetectorStore(`${dir}/d.db`);
    const intel = fullIntel();
    const again = score(events[half - 1], intel, store);
    assert.equal(store.count(), half);
    const rest = alertsOf(store, events.slice(half));
    store.close();
    assert.deepEqual(
      [...first, ...rest].sort(),
      EXPECTED_ALERTS.map((a) => a.alert_id).sort(),
    );
    assert.equal(again.id, events[half - 1].id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("looping rounds (a new seed and an hour later each) produce the same six alerts each round", () => {
  const store = new MemoryDetectorStore();
  for (let round = 1; round <= 4; round++) {
    const events = buildScenario({
      seed: 10 + round - 1,
      idPrefix: `r${round}-`,
      offsetMs: (round - 1) * 3_600_000,
    });
    assert.deepEqual(
      alertsOf(store, events).sort(),
      EXPECTED_ALERTS.map((a) => `r${round}-${a.alert_id}`).sort(),
      `round ${round}`,
    );
  }
});
