import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { BadMessageError } from "../codec/schema.ts";
import { createMemoryLogger } from "../role/logger.ts";
import {
  ParanoidPirateWorker,
  type ParanoidPirateWorkerOptions,
} from "./paranoid_pirate_worker.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const f = (s: string) => te.encode(s);
const text = (frames: Uint8Array[]) => frames.map((x) => td.decode(x));

function setup(options: Partial<ParanoidPirateWorkerOptions> = {}) {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const sent: string[][] = [];
  const calls: string[] = [];
  let full = false;
  const worker = new ParanoidPirateWorker({
    clock,
    log,
    send: (frames) => {
      if (full) throw new Error("EAGAIN");
      sent.push(text(frames));
    },
    connect: () => void calls.push(`connect@${clock.now()}`),
    disconnect: () => void calls.push(`disconnect@${clock.now()}`),
  }, { ready: "\x01", heartbeat: "\x02", heartbeatIntervalMs: 1000, liveness: 3, ...options });
  return { clock, log, sent, calls, worker, setFull: (v: boolean) => (full = v) };
}

/** Ticks every 100 ms up to `ms` (as a role's timer would). */
function run(t: ReturnType<typeof setup>, ms: number, hear?: (now: number) => boolean): void {
  const end = t.clock.now() + ms;
  while (t.clock.now() < end) {
    t.clock.set(t.clock.now() + 100);
    if (hear?.(t.clock.now())) t.worker.receive([f("\x02")]);
    t.worker.tick(t.clock.now());
  }
}

Deno.test("ParanoidPirateWorker: READY on start, heartbeats every interval, Guide framing", () => {
  const t = setup();
  t.worker.start();
  assert.deepEqual(t.calls, ["connect@0"]);
  assert.deepEqual(t.sent, [["\x01"]]);
  run(t, 2500, () => true); // the broker keeps beating
  assert.deepEqual(t.sent, [["\x01"], ["\x02"], ["\x02"]]);
  assert.equal(t.worker.state, "connected");
  assert.equal(t.worker.stats().heartbeatsSent, 2);
  assert.equal(t.log.events("ready").length, 1);
});

Deno.test("ParanoidPirateWorker: requests and replies keep the envelope; heartbeats are swallowed", () => {
  const t = setup({
    envelope: [""],
    ready: "READY",
    heartbeat: "HEARTBEAT",
    heartbeatOnConnect: true,
  });
  t.worker.start();
  assert.deepEqual(t.sent, [["", "READY"], ["", "HEARTBEAT"]]);
  assert.equal(t.worker.receive([f(""), f("HEARTBEAT")]), null);
  const request = t.worker.receive([f(""), f("job-1"), f(""), f("body")]);
  assert.deepEqual(text(request!), ["job-1", "", "body"]);
  assert.equal(t.worker.settled(), false);
  t.worker.reply([f("job-1"), f(""), f("verdict")]);
  assert.equal(t.worker.settled(), true);
  assert.deepEqual(t.sent.at(-1), ["", "job-1", "", "verdict"]);
  const stats = t.worker.stats();
  assert.equal(stats.requests, 1);
  assert.equal(stats.replies, 1);
  assert.equal(stats.heartbeatsReceived, 1);
});

Deno.test("ParanoidPirateWorker: onMessage hands requests to onRequest", () => {
  const got: string[][] = [];
  const t = setup({ onRequest: (r) => void got.push(text(r)) });
  t.worker.start();
  t.worker.onMessage([f("\x02")]);
  t.worker.onMessage([f("client"), f(""), f("hello")]);
  assert.deepEqual(got, [["client", "", "hello"]]);
});

Deno.test("ParanoidPirateWorker: malformed messages throw BadMessageError and are counted", () => {
  const t = setup({ envelope: [""] });
  t.worker.start();
  assert.throws(() => t.worker.receive([f("x"), f("y")]), BadMessageError);
  assert.throws(() => t.worker.receive([f(""), f("NOPE")]), BadMessageError);
  assert.throws(() => t.worker.receive([]), BadMessageError);
  // A 1,001-frame message: the reason lists a bounded number of sizes.
  const many = Array.from({ length: 1001 }, () => f("z"));
  try {
    t.worker.receive(many);
    assert.fail("expected a BadMessageError");
  } catch (error) {
    assert.ok(error instanceof BadMessageError);
    assert.ok(error.message.length < 200, error.message);
  }
  assert.equal(t.worker.stats().badMessages, 4);
});

Deno.test("ParanoidPirateWorker: a silent broker is declared dead after liveness intervals, then reconnect with capped doubling backoff", () => {
  const t = setup({ backoff: { initialMs: 1000, maxMs: 4000 } });
  t.worker.start();
  run(t, 2900); // silence < 3 s
  assert.equal(t.worker.state, "connected");
  run(t, 100); // 3 s of silence
  assert.equal(t.worker.state, "waiting");
  assert.deepEqual(t.calls, ["connect@0", "disconnect@3000"]);
  assert.deepEqual(t.log.events("broker_lost").map((e) => e.fields.retry_ms), [1000]);
  // Nothing is sent while disconnected.
  const sentBefore = t.sent.length;
  run(t, 900);
  assert.equal(t.sent.length, sentBefore);
  run(t, 100); // 1 s later: fresh socket, READY again
  assert.equal(t.worker.state, "connected");
  assert.deepEqual(t.calls.slice(2), ["connect@4000"]);
  assert.deepEqual(t.sent.at(-1), ["\x01"]);
  // Still silent: the delays double up to the cap.
  run(t, 30_000);
  const retries = t.log.events("broker_lost").map((e) => e.fields.retry_ms);
  assert.deepEqual(retries.slice(0, 5), [1000, 2000, 4000, 4000, 4000]);
  assert.equal(
    t.worker.stats().sessions,
    retries.length + (t.worker.state === "connected" ? 1 : 0),
  );
});

Deno.test("ParanoidPirateWorker: any message from the broker resets liveness and the backoff", () => {
  const t = setup();
  t.worker.start();
  run(t, 3000); // lost
  run(t, 1000); // reconnected (backoff 1000)
  run(t, 3000); // lost again: next backoff 2000
  assert.deepEqual(t.log.events("broker_lost").map((e) => e.fields.retry_ms), [1000, 2000]);
  run(t, 2000); // reconnected
  assert.equal(t.worker.state, "connected");
  // The broker answers now: 10 s without a loss.
  run(t, 10_000, (now) => now % 1000 === 0);
  assert.equal(t.worker.state, "connected");
  run(t, 3000); // silent again: the backoff starts over
  assert.deepEqual(t.log.events("broker_lost").map((e) => e.fields.retry_ms), [1000, 2000, 1000]);
});

Deno.test("ParanoidPirateWorker: a message left over from the dropped socket does not count", () => {
  const t = setup();
  t.worker.start();
  run(t, 3000);
  assert.equal(t.worker.state, "waiting");
  assert.equal(t.worker.receive([f("c"), f(""), f("late")]), null);
  assert.equal(t.worker.stats().requests, 0);
});

Deno.test("ParanoidPirateWorker: stop() ends reconnects, heartbeats go on while draining", () => {
  const t = setup();
  t.worker.start();
  t.worker.receive([f("c"), f(""), f("req")]);
  t.worker.stop();
  run(t, 2000, () => true);
  assert.equal(t.sent.filter((m) => m[0] === "\x02").length, 2);
  assert.equal(t.worker.settled(), false);
  t.worker.reply([f("c"), f(""), f("rep")]);
  assert.equal(t.worker.settled(), true);
  run(t, 3000); // the broker goes silent after the stop: no reconnect
  run(t, 60_000);
  assert.equal(t.calls.filter((c) => c.startsWith("connect")).length, 1);
});

Deno.test("ParanoidPirateWorker: a send refused by a full queue is counted, never thrown", () => {
  const t = setup();
  t.worker.start();
  t.setFull(true);
  run(t, 2000, () => true);
  assert.equal(t.worker.reply([f("c"), f(""), f("x")]), false);
  const stats = t.worker.stats();
  assert.equal(stats.sendDropped, 3);
  assert.equal(stats.heartbeatsSent, 0);
});

Deno.test("ParanoidPirateWorker: rejects bad options with expected vs got", () => {
  const port = {
    clock: new ManualClock(),
    log: createMemoryLogger(),
    send: () => {},
    connect: () => {},
    disconnect: () => {},
  };
  assert.throws(
    () =>
      new ParanoidPirateWorker(port, {
        ready: "R",
        heartbeat: "H",
        heartbeatIntervalMs: 0,
        liveness: 3,
      }),
    /expected heartbeatIntervalMs > 0, got 0/,
  );
  assert.throws(
    () =>
      new ParanoidPirateWorker(port, {
        ready: "R",
        heartbeat: "H",
        heartbeatIntervalMs: 10,
        liveness: 0,
      }),
    /expected liveness >= 1, got 0/,
  );
});

Deno.test("ParanoidPirateWorker: after this process stalled (a late tick), the broker gets one more interval", () => {
  const t = setup();
  t.worker.start();
  run(t, 500, () => true);
  // The worker was not running for 10 s: the broker's heartbeats are waiting unread.
  t.clock.set(10_500);
  t.worker.tick(t.clock.now());
  assert.equal(t.worker.state, "connected", "not lost by its own stall");
  t.worker.receive([f("\x02")]); // read right after
  run(t, 2900);
  assert.equal(t.worker.state, "connected");
  // A broker that is really gone is still declared dead, one interval after the stall.
  const u = setup();
  u.worker.start();
  run(u, 500);
  u.clock.set(10_500);
  u.worker.tick(u.clock.now());
  assert.equal(u.worker.state, "connected");
  run(u, 900);
  assert.equal(u.worker.state, "connected");
  run(u, 100);
  assert.equal(u.worker.state, "waiting");
});
