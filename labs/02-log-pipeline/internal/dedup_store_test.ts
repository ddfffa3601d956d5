import assert from "node:assert/strict";
import { DedupStore } from "./dedup_store.ts";

Deno.test("the store survives a restart: snapshot + journal replay", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const a = DedupStore.open(dir);
    a.record("r", 0);
    a.compact();
    a.record("r", 1);
    a.record("r", 3);
    a.sync(); // crash here: no close()
    const b = DedupStore.open(dir);
    assert.deepEqual(b.index.snapshot(), [{ stream: "r", watermark: 1, above: [3] }]);
    b.close();
    const c = DedupStore.open(dir);
    assert.equal(c.index.has("r", 3), true);
    assert.equal(Deno.readTextFileSync(`${dir}/dedup.journal`), "");
    c.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
