import assert from "node:assert/strict";
import { LastValueCache } from "./last_value_cache.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);

function put(lvc: LastValueCache<{ seq: number }>, topic: string, seq: number, payloadBytes = 4) {
  return lvc.set(b(topic), new Uint8Array(2), { seq }, new Uint8Array(payloadBytes), seq);
}

Deno.test("LastValueCache keeps only the last value per topic, with its time", () => {
  const lvc = new LastValueCache<{ seq: number }>({ maxEntries: 0, maxBytes: 0 });
  assert.equal(put(lvc, "a/1", 1), "inserted");
  assert.equal(put(lvc, "a/1", 2), "updated");
  assert.equal(put(lvc, "a/2", 3), "inserted");
  assert.equal(lvc.size, 2);
  const e = lvc.get(b("a/1"))!;
  assert.equal(e.header.seq, 2);
  assert.equal(e.receivedAt, 2);
  assert.equal(e.bytes, 3 + 2 + 4);
  assert.equal(lvc.bytes, 2 * 9);
  assert.equal(lvc.get(b("a/3")), undefined);
});

Deno.test("LastValueCache evicts the least recently used topic over the count bound", () => {
  const evicted: string[] = [];
  const lvc = new LastValueCache<{ seq: number }>(
    { maxEntries: 3, maxBytes: 0 },
    (e) => evicted.push(td.decode(e.topic)),
  );
  put(lvc, "t1", 1);
  put(lvc, "t2", 2);
  put(lvc, "t3", 3);
  put(lvc, "t1", 4); // t1 is now most recent; t2 is LRU
  put(lvc, "t4", 5);
  assert.deepEqual(evicted, ["t2"]);
  lvc.get(b("t3")); // a read counts as use: t1 is LRU now
  put(lvc, "t5", 6);
  assert.deepEqual(evicted, ["t2", "t1"]);
  assert.equal(lvc.size, 3);
  assert.deepEqual(lvc.stats(), {
    entries: 3,
    bytes: 3 * (2 + 2 + 4),
    evictions: 2,
    maxEntries: 3,
    maxBytes: 0,
  });
  assert.deepEqual(lvc.matching(b("t")).map((e) => td.decode(e.topic)).sort(), ["t3", "t4", "t5"]);
});

Deno.test("LastValueCache evicts by bytes and refuses an entry larger than the bound", () => {
  const lvc = new LastValueCache<{ seq: number }>({ maxEntries: 0, maxBytes: 100 });
  for (let i = 0; i < 10; i++) put(lvc, `k${i}`, i, 20); // 2 + 2 + 20 = 24 bytes each
  assert.equal(lvc.size, 4);
  assert.ok(lvc.bytes <= 100);
  assert.deepEqual(lvc.matching(b("")).map((e) => e.header.seq).sort(), [6, 7, 8, 9]);
  assert.equal(put(lvc, "k9", 10, 200), "too_large");
  assert.equal(lvc.get(b("k9")), undefined, "a stale older value is not kept either");
  assert.equal(lvc.size, 3);
  assert.equal(lvc.stats().evictions, 6);
});

Deno.test("LastValueCache prefix lookup returns all matching topics and no others", () => {
  const lvc = new LastValueCache<{ seq: number }>({ maxEntries: 0, maxBytes: 0 });
  let seq = 0;
  for (const site of ["a", "b"]) {
    for (const kind of ["temp", "rh"]) {
      for (let i = 0; i < 50; i++) put(lvc, `${site}/${kind}/${i}`, ++seq);
    }
  }
  const temp = lvc.matching(b("a/temp/")).map((e) => td.decode(e.topic));
  assert.equal(temp.length, 50);
  assert.ok(temp.every((t) => t.startsWith("a/temp/")));
  assert.equal(lvc.matching(b("a/")).length, 100);
  assert.equal(lvc.matching(b("")).length, 200);
  assert.equal(lvc.matching(b("a/temp/4")).length, 11); // 4, 40..49
  assert.equal(lvc.matching(b("c")).length, 0);
  lvc.delete(b("a/temp/4"));
  assert.equal(lvc.matching(b("a/temp/4")).length, 10);
});

Deno.test("LastValueCache with 100k topics stays within both bounds", () => {
  const lvc = new LastValueCache<{ seq: number }>({ maxEntries: 10_000, maxBytes: 200_000 });
  for (let i = 0; i < 100_000; i++) {
    put(lvc, `site/${i % 10}/sensor/${i}`, i, 8);
    assert.ok(lvc.size <= 10_000);
    assert.ok(lvc.bytes <= 200_000);
  }
  // The most recent topics survive.
  assert.ok(lvc.get(b("site/9/sensor/99999")));
  assert.equal(lvc.get(b("site/0/sensor/0")), undefined);
  const s = lvc.stats();
  assert.equal(s.entries + s.evictions, 100_000);
  assert.equal(lvc.matching(b("site/")).length, s.entries);
});

Deno.test("LastValueCache rejects negative bounds", () => {
  assert.throws(() => new LastValueCache({ maxEntries: -1, maxBytes: 0 }), /expected cache bounds/);
});
