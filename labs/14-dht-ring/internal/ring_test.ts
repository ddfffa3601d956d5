import assert from "node:assert/strict";
import { murmur3, planTransfers, Ring } from "./ring.ts";

const keys = (n: number, prefix = "k") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

Deno.test("murmur3 matches the reference vectors", () => {
  assert.equal(murmur3(""), 0);
  assert.equal(murmur3("", 1), 0x514e28b7);
  assert.equal(murmur3("hello"), 0x248bfa47);
  assert.equal(murmur3("The quick brown fox jumps over the lazy dog"), 0x2e4ff723);
});

Deno.test("preference list: N distinct nodes clockwise, the same on every node", () => {
  const ring = new Ring(["c", "a", "b", "d"], 16);
  const again = new Ring(["d", "b", "a", "c"], 16);
  for (const key of keys(200)) {
    const list = ring.preferenceList(key, 3);
    assert.equal(list.length, 3);
    assert.equal(new Set(list).size, 3);
    assert.deepEqual(again.preferenceList(key, 3), list);
  }
  assert.equal(new Ring(["a", "b"], 4).preferenceList("k", 3).length, 2);
  assert.deepEqual(new Ring([], 4).preferenceList("k", 3), []);
});

Deno.test("ranges and ownership cover the ring exactly once", () => {
  const ring = new Ring(["a", "b", "c"], 32);
  const total = [...ring.ownership().values()].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
  assert.equal(ring.nodes.reduce((n, node) => n + ring.ranges(node).length, 0), 96);
  for (const key of keys(100)) {
    const owner = ring.owner(key)!;
    const p = Ring.position(key);
    const inside = ring.ranges(owner).some((r) =>
      r.start < r.end ? p > r.start && p <= r.end : p > r.start || p <= r.end
    );
    assert.ok(inside, key);
  }
});

Deno.test("virtual nodes even out the load (max/mean keys per node)", () => {
  const nodes = Array.from({ length: 6 }, (_, i) => `node-${i}`);
  const ratio = (vnodes: number) => {
    const ring = new Ring(nodes, vnodes);
    const counts = new Map<string, number>();
    for (const key of keys(30_000)) {
      counts.set(ring.owner(key)!, (counts.get(ring.owner(key)!) ?? 0) + 1);
    }
    return Math.max(...counts.values()) / (30_000 / nodes.length);
  };
  const without = ratio(1), with128 = ratio(128);
  assert.ok(with128 < 1.25, `with 128 vnodes max/mean ${with128}`);
  assert.ok(with128 < without, `${with128} vs ${without}`);
});

Deno.test("a join moves only the keys whose preference list changed, each once, to the newcomer", () => {
  const before = new Ring(["a", "b", "c", "d"], 64);
  const after = new Ring(["a", "b", "c", "d", "e"], 64);
  const all = keys(5000);
  const received = new Map<string, number>();
  const senders = new Map<string, string[]>();
  for (const self of before.nodes) {
    const held = all.filter((k) => before.preferenceList(k, 3).includes(self));
    const plan = planTransfers(before, after, self, held, 3);
    for (const [to, ks] of plan.send) {
      assert.equal(to, "e", "only the newcomer receives");
      for (const k of ks) {
        received.set(k, (received.get(k) ?? 0) + 1);
        senders.set(k, [...senders.get(k) ?? [], self]);
      }
    }
    // What a node drops is exactly what it no longer replicates.
    for (const k of plan.drop) assert.ok(!after.preferenceList(k, 3).includes(self));
  }
  const changed = all.filter((k) => after.preferenceList(k, 3).includes("e"));
  assert.equal(received.size, changed.length);
  assert.ok([...received.values()].every((n) => n === 1), "one sender per key");
  const ideal = 3 * all.length / 5;
  assert.ok(Math.abs(changed.length - ideal) / ideal < 0.25, `${changed.length} vs ${ideal}`);
});

Deno.test("a leave hands each of the leaver's keys to exactly one new replica", () => {
  const before = new Ring(["a", "b", "c", "d"], 64);
  const after = new Ring(["a", "b", "c"], 64);
  const held = keys(2000).filter((k) => before.preferenceList(k, 3).includes("d"));
  const plan = planTransfers(before, after, "d", held, 3);
  const sent = [...plan.send.values()].flat();
  assert.equal(sent.length, held.length);
  for (const [to, ks] of plan.send) {
    for (const k of ks) {
      assert.ok(after.preferenceList(k, 3).includes(to));
      assert.ok(!before.preferenceList(k, 3).includes(to));
    }
  }
  assert.equal(plan.drop.length, held.length);
});

Deno.test("growing from fewer than N nodes: the old primary sends", () => {
  const before = new Ring(["a", "b"], 8), after = new Ring(["a", "b", "c"], 8);
  const all = keys(100);
  const a = planTransfers(before, after, "a", all, 3);
  const b = planTransfers(before, after, "b", all, 3);
  const total = (a.send.get("c")?.length ?? 0) + (b.send.get("c")?.length ?? 0);
  assert.equal(total, 100);
  assert.deepEqual(a.drop, []);
});
