import assert from "node:assert/strict";
import { seededRandom } from "@lib/random/mod.ts";
import { tempDir } from "@lib/testing/mod.ts";
import { generateCorpus, listInputs } from "./corpus.ts";
import { readOutput } from "./gather.ts";
import { JOB_NAMES, JOBS, runLocal, words } from "./jobs.ts";
import { fnv1a, partition } from "./partition.ts";
import { computeSplits, readSplit } from "./splits.ts";
import { runMapTask, runReduceTask, TaskError } from "./tasks.ts";

Deno.test("splits read every line exactly once, whatever the cut points", async () => {
  await using dir = await tempDir();
  const random = seededRandom(3);
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    lines.push("x".repeat(Math.floor(random() * 40)) + `#${i}` + (i % 7 === 0 ? "\r" : ""));
  }
  lines.push(""); // an empty line
  lines.push("last-without-newline");
  const text = lines.join("\n");
  const path = `${dir.path}/in.txt`;
  await Deno.writeTextFile(path, text);
  const size = (await Deno.stat(path)).size;
  const expected = text.split("\n").map((l) => l.replace(/\r$/, ""));
  for (const splitSize of [1, 2, 3, 7, 16, 41, 100, 1000, size]) {
    const got: string[] = [];
    const offsets: number[] = [];
    for (const split of computeSplits([{ path, size }], splitSize)) {
      using file = await Deno.open(path);
      for await (const r of readSplit(file, split.start, split.end, 1 << 20)) {
        got.push(new TextDecoder().decode(r.bytes!));
        offsets.push(r.offset);
      }
    }
    assert.deepEqual(got, expected, `split size ${splitSize}`);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  }
});

Deno.test("a record longer than max-record comes back without bytes", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/in.txt`;
  await Deno.writeTextFile(path, `short\n${"y".repeat(100)}\nafter\n`);
  using file = await Deno.open(path);
  const got = [];
  for await (const r of readSplit(file, 0, 200, 10)) got.push([r.offset, r.bytes?.length ?? null]);
  assert.deepEqual(got, [[0, 5], [6, null], [107, 5]]);
});

Deno.test("words, FNV-1a and partitions are stable", () => {
  assert.deepEqual(words("The über-naïve Worker, don't PANIC 42"), [
    "the",
    "über",
    "naïve",
    "worker",
    "don't",
    "panic",
    "42",
  ]);
  assert.equal(fnv1a(""), 0x811c9dc5);
  assert.equal(fnv1a("a"), 0xe40c292c);
  const reference = (key: string) => {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h;
  };
  for (const key of ["a", "zeromq", "über", "naïve x", "日本", "😀", ""]) {
    assert.equal(fnv1a(key), reference(key), key);
    assert.equal(partition(key, 7), fnv1a(key) % 7);
  }
});

for (const job of JOB_NAMES) {
  for (const combine of [true, false]) {
    Deno.test(`${job}${combine ? " with the combiner" : ""}: map + shuffle + reduce in process = the single-process result`, async () => {
      await using dir = await tempDir();
      const input = `${dir.path}/in`;
      const work = `${dir.path}/work`;
      const out = `${dir.path}/out`;
      await Deno.mkdir(work);
      await Deno.mkdir(out);
      await generateCorpus(input, { job, bytes: 60_000, files: 3, poison: true });
      const inputs = await listInputs([input]);
      const splits = computeSplits(inputs, 7_000);
      let skipped = 0;
      for (const [m, split] of splits.entries()) {
        const o = await runMapTask({
          job: JOBS[job],
          m,
          ...split,
          reducers: 3,
          workDir: work,
          combine,
          maxRecord: 1 << 20,
          maxSkipped: 10,
        });
        skipped += o.skipped.length;
      }
      for (let r = 0; r < 3; r++) {
        await runReduceTask({ job: JOBS[job], r, maps: splits.length, workDir: work, outDir: out });
      }
      const local = await runLocal(JOBS[job], inputs.map((f) => f.path));
      assert.equal(skipped, 1);
      assert.equal(local.skipped, 1);
      assert.ok(local.output.length > 10);
      assert.deepEqual(await readOutput(out, 3), local.output);
    });
  }
}

Deno.test("too many poisoned records fail the map task", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bad.ndjson`;
  await Deno.writeTextFile(path, "not json\nnor this\n");
  await assert.rejects(
    runMapTask({
      job: JOBS.logstats,
      m: 0,
      file: path,
      start: 0,
      end: 18,
      reducers: 1,
      workDir: dir.path,
      combine: true,
      maxRecord: 100,
      maxSkipped: 1,
    }),
    TaskError,
  );
});

Deno.test("a missing map output fails the reduce task with a TaskError", async () => {
  await using dir = await tempDir();
  await assert.rejects(
    runReduceTask({ job: JOBS.wordcount, r: 0, maps: 1, workDir: dir.path, outDir: dir.path }),
    TaskError,
  );
});
