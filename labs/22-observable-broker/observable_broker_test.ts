/**
 * Process tests of Lab 22: the real roles on ephemeral loopback ports.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnRole, waitFor } from "@lib/testing/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import {
  controlCommand,
  metric,
  scrape,
  startBroker,
  statistics,
  wrongMechanism,
} from "./testing.ts";

const te = new TextEncoder();
const bytes = (frames: Uint8Array[]) => frames.reduce((n, f) => n + f.length, 0);

/** Multipart messages with empty frames, binary and a large frame. */
function requests(): Uint8Array[][] {
  const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  return [
    [new Uint8Array(0), te.encode("hello")],
    [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)],
    [te.encode("no-delimiter"), new Uint8Array([0, 255, 1, 254]), new Uint8Array(0)],
    [new Uint8Array(0), big, te.encode("tail")],
  ];
}

Deno.test("transparency: every frame arrives unmodified both ways; counters equal what was sent", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  await using client = new Dealer({ routingId: "t-client", linger: 0 });
  await using worker = new Dealer({ linger: 0 });
  client.connect(broker.frontend);
  worker.connect(broker.backend);
  const sent = requests();
  let f2bBytes = 0;
  let f2bFrames = 0;
  let b2fBytes = 0;
  let b2fFrames = 0;
  const identity = te.encode("t-client");
  for (const message of sent) {
    await client.send(message);
    const got = await worker.receive();
    assert.deepEqual(got, [identity, ...message]); // ROUTER adds only the identity
    f2bBytes += bytes(got);
    f2bFrames += got.length;
    const reply = [identity, new Uint8Array(0), ...message.slice().reverse(), new Uint8Array(0)];
    await worker.send(reply);
    const back = await client.receive();
    assert.deepEqual(back, reply.slice(1)); // ROUTER strips only the identity
    b2fBytes += bytes(reply);
    b2fFrames += reply.length;
  }
  // STATISTICS: the 8 counters of zmq_proxy_steerable (parts counted as libzmq does).
  assert.deepEqual(await statistics(broker.control), {
    frontendReceivedMessages: f2bFrames,
    frontendReceivedBytes: f2bBytes,
    frontendSentMessages: b2fFrames,
    frontendSentBytes: b2fBytes,
    backendReceivedMessages: b2fFrames,
    backendReceivedBytes: b2fBytes,
    backendSentMessages: f2bFrames,
    backendSentBytes: f2bBytes,
  });
  const m = await scrape(broker.metrics);
  assert.equal(metric(m, "broker_forwarded_messages_total", { direction: "f2b" }), sent.length);
  assert.equal(metric(m, "broker_forwarded_messages_total", { direction: "b2f" }), sent.length);
  assert.equal(metric(m, "broker_forwarded_frames_total", { direction: "f2b" }), f2bFrames);
  assert.equal(metric(m, "broker_forwarded_bytes_total", { direction: "b2f" }), b2fBytes);
  assert.equal(metric(m, "broker_peer_messages_total", { peer: "t-client", direction: "f2b" }), 4);
  assert.equal(metric(m, "broker_round_trip_seconds_count"), 4);
  assert.equal(metric(m, "broker_dwell_seconds_count", { direction: "f2b" }), 4);
  await broker.proc.stop();
});

Deno.test("metrics: /metrics parses as Prometheus text with the documented families", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  await using w = await spawnRole("22", "client_app", ["worker", "--connect", broker.backend]);
  await w.event("worker_ready");
  const client = await spawnRole("22", "client_app", [
    "client",
    "--connect",
    broker.frontend,
    "--clients",
    "3",
    "--count",
    "50",
    "--window",
    "5",
    "--json",
  ]);
  await using __ = client;
  assert.equal((await client.wait()).code, 0);
  const summary = JSON.parse(client.stdoutLines.at(-1)!);
  assert.equal(summary.replied, 150);
  const m = await scrape(broker.metrics);
  const types = new Map(m.map((f) => [f.name, f.type]));
  for (
    const [name, type] of [
      ["broker_received_messages_total", "counter"],
      ["broker_forwarded_messages_total", "counter"],
      ["broker_forwarded_frames_total", "counter"],
      ["broker_forwarded_bytes_total", "counter"],
      ["broker_dropped_messages_total", "counter"],
      ["broker_dwell_seconds", "histogram"],
      ["broker_round_trip_seconds", "histogram"],
      ["broker_peers", "gauge"],
      ["broker_peer_messages_total", "counter"],
      ["broker_capture_dropped_total", "counter"],
      ["broker_paused", "gauge"],
    ]
  ) assert.equal(types.get(name), type, name);
  assert.equal(metric(m, "broker_round_trip_seconds_count"), 150);
  assert.equal(metric(m, "broker_peers"), 3);
  assert.equal(metric(m, "broker_pending_requests"), 0);
  await w.stop();
  await broker.proc.stop();
});

Deno.test("pause/resume: nothing is forwarded while paused; everything after RESUME", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  await using client = new Dealer({ routingId: "p-client", linger: 0 });
  await using worker = new Dealer({ linger: 0, receiveTimeout: 10_000 });
  client.connect(broker.frontend);
  worker.connect(broker.backend);
  await client.send(["", "warm-up"]);
  await worker.receive();
  assert.deepEqual(await controlCommand(broker.control, "PAUSE"), [new Uint8Array(0)]);
  await broker.proc.event("paused");
  for (let i = 0; i < 3; i++) await client.send(["", `paused-${i}`]);
  // A bounded observation window: a broker that ignored PAUSE forwards within it.
  const before = await statistics(broker.control);
  worker.receiveTimeout = 500;
  await assert.rejects(worker.receive(), (e: { code?: string }) => e.code === "EAGAIN");
  assert.equal((await statistics(broker.control)).backendSentMessages, before.backendSentMessages);
  assert.equal(metric(await scrape(broker.metrics), "broker_paused"), 1);
  assert.deepEqual(await controlCommand(broker.control, "RESUME"), [new Uint8Array(0)]);
  worker.receiveTimeout = 10_000;
  const got = [];
  for (let i = 0; i < 3; i++) got.push(new TextDecoder().decode((await worker.receive()).at(-1)));
  assert.deepEqual(got, ["paused-0", "paused-1", "paused-2"]);
  await broker.proc.stop();
});

Deno.test("TERMINATE: the broker stops taking requests and exits 0", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  assert.deepEqual(await controlCommand(broker.control, "TERMINATE"), [new Uint8Array(0)]);
  await broker.proc.event("terminate_requested");
  assert.equal((await broker.proc.wait()).code, 0);
});

Deno.test("slow capture: a stopped capture subscriber does not stall forwarding; drops are counted", async () => {
  const broker = await startBroker(["--capture-hwm", "1"]);
  await using _ = broker.proc;
  await using w = await spawnRole("22", "client_app", ["worker", "--connect", broker.backend]);
  await w.event("worker_ready");
  await using tap = await spawnRole("22", "client_app", [
    "tap",
    "--connect",
    broker.capture,
    "--quiet",
    "--receive-hwm",
    "1",
    "--stats-interval",
    "100",
  ]);
  await tap.event("tap_ready");
  // Until the tap's subscription has reached the broker, nothing is captured for it.
  await using probe = new Dealer({ routingId: "probe", linger: 0 });
  probe.connect(broker.frontend);
  await waitFor("the tap to receive a captured message", async () => {
    await probe.send(["", "probe"]);
    await probe.receive();
    return tap.eventCount("tap_stats", (e) => Number(e.received) > 0) > 0;
  }, { timeoutMs: 20_000, intervalMs: 50 });
  tap.signal("SIGSTOP");
  try {
    const client = await spawnRole("22", "client_app", [
      "client",
      "--connect",
      broker.frontend,
      "--count",
      "1500",
      "--window",
      "20",
      "--size",
      "32768",
      "--timeout",
      "30000",
      "--json",
    ]);
    await using __ = client;
    // Generous deadline: the point is that it completes while the observer is frozen.
    const status = await Promise.race([
      client.wait(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("client did not finish in 120 s")), 120_000)
      ),
    ]);
    assert.equal(status.code, 0, client.tail());
    assert.equal(JSON.parse(client.stdoutLines.at(-1)!).replied, 1500);
    const m = await scrape(broker.metrics);
    assert.ok(metric(m, "broker_capture_dropped_total") > 0, "expected capture drops");
    assert.ok(metric(m, "broker_forwarded_messages_total", { direction: "f2b" }) >= 1500);
  } finally {
    tap.signal("SIGCONT");
  }
  await tap.stop();
  await w.stop();
  await broker.proc.stop();
});

Deno.test("garbage on every socket is logged and dropped; the broker keeps forwarding", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  for (const socket of ["frontend", "backend", "capture", "control"] as const) {
    await wrongMechanism(broker[socket]);
    await broker.proc.event("bad_message", (e) => e.socket === socket);
  }
  // Well-formed ZMTP, bad content: control commands libzmq does not define...
  assert.deepEqual(await controlCommand(broker.control, "REBOOT"), [new Uint8Array(0)]);
  assert.deepEqual(
    await controlCommand(broker.control, [te.encode("PAUSE"), te.encode("extra")]),
    [new Uint8Array(0)],
  );
  await waitFor(
    "2 control bad_message",
    () =>
      broker.proc.eventCount(
        "bad_message",
        (e) => e.socket === "control" && String(e.reason).startsWith("expected"),
      ) >= 1,
    { timeoutMs: 10_000 },
  );
  // ...a "reply" with no envelope from a worker...
  await using bad = new Dealer({ linger: 1000 });
  bad.connect(broker.backend);
  await bad.send("just-one-frame");
  await broker.proc.event(
    "bad_message",
    (e) => e.socket === "backend" && String(e.reason).includes("2 frames"),
  );
  bad.close(); // else the backend DEALER may hand requests to it (round robin)
  // ...and HTTP the metrics endpoint does not serve, and bytes that are not HTTP.
  const r = await fetch(broker.metrics.replace("/metrics", "/admin"));
  assert.equal(r.status, 404);
  await r.body?.cancel();
  await broker.proc.event("bad_message", (e) => e.socket === "metrics");
  const [, host, port] = /^http:\/\/([^:]+):(\d+)/.exec(broker.metrics)!;
  const conn = await Deno.connect({ hostname: host, port: Number(port) });
  await conn.write(te.encode("\x00\x01garbage\r\n\r\n"));
  // The server answers 400 or hangs up; either way it must not wait on us for long.
  const timer = setTimeout(() => conn.close(), 2000);
  await conn.read(new Uint8Array(256)).catch(() => null);
  clearTimeout(timer);
  try {
    conn.close();
  } catch {
    // closed by the timer
  }
  // Still forwarding, and the bad input is counted.
  await using client = new Dealer({ routingId: "after", linger: 0, receiveTimeout: 1000 });
  await using worker = new Dealer({ linger: 0, receiveTimeout: 1000 });
  client.connect(broker.frontend);
  worker.connect(broker.backend);
  // Until the closed DEALER's pipe is gone, a request may still be handed to it: retry.
  await waitFor("a round trip after the garbage", async () => {
    await client.send(["", "still there?"]);
    try {
      const got = await worker.receive();
      await worker.send(got);
      return new TextDecoder().decode((await client.receive())[1]) === "still there?";
    } catch {
      return false;
    }
  }, { timeoutMs: 20_000 });
  const m = await scrape(broker.metrics);
  for (const socket of ["frontend", "backend", "capture", "control", "metrics"]) {
    assert.ok(metric(m, "broker_bad_messages_total", { socket }) >= 1, socket);
  }
  await broker.proc.stop();
});

Deno.test("client_app: watch shows the broker's view; tap prints captured traffic", async () => {
  const broker = await startBroker();
  await using _ = broker.proc;
  await using tap = await spawnRole("22", "client_app", [
    "tap",
    "--connect",
    broker.capture,
    "--json",
  ]);
  await tap.event("tap_ready");
  await using w = await spawnRole("22", "client_app", ["worker", "--connect", broker.backend]);
  await w.event("worker_ready");
  // The tap's subscription may arrive after the first messages: send until one is seen.
  const client = await spawnRole("22", "client_app", [
    "client",
    "--connect",
    broker.frontend,
    "--rate",
    "50",
    "--name",
    "viewer",
  ]);
  await using __ = client;
  const line = await tap.stdoutLine((l) => l.includes('"direction":"b2f"'), { timeout: 20_000 });
  assert.equal(JSON.parse(line).frames, 3);
  const watch = await spawnRole("22", "client_app", [
    "watch",
    "--metrics",
    broker.metrics,
    "--interval",
    "200",
    "--count",
    "2",
    "--json",
  ]);
  await using ___ = watch;
  assert.equal((await watch.wait()).code, 0, watch.tail());
  const view = JSON.parse(watch.stdoutLines.at(-1)!);
  assert.equal(view.top[0].peer, "viewer-0");
  assert.ok(view.directions[0].forwarded > 0);
  await client.stop();
  await tap.stop();
  await w.stop();
  await broker.proc.stop();
});
