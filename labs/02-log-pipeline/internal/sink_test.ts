import assert from "node:assert/strict";
import type { Parsed } from "./protocol.ts";
import { Sink } from "./sink.ts";

const RUN = "0123456789abcdef";

function parsed(seq: number, records: number, dead = 0): Parsed {
  let ndjson = "";
  for (let i = 0; i < records; i++) {
    ndjson += JSON.stringify({ event: { id: `${RUN}-${seq}-${i}` }, pad: "x".repeat(40) }) + "\n";
  }
  return {
    run: RUN,
    seq,
    lines: records + dead,
    count: records,
    records: ndjson,
    dead: Array.from(
      { length: dead },
      (_, i) => ({ index: records + i, reason: "bad", line: "?" }),
    ),
    parser: "p",
  };
}

function readAll(dir: string, prefix: string): string[] {
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(prefix))
    .sort();
  return files.flatMap((f) => Deno.readTextFileSync(`${dir}/${f}`).split("\n").filter(Boolean));
}

Deno.test("sink stores each batch once, acks duplicates again, counts add up", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sink = new Sink({ dir, rotateBytes: 1024, now: () => new Date(0) });
    assert.deepEqual(sink.store(parsed(0, 10, 2)), {
      run: RUN,
      seq: 0,
      stored: 10,
      dead: 2,
      duplicate: false,
    });
    assert.equal(sink.store(parsed(0, 10, 2)).duplicate, true);
    sink.store(parsed(2, 5));
    sink.store(parsed(1, 5));
    const c = sink.counts();
    assert.deepEqual(
      [c.received, c.parsed, c.stored, c.dead_lettered, c.batches, c.duplicates],
      [22, 20, 20, 2, 3, 1],
    );
    assert.ok(c.rotations >= 1, "1 KiB files must rotate");
    sink.close();
    const records = readAll(dir, "records-");
    assert.equal(records.length, 20);
    assert.equal(new Set(records.map((l) => JSON.parse(l).event.id)).size, 20);
    const dead = readAll(dir, "dead-letter-").map((l) => JSON.parse(l));
    assert.deepEqual(dead[0], {
      "@timestamp": "1970-01-01T00:00:00.000Z",
      event: { id: `${RUN}-0-10`, kind: "pipeline_error" },
      error: { message: "bad" },
      log: { original: "?" },
    });
    // A restarted sink still knows what it stored.
    const again = new Sink({ dir, rotateBytes: 1024 });
    assert.equal(again.store(parsed(1, 5)).duplicate, true);
    assert.equal(again.store(parsed(3, 1)).duplicate, false);
    again.close();
    assert.equal(readAll(dir, "records-").length, 21);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a crash between writing a batch and committing it: the re-send is stored once", () => {
  for (const cut of ["whole commit line", "its newline"]) {
    const dir = Deno.makeTempDirSync();
    try {
      // 1 KiB files: batch 1 (~2.6 KiB of records) rotates, so the rollback must also
      // remove a file that holds nothing but uncommitted data.
      const a = new Sink({ dir, rotateBytes: 1024 });
      a.store(parsed(0, 3, 1));
      const journal = `${dir}/dedup.journal`;
      const committedLength = Deno.statSync(journal).size;
      a.store(parsed(1, 30, 2)); // data written ...
      // ... and the process dies before the commit line (or before its last byte).
      const full = Deno.statSync(journal).size;
      Deno.truncateSync(journal, cut === "whole commit line" ? committedLength : full - 1);
      assert.equal(readAll(dir, "records-").length, 33, "the uncommitted data is on disk");
      const b = new Sink({ dir, rotateBytes: 1024 });
      assert.ok(b.counts().rolled_back_bytes > 0, cut);
      assert.equal(b.store(parsed(0, 3, 1)).duplicate, true, "committed batch still known");
      assert.equal(b.store(parsed(1, 30, 2)).duplicate, false, "uncommitted batch stored again");
      b.close();
      const ids = readAll(dir, "records-").map((l) => JSON.parse(l).event.id);
      assert.equal(ids.length, 33, `${cut}: records once`);
      assert.equal(new Set(ids).size, 33, cut);
      assert.equal(readAll(dir, "dead-letter-").length, 3, `${cut}: dead letters once`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});
