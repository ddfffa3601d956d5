/**
 * Lab 21 benchmark, against a real lock_server process (SQLite, `--fsync on` and `off`):
 *
 * - uncontended: one session acquires and releases a free lock in a loop (pairs/s, and the
 *   acquire round trip);
 * - contended: 20 sessions (20 DEALERs) loop acquire-wait/release on the same lock (pairs/s,
 *   and the handover latency: from the holder's release being sent to the next holder's
 *   grant arriving, one process's clock);
 * - the peer, in the same run: a raw DEALER → ROUTER echo round trip over loopback TCP.
 *
 * Run: `deno run -A labs/21-lock-manager/bench.ts [--pairs 2000] [--seconds 4]`
 *
 * @module
 */
import { latencySummary } from "@lib/async/mod.ts";
import { tempDir } from "@lib/testing/mod.ts";
import { Dealer, Router, terminate } from "@lib/zmq/mod.ts";
import {
  decodeReply,
  encodeRequest,
  type LockReply,
  type LockRequest,
} from "./internal/protocol.ts";
import { startServer } from "./testing.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
const PAIRS = flag("pairs", 2000);
const SECONDS = flag("seconds", 4);
const CONTENDERS = 20;

/** One session on its own DEALER, one request in flight. */
class BenchSession {
  readonly dealer = new Dealer({ linger: 0 });
  readonly id: string;
  #req = 0;
  #waiting = new Map<number, (reply: LockReply) => void>();
  #loop: Promise<void>;

  constructor(endpoint: string, id: string) {
    this.id = id;
    this.dealer.connect(endpoint);
    this.#loop = (async () => {
      try {
        for await (const frames of this.dealer) {
          const reply = decodeReply(frames);
          if (reply.kind === "queued") continue;
          const done = reply.req === undefined ? undefined : this.#waiting.get(reply.req);
          if (done) {
            this.#waiting.delete(reply.req!);
            done(reply);
          }
        }
      } catch { /* closed */ }
    })();
  }

  call(request: Omit<LockRequest, "req" | "session"> & { kind: string }): Promise<LockReply> {
    const req = ++this.#req;
    return new Promise((resolve, reject) => {
      this.#waiting.set(req, resolve);
      this.dealer.send(encodeRequest({ ...request, req, session: this.id } as LockRequest)).catch(
        reject,
      );
    });
  }

  async close(): Promise<void> {
    this.dealer.close();
    await this.#loop;
  }
}

function must(reply: LockReply, kind: string): LockReply {
  if (reply.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(reply)}`);
  return reply;
}

async function rawRoundTrip(n: number): Promise<number[]> {
  const router = new Router();
  await router.bind("tcp://127.0.0.1:*");
  const dealer = new Dealer();
  dealer.connect(router.lastEndpoint!);
  const echo = (async () => {
    try {
      for await (const frames of router) await router.send(frames);
    } catch { /* closed */ }
  })();
  const body = encodeRequest({
    kind: "acquire",
    req: 1,
    session: "c-0123456789abcdef",
    lock: "counter",
    mode: "exclusive",
    wait_ms: 0,
  });
  const times: number[] = [];
  for (let i = 0; i < n + 100; i++) {
    const t0 = performance.now();
    await dealer.send(body);
    await dealer.receive();
    if (i >= 100) times.push(performance.now() - t0);
  }
  dealer.close();
  router.close();
  await echo;
  return times;
}

async function uncontended(endpoint: string) {
  const s = new BenchSession(endpoint, "c-uncontended");
  must(await s.call({ kind: "open" }), "opened");
  const acquire: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < PAIRS; i++) {
    const a = performance.now();
    const grant = must(
      await s.call({ kind: "acquire", lock: "free", mode: "exclusive", wait_ms: 0 } as never),
      "granted",
    ) as Extract<LockReply, { kind: "granted" }>;
    acquire.push(performance.now() - a);
    must(await s.call({ kind: "release", lock: "free", token: grant.token } as never), "released");
  }
  const seconds = (performance.now() - t0) / 1000;
  await s.call({ kind: "close" });
  await s.close();
  return { pairsPerSecond: PAIRS / seconds, acquire };
}

async function contended(endpoint: string) {
  const sessions = Array.from(
    { length: CONTENDERS },
    (_, i) => new BenchSession(endpoint, `c-contender-${i}`),
  );
  for (const s of sessions) must(await s.call({ kind: "open" }), "opened");
  const handovers: number[] = [];
  let lastReleaseSent = -1;
  let pairs = 0;
  const stopAt = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(sessions.map(async (s) => {
    while (performance.now() < stopAt) {
      const grant = must(
        await s.call({ kind: "acquire", lock: "hot", mode: "exclusive", wait_ms: 60_000 } as never),
        "granted",
      ) as Extract<LockReply, { kind: "granted" }>;
      if (lastReleaseSent >= 0) handovers.push(performance.now() - lastReleaseSent);
      lastReleaseSent = performance.now();
      const released = s.call({ kind: "release", lock: "hot", token: grant.token } as never);
      must(await released, "released");
      pairs++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const s of sessions) await s.close();
  return { pairsPerSecond: pairs / seconds, handovers };
}

const fmt = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

const raw = latencySummary(await rawRoundTrip(PAIRS));
console.log(
  `raw DEALER→ROUTER echo round trip: p50 ${fmt(raw.p50)}, p99 ${fmt(raw.p99)} (${PAIRS} trips)`,
);
for (const fsync of ["on", "off"] as const) {
  await using dir = await tempDir();
  await using server = await startServer(`${dir.path}/locks.db`, [
    "--fsync",
    fsync,
    "--ttl",
    "30s",
    "--log-level",
    "info",
    "--stats-interval",
    "0",
  ]);
  const u = await uncontended(server.endpoint);
  const c = await contended(server.endpoint);
  const acq = latencySummary(u.acquire);
  const hand = latencySummary(c.handovers);
  console.log(`\nlock_server --fsync ${fsync}:`);
  console.log(
    `  uncontended: ${u.pairsPerSecond.toFixed(0)} acquire/release pairs/s; acquire p50 ${
      fmt(acq.p50)
    } = ${(acq.p50 / raw.p50).toFixed(1)}× the raw round trip`,
  );
  console.log(
    `  ${CONTENDERS} contenders: ${c.pairsPerSecond.toFixed(0)} pairs/s = ${
      (c.pairsPerSecond / u.pairsPerSecond).toFixed(2)
    }× uncontended`,
  );
  console.log(
    `  handover (release sent → next grant received): p50 ${fmt(hand.p50)}, p99 ${
      fmt(hand.p99)
    } = ${(hand.p50 / raw.p50).toFixed(1)}× the raw round trip, ${
      (hand.p50 / acq.p50).toFixed(2)
    }× an uncontended acquire`,
  );
  await server.proc.stop({ timeout: 30_000 });
}
await terminate();
