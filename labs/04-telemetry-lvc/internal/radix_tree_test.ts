import assert from "node:assert/strict";
import { bytesToKey, keyToBytes, RadixTree } from "./radix_tree.ts";

function sortedKeys<V>(it: Iterable<[string, V]>): string[] {
  return [...it].map(([k]) => k).sort();
}

Deno.test("RadixTree stores, finds and overwrites keys", () => {
  const t = new RadixTree<number>();
  assert.equal(t.set("plant/temp/1", 1), true);
  assert.equal(t.set("plant/temp/10", 2), true);
  assert.equal(t.set("plant/rh/1", 3), true);
  assert.equal(t.set("plant", 4), true);
  assert.equal(t.set("plant/temp/1", 5), false);
  assert.equal(t.size, 4);
  assert.equal(t.get("plant/temp/1"), 5);
  assert.equal(t.get("plant/temp/10"), 2);
  assert.equal(t.get("plant/temp"), undefined);
  assert.equal(t.has("plant/te"), false);
  assert.equal(t.has("plant"), true);
  assert.equal(t.get("plant/temp/100"), undefined);
});

Deno.test("RadixTree prefix yields exactly the keys under the prefix", () => {
  const t = new RadixTree<number>();
  const keys = ["a/temp/1", "a/temp/2", "a/tempo", "a/rh/1", "b/temp/1", "a", ""];
  keys.forEach((k, i) => t.set(k, i));
  assert.deepEqual(sortedKeys(t.prefix("a/temp")), ["a/temp/1", "a/temp/2", "a/tempo"]);
  assert.deepEqual(sortedKeys(t.prefix("a/temp/")), ["a/temp/1", "a/temp/2"]);
  assert.deepEqual(sortedKeys(t.prefix("a/te")), ["a/temp/1", "a/temp/2", "a/tempo"]);
  assert.deepEqual(sortedKeys(t.prefix("a")), ["a", "a/rh/1", "a/temp/1", "a/temp/2", "a/tempo"]);
  assert.deepEqual(sortedKeys(t.prefix("")), [...keys].sort());
  assert.deepEqual(sortedKeys(t.prefix("c")), []);
  assert.deepEqual(sortedKeys(t.prefix("a/temp/1/x")), []);
  assert.deepEqual(sortedKeys(t.prefix("a/tx")), []);
  for (const [k, v] of t.prefix("")) assert.equal(keys[v], k);
});

Deno.test("RadixTree delete keeps the tree compressed and other keys intact", () => {
  const t = new RadixTree<number>();
  const keys = Array.from({ length: 200 }, (_, i) => `s/${i % 7}/${i}`);
  keys.forEach((k, i) => t.set(k, i));
  const nodesFull = t.nodeCount();
  for (let i = 0; i < keys.length; i += 2) assert.equal(t.delete(keys[i]), true);
  assert.equal(t.delete(keys[0]), false);
  assert.equal(t.delete("s/"), false);
  assert.equal(t.size, 100);
  for (let i = 0; i < keys.length; i++) assert.equal(t.get(keys[i]), i % 2 ? i : undefined);
  assert.ok(t.nodeCount() < nodesFull);
  for (let i = 1; i < keys.length; i += 2) t.delete(keys[i]);
  assert.equal(t.size, 0);
  assert.equal(t.nodeCount(), 1, "only the root is left after deleting every key");
});

Deno.test("RadixTree matches a brute-force model under random operations", () => {
  let state = 7;
  const rand = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const alphabet = ["a", "b", "/", "\x00", "\xff"];
  const randomKey = () => Array.from({ length: rand(6) }, () => alphabet[rand(5)]).join("");
  const t = new RadixTree<number>();
  const model = new Map<string, number>();
  for (let step = 0; step < 5000; step++) {
    const k = randomKey();
    if (rand(3) === 0) {
      assert.equal(t.delete(k), model.delete(k));
    } else {
      assert.equal(t.set(k, step), !model.has(k));
      model.set(k, step);
    }
    assert.equal(t.size, model.size);
    if (step % 50 === 0) {
      const p = randomKey().slice(0, 3);
      const expected = [...model.keys()].filter((x) => x.startsWith(p)).sort();
      assert.deepEqual(sortedKeys(t.prefix(p)), expected);
      for (const [key, value] of t.prefix(p)) assert.equal(model.get(key), value);
    }
  }
});

Deno.test("bytesToKey and keyToBytes round-trip every byte value", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const key = bytesToKey(bytes);
  assert.equal(key.length, 256);
  assert.deepEqual(keyToBytes(key), bytes);
  const big = new Uint8Array(10_000).fill(0x41);
  assert.equal(bytesToKey(big), "A".repeat(10_000));
});
