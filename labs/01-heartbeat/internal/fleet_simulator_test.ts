import assert from "node:assert/strict";
import { FleetSimulator } from "./fleet_simulator.ts";
import { seededRandom } from "@lib/random/mod.ts";
import type { Heartbeat } from "./protocol.ts";

function fleet(seed: number, size = 12, rates = {}) {
  let boots = 0;
  return new FleetSimulator({
    size,
    racks: ["A", "B", "C"],
    intervalMs: 1000,
    random: seededRandom(seed),
    newBootId: () => `boot-${++boots}`,
    now: () => 1_700_000_000_000,
    rates,
  });
}

Deno.test("nodes are dealt round-robin across racks with stable names", () => {
  const beats = fleet(1, 6).tick();
  assert.deepEqual(
    beats.map((b) => `${b.rack}/${b.node}`),
    ["A/a-01", "B/b-01", "C/c-01", "A/a-02", "B/b-02", "C/c-02"],
  );
  assert.ok(beats.every((b) => b.seq === 0 && b.status === "ok"));
});

Deno.test("the same seed reproduces the run", () => {
  const a = fleet(9), b = fleet(9), c = fleet(10);
  const runA = Array.from({ length: 200 }, () => a.tick());
  assert.deepEqual(runA, Array.from({ length: 200 }, () => b.tick()));
  assert.notDeepEqual(runA, Array.from({ length: 200 }, () => c.tick()));
});

Deno.test("nodes degrade, fail (go silent), and come back with a new boot_id and seq 0", () => {
  const sim = fleet(3, 12, { degrade: 0.2, escalate: 0.3, fail: 0.4, recover: 0.1 });
  const seen = new Set<string>();
  const bootsOf = new Map<string, Set<string>>();
  let silentTicks = 0;
  let restartAtZero = 0;
  const last = new Map<string, Heartbeat>();
  for (let i = 0; i < 300; i++) {
    const beats = sim.tick();
    if (beats.length < 12) silentTicks++;
    for (const b of beats) {
      seen.add(b.status);
      const key = `${b.rack}/${b.node}`;
      const prev = last.get(key);
      if (prev && prev.boot_id !== b.boot_id && b.seq === 0) restartAtZero++;
      if (prev && prev.boot_id === b.boot_id) {
        assert.equal(b.seq, prev.seq + 1, "no gaps without drop");
      }
      last.set(key, b);
      (bootsOf.get(key) ?? bootsOf.set(key, new Set()).get(key)!).add(b.boot_id);
      if (b.status === "critical") assert.ok(b.metrics.mem_used_pct >= 97);
    }
  }
  assert.deepEqual([...seen].sort(), ["critical", "ok", "warning"]);
  assert.ok(silentTicks > 0, "some node went down");
  assert.ok(restartAtZero > 0, "some node rebooted");
});

Deno.test("drop rate loses beats but keeps advancing seq (a gap downstream)", () => {
  const sim = fleet(5, 3, { degrade: 0, drop: 0.5 });
  const seqs: number[] = [];
  for (let i = 0; i < 40; i++) {
    for (const b of sim.tick()) if (b.node === "a-01") seqs.push(b.seq);
  }
  assert.ok(seqs.length < 40 && seqs.length > 5);
  assert.ok(seqs.some((s, i) => i > 0 && s > seqs[i - 1] + 1), "a gap exists");
});

Deno.test("bad sizes are rejected", () => {
  assert.throws(() => fleet(1, 0), /size: expected an integer >= 1, got 0/);
});
