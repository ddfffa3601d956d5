/**
 * mr_master: the Ventilator and the Sink of a MapReduce job. Cuts the input files into
 * splits, scatters map tasks to map workers and, once every map task is done, R reduce
 * tasks to reduce workers (ROUTER; workers connect DEALERs); re-executes the tasks of
 * workers that go silent, launches backup attempts for stragglers near the end of a
 * phase, enforces the job deadline, shows progress live, and gathers the results:
 * `_SUCCESS` is committed last, after every part file.
 *
 * @module
 */

import { fromHex, systemClock, toHex } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  byteSize,
  ConfigError,
  duration,
  endpoint,
  int,
  oneOf,
  repeatable,
  runRole,
  terminalFrame,
  writableDir,
} from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { commitFile, removeTemporaries } from "../internal/commit.ts";
import { generateCorpus, listInputs } from "../internal/corpus.ts";
import { readOutput, renderProgress, SUCCESS, topKeys } from "../internal/gather.ts";
import { JOB_NAMES, type JobName, type Skipped } from "../internal/jobs.ts";
import { partName } from "../internal/partition.ts";
import {
  decodeFromWorker,
  encodeMessage,
  heartbeatWord,
  type ReduceDone,
  type Task,
} from "../internal/protocol.ts";
import { type Assignment, Scheduler } from "../internal/scheduler.ts";
import { computeSplits, type Split } from "../internal/splits.ts";

interface Options {
  bind: string;
  job: JobName;
  input: string[];
  generate: number;
  seed: number;
  poison: boolean;
  workDir: string;
  outDir: string;
  reducers: number;
  splitSize: number;
  combiner: boolean;
  heartbeatInterval: number;
  liveness: number;
  backupAfter: number;
  maxAttempts: number;
  deadline: number;
  maxRecord: number;
  maxSkipped: number;
  refresh: number;
  json: boolean;
  top: number;
  stay: boolean;
}

const MAX_SKIPPED_KEPT = 1000;

await runRole<Options>({
  name: "mr_master",
  summary: "Master: splits input, scatters map/reduce tasks, re-executes, gathers results",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint the workers connect to",
        endpoint,
        "tcp://127.0.0.1:5595",
      )
      .option(
        "--job <name>",
        `job to run: ${JOB_NAMES.join(", ")}`,
        oneOf(...JOB_NAMES),
        "wordcount",
      )
      .option(
        "--input <path>",
        "input file or directory (repeatable or comma-separated)",
        repeatable(undefined, { defaultText: "none" }),
      )
      .option(
        "--generate <bytes>",
        "write a generated corpus of this size into the (first) --input dir if it has no files",
        byteSize,
        0,
      )
      .option("--seed <n>", "seed of the generated corpus", int({ min: 0 }), 15)
      .option("--poison", "add one poisoned record to the generated corpus", false)
      .requiredOption("--work-dir <dir>", "shared directory of the intermediate files", writableDir)
      .requiredOption("--out-dir <dir>", "output directory (part files and _SUCCESS)", writableDir)
      .option("--reducers <n>", "number of reduce tasks (R)", int({ min: 1, max: 1000 }), 4)
      .option("--split-size <bytes>", "input split size", byteSize, 256 * 1024)
      .option("--no-combiner", "do not run the combiner on map outputs")
      .option("--heartbeat-interval <ms>", "heartbeat interval", int({ min: 10 }), 1000)
      .option(
        "--liveness <n>",
        "silent heartbeat intervals before a worker is dead",
        int({ min: 1 }),
        5,
      )
      .option(
        "--backup-after <duration>",
        "an attempt running this long gets a backup once its phase has no idle task",
        duration,
        3000,
      )
      .option(
        "--max-attempts <n>",
        "attempts per task before the job fails",
        int({ min: 1, max: 100 }),
        4,
      )
      .option("--deadline <duration>", "job deadline (0: none)", duration, 600_000)
      .option("--max-record <bytes>", "longest record; longer ones are skipped", byteSize, 1 << 20)
      .option(
        "--max-skipped <n>",
        "poisoned records per map task before it fails",
        int({ min: 0, max: 10_000 }), // a map_done carries at most 10,000
        1000,
      )
      .option("--refresh <ms>", "live view refresh (0: off)", int({ min: 0 }), 1000)
      .option("--json", "print progress and the result as JSON lines", false)
      .option("--top <n>", "print the top N keys of the result", int({ min: 0 }), 10)
      .option("--stay", "keep running after the job ends (the demo)", false),
  validate(options) {
    if (!options.input || options.input.length === 0) {
      throw new ConfigError("expected at least one --input path, got none");
    }
    if (options.splitSize < 1) throw new ConfigError("expected --split-size >= 1 byte, got 0");
    if (options.maxRecord < 1) {
      throw new ConfigError("expected --max-record >= 1 byte (0 would skip every record), got 0");
    }
    if (options.generate === 0) {
      for (const path of options.input) {
        try {
          Deno.statSync(path);
        } catch {
          throw new ConfigError(`expected --input to exist, got ${JSON.stringify(path)}`);
        }
      }
    }
  },
  async run(options, ctx) {
    // --- Prepare: corpus, splits, clean output of an earlier run. ---
    if (options.generate > 0) {
      const dir = options.input[0];
      let has = false;
      try {
        for await (const e of Deno.readDir(dir)) if (e.isFile) has = true;
      } catch { /* missing: generate */ }
      if (!has) {
        const files = await generateCorpus(dir, {
          job: options.job,
          bytes: options.generate,
          seed: options.seed,
          poison: options.poison,
        });
        ctx.log.info("corpus_generated", { dir, files: files.length, bytes: options.generate });
      }
    }
    const inputs = await listInputs(options.input);
    const splits: Split[] = computeSplits(inputs, options.splitSize);
    const inputBytes = inputs.reduce((n, f) => n + f.size, 0);
    await Deno.mkdir(options.workDir, { recursive: true });
    await Deno.mkdir(options.outDir, { recursive: true });
    await Deno.remove(`${options.outDir}/${SUCCESS}`).catch(() => {});
    const leftovers = (await removeTemporaries(options.workDir)) +
      (await removeTemporaries(options.outDir)) +
      (await removeStaleParts(options.outDir, options.reducers));
    const jobId = toHex(crypto.getRandomValues(new Uint8Array(8)));
    ctx.log.info("job_started", {
      job: options.job,
      job_id: jobId,
      files: inputs.length,
      bytes: inputBytes,
      maps: splits.length,
      reducers: options.reducers,
      combiner: options.combiner,
      removed_leftovers: leftovers,
    });

    // --- Wire: ROUTER, scheduler. ---
    // A map_done carries at most 10,000 skipped records: far below 32 MiB. A bigger message
    // is garbage; libzmq drops its sender before it is buffered whole.
    const router = new Router({
      routerMandatory: true,
      linger: 1000,
      maxMessageSize: 32 * 1024 * 1024,
    });
    ctx.defer(() => router.close());
    await router.bind(options.bind);
    ctx.listening(router);
    const scheduler = new Scheduler({
      clock: systemClock,
      log: ctx.log,
      maps: splits.length,
      reducers: options.reducers,
      heartbeatIntervalMs: options.heartbeatInterval,
      liveness: options.liveness,
      backupAfterMs: options.backupAfter,
      maxAttempts: options.maxAttempts,
      deadlineMs: options.deadline,
    });
    let sendFailed = 0;
    const send = (worker: string, frames: Uint8Array[]) => {
      router.send([fromHex(worker), ...frames]).catch((error) => {
        sendFailed++;
        ctx.log.limited("warn", "send_failed", {
          worker,
          error: String(error),
          failed: sendFailed,
        });
      });
    };
    const taskFor = (a: Assignment): Task =>
      a.phase === "map"
        ? {
          kind: "map",
          job_id: jobId,
          job: options.job,
          task: a.task,
          attempt: a.attempt,
          file: splits[a.task].file,
          start: splits[a.task].start,
          end: splits[a.task].end,
          reducers: options.reducers,
          work_dir: options.workDir,
          combine: options.combiner,
          max_record: options.maxRecord,
          max_skipped: options.maxSkipped,
        }
        : {
          kind: "reduce",
          job_id: jobId,
          job: options.job,
          task: a.task,
          attempt: a.attempt,
          maps: splits.length,
          work_dir: options.workDir,
          out_dir: options.outDir,
        };
    const dispatch = () => {
      for (const a of scheduler.dispatch()) {
        ctx.log.info("task_assigned", { ...a });
        send(a.worker, encodeMessage(taskFor(a)));
      }
    };

    // --- Gather: counters from accepted results. ---
    let records = 0;
    let skippedCount = 0;
    const skipped: Skipped[] = [];
    const parts = new Map<number, ReduceDone>();

    let ended: () => void = () => {};
    const jobEnded = new Promise<void>((resolve) => (ended = resolve));
    const checkEnd = () => {
      if (scheduler.state === "done" || scheduler.state === "failed") ended();
    };

    const serving = ctx.serve(router, (frames) => {
      if (frames.length < 2) {
        throw new BadMessageError(
          `expected a routing id and a message, got ${frames.length} frame(s)`,
        );
      }
      const worker = toHex(frames[0]);
      const message = decodeFromWorker(frames.slice(1));
      if ("job_id" in message && message.job_id !== jobId) {
        // A task of an earlier run of the master: its worker was busy when this run started.
        scheduler.heard(worker);
        ctx.log.limited("info", "stale_result", {
          worker,
          job_id: message.job_id,
          task: message.task,
        }, "stale_job");
        return;
      }
      switch (message.kind) {
        case "ready":
        case "heartbeat":
          scheduler.workerSeen(worker, message.type, message.kind);
          break;
        case "map_done": {
          scheduler.heard(worker);
          if (scheduler.completed(worker, "map", message.task, message.attempt) === "accepted") {
            records += message.records;
            for (const s of message.skipped) {
              skippedCount++;
              if (skipped.length < MAX_SKIPPED_KEPT) skipped.push(s);
              ctx.log.limited(
                "warn",
                "record_skipped",
                { ...s, task: message.task },
                "record_skipped",
              );
            }
          }
          break;
        }
        case "reduce_done":
          scheduler.heard(worker);
          if (scheduler.completed(worker, "reduce", message.task, message.attempt) === "accepted") {
            parts.set(message.task, message);
          }
          break;
        case "task_failed":
          scheduler.heard(worker);
          scheduler.failed(worker, message.phase, message.task, message.attempt, message.error);
          break;
      }
      dispatch();
      checkEnd();
    }, { name: "workers" });

    // --- Time: heartbeats, expiry, deadline, backups, the live view. ---
    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    const refresh = () => {
      const p = scheduler.progress();
      if (options.json) {
        ctx.print(JSON.stringify({ type: "progress", ...p, skipped: skippedCount }));
        return;
      }
      const frame = terminalFrame(renderProgress(options.job, p, skippedCount), {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
        rows: tty ? Deno.consoleSize?.().rows : undefined,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    };
    ctx.every(Math.max(10, Math.min(100, Math.floor(options.heartbeatInterval / 4))), () => {
      const now = systemClock.now();
      scheduler.tick(now);
      for (const { worker, type } of scheduler.heartbeatDue(now)) {
        send(worker, [heartbeatWord(type)]);
      }
      dispatch();
      checkEnd();
    });
    let lastProgress = "";
    ctx.every(options.refresh, () => {
      const p = scheduler.progress();
      const key = `${p.phase} ${p.map.done} ${p.reduce.done} ${p.map.running} ${p.reduce.running}`;
      if (tty || key !== lastProgress) refresh();
      lastProgress = key;
      ctx.log.debug("progress", { ...p });
    });
    dispatch();

    await Promise.race([jobEnded, ctx.stopped]);
    if (ctx.signal.aborted && scheduler.state !== "done") {
      ctx.log.info("job_interrupted", { phase: scheduler.state });
      return;
    }
    const p = scheduler.progress();
    if (scheduler.state === "failed") {
      ctx.log.error("job_failed", { reason: scheduler.failure, ...p });
      refresh();
      ctx.exitCode = 1;
    } else {
      const summary = {
        job: options.job,
        combiner: options.combiner,
        inputs: inputs.map((f) => ({ file: f.path, bytes: f.size })),
        splits: splits.length,
        split_size: options.splitSize,
        reducers: options.reducers,
        records,
        skipped_records: skippedCount,
        skipped,
        parts: [...parts.values()].sort((a, b) => a.task - b.task).map((d) => ({
          name: partName(d.task),
          keys: d.keys,
          bytes: d.bytes,
          sha256: d.sha256,
        })),
      };
      // Committed last: a reader trusts only an output directory that has it.
      await commitFile(
        `${options.outDir}/${SUCCESS}`,
        new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"),
      );
      const seconds = p.elapsedMs / 1000;
      ctx.log.info("job_done", {
        job: options.job,
        ms: Math.round(p.elapsedMs),
        bytes: inputBytes,
        mb_per_s: Math.round((inputBytes / 1e6 / Math.max(seconds, 1e-3)) * 100) / 100,
        records,
        skipped_records: skippedCount,
        keys: summary.parts.reduce((n, x) => n + x.keys, 0),
        maps: splits.length,
        reducers: options.reducers,
        backups: p.backups,
        backup_wins: p.backupWins,
        requeued: p.requeued,
        workers_lost: p.workersLost,
        duplicates: p.duplicates,
      });
      refresh();
      if (options.top > 0) {
        const top = topKeys(await readOutput(options.outDir, options.reducers), options.top);
        if (options.json) ctx.print(JSON.stringify({ type: "top", top }));
        else {
          ctx.print(`top ${top.length} keys of ${options.job} (${options.outDir}):`);
          for (const [k, v] of top) ctx.print(`  ${JSON.stringify(v).padStart(8)}  ${k}`);
        }
      }
    }
    if (options.stay) await ctx.stopped;
    router.close();
    await serving;
  },
});

/** Removes part files of an earlier run with more reducers (index >= reducers). */
async function removeStaleParts(dir: string, reducers: number): Promise<number> {
  let removed = 0;
  for await (const entry of Deno.readDir(dir)) {
    const m = /^part-r-(\d+)$/.exec(entry.name);
    if (m && Number(m[1]) >= reducers) {
      await Deno.remove(`${dir}/${entry.name}`);
      removed++;
    }
  }
  return removed;
}
