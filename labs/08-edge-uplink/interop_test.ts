/**
 * 6/PPP interop with the ZeroMQ Guide's Paranoid Pirate programs (pyzmq): `testdata/
 * ppworker.py` and `testdata/ppqueue.py` follow the Guide's `ppworker.py`/`ppqueue.py`
 * (Python 3, endpoints and interval as arguments, one printed line per event). Skipped
 * with a printed reason when python3-zmq is not installed.
 */
import assert from "node:assert/strict";
import { pythonWithZmq, spawnPython, tempDir, waitFor } from "@lib/testing/mod.ts";
import { freeEndpoint, startDevice, startReceiver, testdata } from "./testing.ts";

const PYTHON = await pythonWithZmq();
if (!PYTHON) {
  console.log(
    "skipping the Guide interop tests: python3-zmq is not installed (apt-get install -y python3-zmq)",
  );
}
const LONG = { timeout: 60_000 };
/** Heartbeats for the interop tests: liveness 1.5 s, so a stall under load is not a loss. */
const IHB = 500;
const IHB_ARGS = ["--heartbeat-interval", String(IHB)];

Deno.test({
  name:
    "interop: a Guide ppworker is kept alive by central_receiver's heartbeats and sends READY again after the receiver restarts",
  ignore: !PYTHON,
  async fn() {
    await using dir = await tempDir("lab08-");
    const db = `${dir.path}/central.db`;
    const bind = freeEndpoint();
    let receiver = await startReceiver(db, IHB_ARGS, { bind });
    try {
      await using worker = spawnPython(PYTHON!, testdata("ppworker.py"), [bind, String(IHB)]);
      await receiver.proc.event("device_ready", undefined, LONG);
      // Heartbeats both ways: the worker hears the receiver, the receiver keeps the worker.
      await worker.stdoutLine((l) => l === "I: queue heartbeat", LONG);
      // Three more beats arrive (more than liveness intervals pass) without a failure.
      const beats = () => worker.stdoutLines.filter((l) => l === "I: queue heartbeat").length;
      const beatsBefore = beats();
      await waitFor("3 more queue heartbeats", () => beats() >= beatsBefore + 3, {
        timeoutMs: 30_000,
      });
      assert.ok(
        !worker.stdoutLines.some((l) => l.startsWith("W: heartbeat failure")),
        worker.stdoutLines.join("\n"),
      );
      assert.equal(receiver.proc.eventCount("device_lost"), 0);
      assert.equal(receiver.proc.eventCount("bad_message"), 0);
      // Receiver gone: the worker notices after liveness intervals and reconnects with READY.
      await receiver.proc.kill();
      await worker.stdoutLine((l) => l.startsWith("W: heartbeat failure"), LONG);
      receiver = await startReceiver(db, IHB_ARGS, { bind });
      await receiver.proc.event("device_ready", undefined, LONG);
      assert.ok(worker.stdoutLines.filter((l) => l.startsWith("I: worker ready")).length >= 2);
      // Worker gone: the receiver expires it after liveness intervals.
      await worker.kill();
      await receiver.proc.event("device_lost", undefined, LONG);
      await receiver.proc.stop();
    } finally {
      await receiver[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "interop: field_device keeps a 6/PPP session with a Guide ppqueue (READY, heartbeats both ways); unacked readings stay queued",
  ignore: !PYTHON,
  async fn() {
    await using dir = await tempDir("lab08-");
    const backend = freeEndpoint();
    await using queue = spawnPython(PYTHON!, testdata("ppqueue.py"), [
      freeEndpoint(),
      backend,
      String(IHB),
    ]);
    await queue.stdoutLine((l) => l.startsWith("I: queue bound"), LONG);
    await using device = await startDevice("d1", [backend], `${dir.path}/dev`, [
      "--interval",
      "50",
      "--stats-interval",
      String(IHB * 4),
      ...IHB_ARGS,
    ]);
    await queue.stdoutLine((l) => l.startsWith("I: worker ready"), LONG);
    await device.event("receiver_up", undefined, LONG);
    // ppqueue routes a worker's multi-frame message to its frontend as a reply (dropped
    // there: no such client); it never acks, so nothing leaves the device's queue.
    await queue.stdoutLine((l) => l.startsWith("I: reply of 2 frame(s) routed to the frontend"));
    // Heartbeats keep it alive over more than liveness intervals, yet nothing is acked.
    const stats = await device.event(
      "device_stats",
      (e) => Number(e.heartbeatsReceived) >= 8,
      LONG,
    );
    assert.equal(device.eventCount("receiver_lost"), 0);
    assert.equal(stats.acked, 0);
    assert.ok(Number(stats.queued) > 0);
    assert.ok(!queue.stdoutLines.some((l) => l.startsWith("E:")), queue.stdoutLines.join("\n"));
    // The queue dies: the device declares it lost after liveness intervals.
    await queue.kill();
    await device.event("receiver_lost", undefined, LONG);
    await device.stop({ timeout: 20_000 });
  },
});
