import assert from "node:assert/strict";
import { Checkpoint, CheckpointError } from "./checkpoint.ts";
import { ManualClock } from "@lib/async/mod.ts";
import { Collector } from "./collector.ts";
import type { Batch } from "./protocol.ts";

const RUN = "0123456789abcdef";

Deno.test("checkpoint: written before each send and after each ack, restored on load", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/cp.json`;
    assert.equal(Checkpoint.load(path), null);
    const cp = Checkpoint.create(path, RUN);
    const sentSeen: { seq: number; pending: number }[] = [];
    const c = new Collector({
      run: RUN,
      batchSize: 2,
      window: 4,
      ackTimeout: 1000,
      clock: new ManualClock(),
      checkpoint: cp,
      send: (b: Batch) => {
        // The checkpoint on disk already lists the batch when it goes out.
        const onDisk = JSON.parse(Deno.readTextFileSync(path));
        sentSeen.push({ seq: b.seq, pending: onDisk.pending.length });
        return Promise.resolve();
      },
    });
    const at = (start: number, end: number, p = "/x/a.log") => ({ path: p, ino: 7, start, end });
    await c.push({ line: "a", at: at(0, 2) });
    await c.push({ line: "b", at: at(2, 4) }); // batch 0: one segment [0, 4)
    await c.push({ line: "c", at: at(4, 6) });
    await c.push({ line: "d", at: at(0, 3, "/x/b.log") }); // batch 1: two files
    await c.push({ line: "e", at: at(6, 8) }); // buffered, not sent
    assert.deepEqual(sentSeen, [{ seq: 0, pending: 1 }, { seq: 1, pending: 2 }]);
    c.onAck({ run: RUN, seq: 0 });

    const back = Checkpoint.load(path)!;
    assert.equal(back.run, RUN);
    assert.equal(back.nextSeq, 2);
    assert.deepEqual(back.restored, [{
      seq: 1,
      segments: [at(4, 6), at(0, 3, "/x/b.log")],
    }]);
    assert.deepEqual(
      [...back.files],
      [["/x/a.log", { ino: 7, offset: 6 }], ["/x/b.log", { ino: 7, offset: 3 }]],
      "the buffered line e (bytes 6-8) is read again after a restart",
    );

    // A resumed collector continues the numbering and replays with the old seq.
    const sent: Batch[] = [];
    const d = new Collector({
      run: back.run,
      batchSize: 2,
      window: 4,
      ackTimeout: 1000,
      clock: new ManualClock(),
      firstSeq: back.nextSeq,
      checkpoint: back,
      send: (b: Batch) => (sent.push(b), Promise.resolve()),
    });
    assert.equal(
      await d.replay(1, [{ line: "c" }, { line: "d" }], back.restored[0].segments),
      true,
    );
    await d.push({ line: "e", at: at(6, 8) });
    await d.flush();
    assert.deepEqual(sent.map((b) => [b.seq, b.lines]), [[1, ["c", "d"]], [2, ["e"]]]);
    d.onAck({ run: RUN, seq: 1 });
    d.onAck({ run: RUN, seq: 2 });
    assert.deepEqual(Checkpoint.load(path)!.restored, [], "everything acknowledged");
    assert.equal(Checkpoint.load(path)!.nextSeq, 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("checkpoint: a damaged file is refused with what was expected", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/cp.json`;
    for (
      const [text, expected] of [
        ["{not json", "expected JSON"],
        ['{"version":1,"run":"x","next_seq":0,"files":{},"pending":[]}', "run id"],
        [`{"version":1,"run":"${RUN}","next_seq":0,"files":{},"pending":[{"seq":0}]}`, "pending"],
      ]
    ) {
      Deno.writeTextFileSync(path, text);
      assert.throws(() => Checkpoint.load(path), (e: Error) => {
        assert.ok(e instanceof CheckpointError && e.message.includes(expected), e.message);
        return true;
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
