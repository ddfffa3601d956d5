import assert from "node:assert/strict";
import { RotatingWriter } from "./rotating_writer.ts";

Deno.test("rotates before a chunk would overflow, never splits a chunk, continues numbering", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const closed: string[] = [];
    const w = new RotatingWriter({
      dir,
      prefix: "records",
      maxBytes: 10,
      onRotate: (f) => closed.push(f),
    });
    w.write("aaaa\n");
    w.write("bbbb\n"); // exactly 10 bytes: still the first file
    w.write("cccccccccccccccc\n"); // bigger than maxBytes: its own file, whole
    w.write("dd\n");
    w.close();
    assert.deepEqual(closed, [`${dir}/records-000001.ndjson`, `${dir}/records-000002.ndjson`]);
    const read = (n: number) => Deno.readTextFileSync(`${dir}/records-00000${n}.ndjson`);
    assert.deepEqual([read(1), read(2), read(3)], ["aaaa\nbbbb\n", "cccccccccccccccc\n", "dd\n"]);
    const again = new RotatingWriter({ dir, prefix: "records", maxBytes: 10 });
    again.write("e\n");
    again.close();
    assert.equal(read(4), "e\n", "a restarted writer never appends to an old file");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
