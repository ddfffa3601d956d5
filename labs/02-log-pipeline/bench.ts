/**
 * Lab 02 benchmark: lines per second end to end (log_collector --generate → N × log_parser
 * → storage_writer, real processes, until the collector has every batch acknowledged)
 * with 1 and 2 parsers, beside one process doing the same parse + anonymise work alone
 * on the same generated lines. Prints the pipeline's overhead ratio, and the
 * anonymiser's time per byte on ordinary lines and on pathological 16 KB lines (runs of
 * colons, dots, hex, `@`, long tokens: issue 9 #1), which must stay of the same order.
 *
 * Run: `deno run -A labs/02-log-pipeline/bench.ts [--lines N]` (default 200000).
 *
 * @module
 */
import { spawnRole, tempDir } from "@lib/testing/mod.ts";
import { Anonymiser } from "./internal/anonymiser.ts";
import { LogGenerator } from "./internal/generator.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { processBatch } from "./internal/line_parser.ts";
import { PATHOLOGICAL_LINES } from "./testing.ts";

const SECRET = "benchmark-secret-0123456789abcdef";
const SEED = 11;
const BATCH = 500;
const argIndex = Deno.args.indexOf("--lines");
const LINES = argIndex >= 0 ? Number(Deno.args[argIndex + 1]) : 200_000;
if (!Number.isInteger(LINES) || LINES < BATCH) {
  console.error(`bench: --lines: expected an integer >= ${BATCH}, got ${Deno.args[argIndex + 1]}`);
  Deno.exit(2);
}

/** One process: generate, parse + anonymise in batches, serialise to NDJSON. */
function baseline(): number {
  const gen = new LogGenerator({ random: seededRandom(SEED), malformedRatio: 0.02 });
  const lines = Array.from({ length: LINES }, () => gen.next());
  const anon = new Anonymiser(SECRET);
  // Warm-up (the JIT), as the parsers get during their first batches.
  for (let seq = 0; seq < 20; seq++) {
    processBatch(lines.slice(seq * BATCH, (seq + 1) * BATCH), { anon, run: "warmup", seq });
  }
  const started = performance.now();
  let out = 0;
  for (let seq = 0; seq * BATCH < lines.length; seq++) {
    const r = processBatch(lines.slice(seq * BATCH, (seq + 1) * BATCH), {
      anon,
      run: "bench",
      seq,
    });
    out += r.count + r.dead.length;
  }
  const ms = performance.now() - started;
  if (out !== LINES) throw new Error(`baseline: expected ${LINES} lines out, got ${out}`);
  return LINES / (ms / 1000);
}

async function pipeline(parsers: number): Promise<number> {
  await using dir = await tempDir();
  await using sink = await spawnRole("02", "storage_writer", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--ack-bind",
    "tcp://127.0.0.1:*",
    "--out-dir",
    dir.path,
  ]);
  const data = String((await sink.event("listening", (e) => e.channel === "data")).endpoint);
  const acks = String((await sink.event("listening", (e) => e.channel === "acks")).endpoint);
  // The parsers start first and connect to the collector's (not yet bound) ipc endpoint,
  // so the clock (collector listening → every batch acknowledged) excludes their startup.
  const collectorEndpoint = `ipc://${dir.path}/collector.sock`;
  const workers = [];
  try {
    for (let i = 0; i < parsers; i++) {
      const w = await spawnRole("02", "log_parser", [
        "--collector",
        collectorEndpoint,
        "--sink",
        data,
      ], {
        env: { LOG_PARSER_SECRET: SECRET },
      });
      workers.push(w);
      await w.event("connected");
    }
    await using collector = await spawnRole("02", "log_collector", [
      "--bind",
      collectorEndpoint,
      "--acks",
      acks,
      "--generate",
      String(LINES),
      "--seed",
      String(SEED),
      "--batch-size",
      String(BATCH),
      "--window",
      "32",
    ]);
    const startTs = Date.parse(String((await collector.event("listening")).ts));
    const drained = await collector.event("drained", undefined, { timeout: 600_000 });
    const seconds = (Date.parse(String(drained.ts)) - startTs) / 1000;
    const lines = Number(drained.acked_lines);
    if (lines !== LINES) throw new Error(`pipeline: expected ${LINES} acked lines, got ${lines}`);
    await collector.wait();
    return lines / seconds;
  } finally {
    for (const w of workers) await w[Symbol.asyncDispose]();
  }
}

/** Scrub time per byte (ns) of `lines`, after a warm-up. */
function scrubNsPerByte(lines: string[]): number {
  const anon = new Anonymiser(SECRET);
  for (const l of lines) anon.text(l);
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  const started = performance.now();
  for (let round = 0; round < 5; round++) for (const l of lines) anon.text(l);
  return ((performance.now() - started) * 1e6) / (5 * bytes);
}

const ordinary = (() => {
  const gen = new LogGenerator({ random: seededRandom(SEED), malformedRatio: 0 });
  return Array.from({ length: 5000 }, () => gen.next());
})();
console.log("lab 02 anonymiser, time per byte (ns/B)");
console.log(`  generated lines (mixed)        : ${scrubNsPerByte(ordinary).toFixed(1)}`);
for (const [name, line] of PATHOLOGICAL_LINES) {
  console.log(`  ${name.padEnd(31)}: ${scrubNsPerByte([line]).toFixed(1)}`);
}

const alone = baseline();
const one = await pipeline(1);
const two = await pipeline(2);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`lab 02 log pipeline, ${fmt(LINES)} generated lines, batches of ${BATCH}`);
console.log(`  single process parse+anonymise : ${fmt(alone)} lines/s`);
console.log(
  `  pipeline, 1 parser             : ${fmt(one)} lines/s  (overhead ratio ${
    (alone / one).toFixed(2)
  }x)`,
);
console.log(
  `  pipeline, 2 parsers            : ${fmt(two)} lines/s  (overhead ratio ${
    (alone / two).toFixed(2)
  }x)`,
);
