/**
 * Lab 13 benchmark: Titanic over Lab 12's Majordomo broker.
 *
 * - accepted requests/s (titanic.request answered 200, i.e. committed) with storage_service
 *   `--fsync on` (synchronous=FULL) and `--fsync off`, the target service offline so only
 *   the store is measured;
 * - end-to-end completed/s: N requests stored, dispatched to 2 echo_workers, replies
 *   collected (10,000 by default: the "10,000 requests end to end");
 * - beside them, in the same run, plain request/s through the same broker to the same echo
 *   workers with Lab 12's client_requester (async, the same window): the ratio is the price
 *   of persistence.
 *
 * Run: `deno run -A labs/13-titanic/bench.ts [--accept 5000] [--e2e 10000] [--window 8]`
 *
 * @module
 */
import { runOnce, tempDir } from "@lib/testing/mod.ts";
import { runPatient, startEcho, startMajordomo, startStorage, startTitanic } from "./testing.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const ACCEPT = flag("accept", 5000);
const E2E = flag("e2e", 10_000);
const WINDOW = flag("window", 8);

function event(
  result: { code: number; stderr: string; events: { event: string }[] },
  name: string,
) {
  const found = result.events.find((e) => e.event === name) as Record<string, unknown> | undefined;
  if (result.code !== 0 || !found) {
    throw new Error(`client failed (${result.code}): ${result.stderr}`);
  }
  return found;
}

async function accepted(fsync: "on" | "off"): Promise<number> {
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using storage = await startStorage(`${dir.path}/t.db`, "tcp://127.0.0.1:*", [
    "--fsync",
    fsync,
  ]);
  // Target offline and retries far away: only titanic.request and the store are measured.
  await using _titanic = await startTitanic(broker, storage.endpoint, [
    "--retry-initial",
    "600000",
  ], 4);
  const result = await runPatient(broker.endpoint, [
    "--service",
    "offline",
    "--requests",
    String(ACCEPT),
    "--concurrency",
    String(WINDOW),
    "--no-wait",
  ], 600_000);
  return Number(event(result, "requests_stored").rps);
}

async function endToEnd(): Promise<{ titanic: number; plain: number }> {
  await using dir = await tempDir();
  await using broker = await startMajordomo();
  await using storage = await startStorage(`${dir.path}/t.db`);
  await using _titanic = await startTitanic(broker, storage.endpoint, [], 4);
  await using _echo1 = await startEcho(broker);
  await using _echo2 = await startEcho(broker);
  const plainRun = await runOnce("12", "client_requester", [
    "--broker",
    broker.endpoint,
    "--json",
    "--quiet",
    "--mode",
    "async",
    "--window",
    String(WINDOW),
    "--requests",
    String(E2E),
  ], { timeout: 600_000 });
  const plain = Number(event(plainRun, "summary").rps);
  const result = await runPatient(broker.endpoint, [
    "--requests",
    String(E2E),
    "--concurrency",
    String(WINDOW),
  ], 1_200_000);
  const summary = event(result, "summary");
  if (Number(summary.replies) !== E2E) {
    throw new Error(`expected ${E2E} replies, got ${summary.replies}`);
  }
  return { titanic: Number(summary.completed_per_s), plain };
}

const fsyncOn = await accepted("on");
const fsyncOff = await accepted("off");
const e2e = await endToEnd();

console.log(
  `Lab 13 Titanic (accepted: ${ACCEPT} requests, ${WINDOW} at once; end to end: ${E2E} requests)`,
);
console.log(`accepted requests/s, fsync on (synchronous=FULL)   ${fsyncOn.toFixed(0).padStart(8)}`);
console.log(
  `accepted requests/s, fsync off                     ${fsyncOff.toFixed(0).padStart(8)}`,
);
console.log(
  `end-to-end completed/s through Titanic             ${e2e.titanic.toFixed(0).padStart(8)}`,
);
console.log(
  `plain MDP request/s, same broker (Lab 12 client)   ${e2e.plain.toFixed(0).padStart(8)}`,
);
console.log(
  `Titanic end to end vs plain MDP                    ${
    (e2e.titanic / e2e.plain * 100).toFixed(1).padStart(7)
  }%`,
);
