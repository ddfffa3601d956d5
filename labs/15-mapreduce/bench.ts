/**
 * Lab 15 benchmark: word count throughput (MB/s of input) of the real cluster — mr_master,
 * 1, 2 and 4 map_worker processes and 2 reduce_workers over ipc, shuffle through files —
 * beside the single-process computation of the same job over the same corpus, measured in
 * the same run. The cluster's time is the master's `job_done.ms` (from the job's start to
 * `_SUCCESS` committed, workers already connected).
 *
 * Run: `deno run -A labs/15-mapreduce/bench.ts [megabytes]` (default 8).
 *
 * @module
 */

import { spawnRole, tempDir } from "@lib/testing/mod.ts";
import { generateCorpus } from "./internal/corpus.ts";
import { JOBS, runLocal } from "./internal/jobs.ts";

const megabytes = Number(Deno.args[0] ?? 8);
await using dir = await tempDir();
const input = `${dir.path}/input`;
const files = await generateCorpus(input, { job: "wordcount", bytes: megabytes * 1e6, files: 8 });
let bytes = 0;
for (const f of files) bytes += (await Deno.stat(f)).size;
const mb = bytes / 1e6;

const began = performance.now();
const local = await runLocal(JOBS.wordcount, files);
const localMbps = mb / ((performance.now() - began) / 1000);
console.log(
  `single process: ${localMbps.toFixed(2)} MB/s (${mb.toFixed(1)} MB, ${local.output.length} keys)`,
);

for (const mappers of [1, 2, 4]) {
  const run = `${dir.path}/run-${mappers}`;
  const endpoint = `ipc://${run}.sock`;
  const workers = [];
  for (let i = 0; i < mappers; i++) {
    workers.push(await spawnRole("15", "map_worker", ["--master", endpoint]));
  }
  for (let i = 0; i < 2; i++) {
    workers.push(await spawnRole("15", "reduce_worker", ["--master", endpoint]));
  }
  await using master = await spawnRole("15", "mr_master", [
    "--bind",
    endpoint,
    "--input",
    input,
    "--work-dir",
    `${run}/work`,
    "--out-dir",
    `${run}/out`,
    "--split-size",
    "512KiB",
    "--reducers",
    "4",
    "--refresh",
    "0",
    "--top",
    "0",
  ]);
  const done = await master.event("job_done", undefined, { timeout: 600_000 });
  await master.wait();
  const seconds = Number(done.ms) / 1000;
  const mbps = mb / seconds;
  console.log(
    `cluster, ${mappers} map worker(s): ${mbps.toFixed(2)} MB/s (${
      seconds.toFixed(2)
    } s, ${done.maps} maps); ratio to single process ${(mbps / localMbps).toFixed(2)}`,
  );
  for (const w of workers) {
    await w.stop();
    await w[Symbol.asyncDispose]();
  }
}
console.log(`cores: ${navigator.hardwareConcurrency}; load average: ${Deno.loadavg().join(" ")}`);
