/**
 * Lab 10 benchmark: events scored per second through the whole pipeline (generator → REQ
 * detector → alerts → router → sink), with the detector's history on disk (WAL,
 * synchronous=FULL: what the compose run uses) beside the same run with `:memory:` (the
 * peer: what durability costs), all local processes.
 *
 *   deno run -A labs/10-soc/bench.ts [--background 3000]
 */
import { parseArgs } from "node:util";
import { spawnRole, tempDir } from "@lib/testing/mod.ts";
import { startSoc } from "./testing.ts";

const { values } = parseArgs({ args: Deno.args, options: { background: { type: "string" } } });
const background = Number(values.background ?? 3000);

async function eventsPerSecond(db: "file" | "memory"): Promise<number> {
  await using dir = await tempDir();
  await using soc = await startSoc(dir.path, {
    detectorDb: db === "memory" ? ":memory:" : undefined,
  });
  await soc.detector.event("intel_complete", undefined, { timeout: 30_000 });
  const started = performance.now();
  await using gen = await spawnRole("10", "event_generator", [
    "--detector",
    soc.detectorEndpoint,
    "--alerts",
    soc.alertsEndpoint,
    "--background",
    String(background),
  ]);
  const done = await gen.event("scenario_done", undefined, { timeout: 600_000 });
  // Process start-up is inside the window: subtract the generator's own start.
  const startedEvent = gen.events.find((e) => e.event === "started")!;
  const elapsed = (Date.parse(String(done.ts)) - Date.parse(String(startedEvent.ts))) / 1000;
  void started;
  return Number(done.events) / elapsed;
}

const file = await eventsPerSecond("file");
const memory = await eventsPerSecond("memory");
console.log(`lab10 bench: ${background + 31} events per run, one generator, REQ/REP in lock-step`);
console.log(`  detector history on disk (WAL, synchronous=FULL): ${file.toFixed(0)} events/s`);
console.log(`  detector history :memory: (peer, same run):        ${memory.toFixed(0)} events/s`);
console.log(`  ratio disk / memory: ${(file / memory).toFixed(2)}`);
