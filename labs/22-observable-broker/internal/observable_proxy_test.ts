import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { parseCapture } from "./capture.ts";
import { ObservableProxy, type SendPort } from "./observable_proxy.ts";
import { parsePrometheusText } from "./prometheus_text.ts";

const te = new TextEncoder();
const f = (...parts: string[]) => parts.map((p) => te.encode(p));

/** A port that takes everything, or (when `full`) only through the waiting send. */
function port(): SendPort & { out: Uint8Array[][]; full: boolean; release: () => void } {
  let waiting: (() => void)[] = [];
  const p = {
    out: [] as Uint8Array[][],
    full: false,
    trySend(frames: Uint8Array[]) {
      if (p.full) return false;
      p.out.push(frames);
      return true;
    },
    send(frames: Uint8Array[]) {
      return new Promise<void>((resolve) =>
        waiting.push(() => {
          p.out.push(frames);
          resolve();
        })
      );
    },
    release() {
      const w = waiting;
      waiting = [];
      for (const fn of w) fn();
    },
  };
  return p;
}

function setup(capture?: (frames: Uint8Array[]) => boolean) {
  const clock = new ManualClock(1000);
  const backend = port();
  const frontend = port();
  let terminated = 0;
  const proxy = new ObservableProxy({
    clock,
    wallNow: () => 1.7e12,
    log: createMemoryLogger(),
    toBackend: backend,
    toFrontend: frontend,
    capture,
    maxPeers: 8,
    maxPendingPerPeer: 4,
    onTerminate: () => terminated++,
  });
  return { clock, backend, frontend, proxy, terminated: () => terminated };
}

Deno.test("proxy: forwards the same frames both ways and counts them per direction", () => {
  const { clock, backend, frontend, proxy } = setup();
  const request = f("id-1", "", "ping", "");
  proxy.fromFrontend(request);
  assert.equal(backend.out[0], request);
  clock.set(1004);
  const reply = f("id-1", "", "pong!");
  proxy.fromBackend(reply);
  assert.equal(frontend.out[0], reply);
  const s = proxy.stats();
  assert.deepEqual(s.frontend, {
    receivedMessages: 1,
    receivedFrames: 4,
    receivedBytes: 8,
    sentMessages: 1,
    sentFrames: 3,
    sentBytes: 9,
  });
  assert.equal(s.backend.sentFrames, 4);
  assert.equal(s.round_trip_ms.count, 1);
  assert.equal(s.round_trip_ms.max, 4);
  assert.deepEqual(s.top_talkers, [{ peer: "id-1", requests: 1, replies: 1, bytes: 17 }]);
  assert.deepEqual(proxy.statistics(), {
    frontendReceivedMessages: 4,
    frontendReceivedBytes: 8,
    frontendSentMessages: 3,
    frontendSentBytes: 9,
    backendReceivedMessages: 3,
    backendReceivedBytes: 9,
    backendSentMessages: 4,
    backendSentBytes: 8,
  });
});

Deno.test("proxy: a full destination is awaited, and the dwell time shows it", async () => {
  const { clock, backend, proxy } = setup();
  backend.full = true;
  const pending = proxy.fromFrontend(f("a", "", "x"));
  assert.ok(pending instanceof Promise);
  assert.equal(backend.out.length, 0);
  clock.set(1250);
  backend.release();
  await pending;
  assert.equal(backend.out.length, 1);
  assert.equal(proxy.stats().f2b_dwell_ms.max, 250);
});

Deno.test("proxy: PAUSE holds the message in hand, RESUME forwards it", async () => {
  const { backend, proxy } = setup();
  proxy.control("PAUSE");
  const held = proxy.fromFrontend(f("a", "", "1"));
  await Promise.resolve();
  assert.equal(backend.out.length, 0);
  assert.equal(proxy.paused, true);
  proxy.control("RESUME");
  await held;
  assert.equal(backend.out.length, 1);
  assert.deepEqual(proxy.stats().control, { PAUSE: 1, RESUME: 1 });
});

Deno.test("proxy: TERMINATE stops requests, replies still flow, close drops the held one", async () => {
  const { backend, frontend, proxy, terminated } = setup();
  proxy.fromFrontend(f("a", "", "1"));
  proxy.control("TERMINATE");
  proxy.control("TERMINATE");
  assert.equal(terminated(), 1);
  const held = proxy.fromFrontend(f("a", "", "2"));
  proxy.fromBackend(f("a", "", "r1"));
  assert.equal(frontend.out.length, 1);
  assert.equal(proxy.pendingRequests, 0);
  proxy.close();
  await held;
  assert.equal(backend.out.length, 1);
  assert.deepEqual(proxy.stats().f2b_dropped, { stopping: 1 });
});

Deno.test("proxy: a backend message without an envelope is counted and rejected", () => {
  const { frontend, proxy } = setup();
  assert.throws(() => proxy.fromBackend(f("lonely")), BadMessageError);
  assert.equal(frontend.out.length, 0);
  assert.deepEqual(proxy.stats().b2f_dropped, { no_envelope: 1 });
  assert.deepEqual(proxy.stats().bad_messages, { backend: 1 });
});

Deno.test("proxy: capture copies with per-direction seq; a full capture drops, never waits", () => {
  const captured: Uint8Array[][] = [];
  let full = false;
  const { backend, proxy } = setup((frames) => {
    if (full) return false;
    captured.push(frames);
    return true;
  });
  proxy.fromFrontend(f("a", "", "1"));
  full = true;
  proxy.fromFrontend(f("a", "", "2"));
  full = false;
  proxy.fromFrontend(f("a", "", "3"));
  assert.equal(backend.out.length, 3);
  const seqs = captured.map((c) => parseCapture(c).seq);
  assert.deepEqual(seqs, [1, 3]);
  assert.deepEqual(parseCapture(captured[1]).frames, f("a", "", "3"));
  assert.deepEqual(proxy.stats().capture, { enabled: true, sent: 2, dropped: 1 });
});

Deno.test("proxy: metrics text parses, histograms consistent, peers bounded to top N", () => {
  const { proxy } = setup();
  for (let i = 0; i < 20; i++) {
    proxy.fromFrontend(f(`peer-${i % 12}`, "", "x"));
    proxy.fromBackend(f(`peer-${i % 12}`, "", "y"));
  }
  const families = parsePrometheusText(proxy.metricsText(3));
  const by = new Map(families.map((x) => [x.name, x]));
  const fwd = by.get("broker_forwarded_messages_total")!;
  assert.deepEqual(fwd.samples.map((s) => [s.labels.direction, s.value]), [["f2b", 20], [
    "b2f",
    20,
  ]]);
  assert.equal(by.get("broker_peer_messages_total")!.samples.length, 6);
  assert.equal(by.get("broker_peers")!.samples[0].value, 8); // capacity
  assert.equal(by.get("broker_round_trip_seconds")!.type, "histogram");
});
