/**
 * Lab 11 benchmark: failover time, from `kill -9` of the active broker to the client's
 * first successful reply from the backup (median of N runs, a fresh pair each run), next
 * to what it is made of, measured in the same run: the plain request round trip before the
 * kill, the heartbeat, and the client's own floor (`--timeout` + `--settle`: the client
 * must give up on the dead broker and wait for the passive's 2-heartbeat expiry before the
 * backup answers).
 *
 * Runs on loopback (frontends on `tcp://127.0.0.1:*`, the state channel over ipc in a temp
 * dir), so it needs no root.
 *
 * Run: `deno run -A labs/11-ha-broker/bench.ts [--runs 10] [--heartbeat 250] [--timeout 500] [--settle 600]`
 *
 * @module
 */
import { percentiles } from "@lib/async/mod.ts";
import { type RoleProcess, spawnRole, tempDir } from "@lib/testing/mod.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const RUNS = flag("runs", 10);
const HEARTBEAT = flag("heartbeat", 250);
const TIMEOUT = flag("timeout", 500);
const SETTLE = flag("settle", 600);

async function broker(half: "primary" | "backup", dir: string): Promise<RoleProcess> {
  const other = half === "primary" ? "backup" : "primary";
  const proc = await spawnRole("11", `ha_broker_${half}`, [
    "--frontend",
    "tcp://127.0.0.1:*",
    "--state-bind",
    `ipc://${dir}/${half}-state`,
    "--peer",
    `ipc://${dir}/${other}-state`,
    "--heartbeat",
    String(HEARTBEAT),
    "--stats-interval",
    "0",
  ]);
  await proc.event("listening", (e) => e.socket === "frontend", { timeout: 30_000 });
  return proc;
}

const frontendOf = (proc: RoleProcess) =>
  String(proc.events.find((e) => e.event === "listening" && e.socket === "frontend")!.endpoint);

/** One run: [failover ms, median RTT ms before the kill]. */
async function failoverOnce(): Promise<[number, number]> {
  await using dir = await tempDir();
  await using primary = await broker("primary", dir.path);
  await using backup = await broker("backup", dir.path);
  await primary.event("state_changed", (e) => e.to === "ACTIVE", { timeout: 30_000 });
  await backup.event("state_changed", (e) => e.to === "PASSIVE", { timeout: 30_000 });
  await using client = await spawnRole("11", "client_app", [
    "--server",
    `${frontendOf(primary)},${frontendOf(backup)}`,
    "--timeout",
    String(TIMEOUT),
    "--settle",
    String(SETTLE),
    "--interval",
    "20",
    "--max-failovers",
    "100",
  ]);
  await client.event("reply", (e) => e.seq === 20, { timeout: 30_000 });
  const rtts = client.events.filter((e) => e.event === "reply").map((e) => Number(e.rtt_ms));
  const killedAt = Date.now();
  await primary.kill();
  const first = await client.event(
    "reply",
    (e) => e.server === frontendOf(backup),
    { timeout: 60_000 },
  );
  return [Date.parse(first.ts) - killedAt, percentiles(rtts.slice(5), [0.5])[0]];
}

const failovers: number[] = [];
const rtts: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const [ms, rtt] = await failoverOnce();
  failovers.push(ms);
  rtts.push(rtt);
  console.log(`run ${i + 1}: failover ${ms} ms (RTT before the kill ${rtt} ms)`);
}
const [median, p90] = percentiles(failovers, [0.5, 0.9]);
const rtt = percentiles(rtts, [0.5])[0];
const floor = TIMEOUT + SETTLE;
console.log(
  `\nLab 11 failover (kill -9 of the active -> first reply from the backup), ${RUNS} runs, ` +
    `heartbeat ${HEARTBEAT} ms, client timeout ${TIMEOUT} ms + settle ${SETTLE} ms`,
);
console.log(`median ${median} ms, p90 ${p90} ms, min ${Math.min(...failovers)} ms`);
console.log(`vs plain request RTT (median ${rtt} ms): ${(median / rtt).toFixed(0)}x`);
console.log(`vs heartbeat: ${(median / HEARTBEAT).toFixed(1)} heartbeats`);
console.log(
  `vs the client's floor (timeout + settle = ${floor} ms): ${(median / floor).toFixed(2)}x`,
);
