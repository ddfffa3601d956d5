import assert from "node:assert/strict";
import { ReadingStore } from "./reading_store.ts";

const readings = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, t: 1000 + from + i, v: i }));

Deno.test("ReadingStore: group commit, counters, idempotent replays, shared by two receivers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lab08-store-" });
  try {
    const path = `${dir}/r.db`;
    const a = new ReadingStore(path, "a");
    const b = new ReadingStore(path, "b");
    const out = a.storeBatches([
      { device: "d1", epoch: "e", floor: 0, readings: readings(0, 3) },
      { device: "d2", epoch: "e", floor: 0, readings: readings(0, 2) },
      { device: "d1", epoch: "e", floor: 0, readings: readings(3, 2) },
    ], 5000);
    assert.deepEqual(out.map((v) => [v.device, v.upto, v.store.length]), [
      ["d1", 2, 3],
      ["d2", 1, 2],
      ["d1", 4, 2],
    ]);
    // The same readings through the other receiver (a failover replay): nothing new.
    const replay = b.storeBatches([{
      device: "d1",
      epoch: "e",
      floor: 0,
      readings: readings(0, 6),
    }]);
    assert.deepEqual(replay[0].store.map((r) => r.seq), [5]);
    assert.equal(replay[0].duplicates, 5);
    const d1 = a.device("d1")!;
    assert.equal(d1.stored, 6);
    assert.equal(d1.duplicates, 5);
    assert.equal(d1.lastSeq, 5);
    assert.equal(d1.lastTakenAt, 1005);
    assert.deepEqual(a.devices().map((d) => d.device), ["d1", "d2"]);
    a.close();
    b.close();
    const again = new ReadingStore(path, "a");
    assert.equal(again.device("d1")?.stored, 6); // durable
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
