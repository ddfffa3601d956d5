import assert from "node:assert/strict";
import { DEFAULT_RULES, MemoryDetectorStore, score } from "./detector.ts";
import { IntelSet } from "./intel.ts";
import type { Event } from "./protocol.ts";

const login = (id: string, ts: number, src = "1.2.3.4"): Event => ({
  id,
  ts,
  kind: "login",
  host: "h",
  src,
  ok: false,
});

Deno.test("brute force fires on exactly the Nth failure within the window, once per burst", () => {
  const store = new MemoryDetectorStore();
  const intel = new IntelSet(["ip"]);
  const rules = { ...DEFAULT_RULES, bruteForceCount: 3, bruteForceWindowMs: 10_000 };
  const fired = [0, 1000, 2000, 3000, 30_000].map((ts, i) =>
    score(login(`l${i}`, ts), intel, store, rules).findings.length
  );
  assert.deepEqual(fired, [0, 0, 1, 0, 0]);
});

Deno.test("a retried event id gets its stored verdict and is not counted twice", () => {
  const store = new MemoryDetectorStore();
  const intel = new IntelSet(["ip"]);
  const rules = { ...DEFAULT_RULES, bruteForceCount: 2 };
  assert.equal(score(login("a", 1), intel, store, rules).findings.length, 0);
  assert.equal(score(login("a", 1), intel, store, rules).findings.length, 0);
  assert.equal(score(login("b", 2), intel, store, rules).findings.length, 1);
  assert.deepEqual(score(login("b", 2), intel, store, rules).findings.map((f) => f.rule), [
    "brute_force",
  ]);
});

Deno.test("beaconing needs evenly spaced connections with a long enough mean, once per pair", () => {
  const intel = new IntelSet(["ip"]);
  const conn = (id: string, ts: number): Event => ({ id, ts, kind: "conn", host: "h", dst: "d" });
  const run = (times: number[]) => {
    const store = new MemoryDetectorStore();
    return times.map((ts, i) => score(conn(`c${i}`, ts), intel, store).findings.length);
  };
  assert.deepEqual(run([0, 30e3, 60e3, 90e3, 120e3, 150e3]), [0, 0, 0, 0, 1, 0]);
  assert.deepEqual(run([0, 1e3, 2e3, 3e3, 4e3]), [0, 0, 0, 0, 0]); // too fast: a session
  assert.deepEqual(run([0, 12e3, 59e3, 79e3, 140e3]), [0, 0, 0, 0, 0]); // jitter
});

Deno.test("IOC rules use the indicator's severity; unknown values are benign", () => {
  const intel = new IntelSet(["ip", "domain", "hash"]);
  intel.add({ type: "domain", value: "bad.example", severity: "medium", note: "n" });
  const store = new MemoryDetectorStore();
  const v = score({ id: "d", ts: 0, kind: "dns", host: "h", dst: "bad.example" }, intel, store);
  assert.deepEqual(v.findings.map((f) => [f.rule, f.severity]), [["ioc_domain", "medium"]]);
  const ok = score({ id: "e", ts: 0, kind: "dns", host: "h", dst: "good.example" }, intel, store);
  assert.equal(ok.findings.length, 0);
});

Deno.test("an intel copy is complete only when a pass marker's counts are met", () => {
  const intel = new IntelSet(["ip", "hash"]);
  intel.add({ type: "ip", value: "1.1.1.1", severity: "low", note: "" });
  assert.equal(intel.onMeta({ pass: 1, counts: { ip: 1, hash: 1, domain: 5 } }), false);
  intel.add({ type: "hash", value: "ab", severity: "low", note: "" });
  assert.equal(intel.onMeta({ pass: 2, counts: { ip: 1, hash: 1, domain: 5 } }), true);
  assert.equal(intel.complete, true);
});
