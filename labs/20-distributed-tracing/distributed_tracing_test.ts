/**
 * Process tests of Lab 20: the real trace_collector and a 4-service chain of
 * monitored_service processes, run with the manifest's permissions on ephemeral ports,
 * observed through replies, the collector's HTTP API, OTLP files and JSON log events.
 */
import assert from "node:assert/strict";
import { runOnce, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Dealer, Push, Router } from "@lib/zmq/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import { validateOtlp } from "./internal/otlp.ts";
import { decodeReply, encodeRequest, text } from "./internal/protocol.ts";
import { encodeBatch, SpanKind, StatusCode } from "./internal/span.ts";
import { parseTraceParent } from "./internal/trace_context.ts";
import {
  CHAIN,
  type Collector,
  getJson,
  runLoad,
  startChain,
  startCollector,
  traceById,
  traceList,
} from "./testing.ts";

const FAST_COLLECTOR = ["--trace-timeout", "300"];
const FAST_SERVICE = ["--batch-interval", "20", "--stats-interval", "200"];

/** Waits until the collector has completed `traceId` and returns it. */
async function completedTrace(collector: Collector, traceId: string) {
  await collector.proc.event("trace_complete", (e) => e.trace_id === traceId, {
    timeout: 30_000,
  });
  const trace = await traceById(collector, traceId);
  assert.ok(trace, `trace ${traceId} not served`);
  return trace;
}

Deno.test("both roles and load answer --help; a bad option exits 2 with one line", async () => {
  for (
    const args of [["trace_collector", "--help"], ["monitored_service", "--help"], [
      "monitored_service",
      "load",
      "--help",
    ]]
  ) {
    const result = await runOnce("20", args[0], args.slice(1));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--help/);
  }
  const bad = await runOnce("20", "monitored_service", ["--sample-ratio", "2"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /sample-ratio/);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
});

Deno.test("a 4-hop request gives one trace with correct parent links, a critical path and a valid OTLP/JSON file", async () => {
  await using dir = await tempDir();
  await using collector = await startCollector([...FAST_COLLECTOR, "--export-dir", dir.path]);
  await using chain = await startChain(collector.endpoint, FAST_SERVICE, {
    inventory: ["--work-ms", "5"],
  });
  const run = await runLoad(chain.endpoint, ["--requests", "1"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.replies.length, 1);
  const [reply] = run.replies;
  assert.equal(reply.ok, true);
  assert.ok(reply.traceId, "the gateway's traceresponse carries the trace id");
  const trace = await completedTrace(collector, reply.traceId!);

  // One trace: 4 SERVER spans and 3 CLIENT spans, linked hop by hop.
  assert.equal(trace.spans.length, 7);
  assert.ok(trace.spans.every((s) => s.traceId === reply.traceId));
  const server = (name: string) =>
    trace.spans.find((s) => s.service === name && s.kind === SpanKind.SERVER)!;
  const client = (name: string) =>
    trace.spans.find((s) => s.service === name && s.kind === SpanKind.CLIENT)!;
  assert.equal(server("gateway").parentSpanId, "", "the gateway's span is the root");
  assert.equal(trace.summary.rootSpanId, server("gateway").spanId);
  assert.equal(trace.summary.orphans, 0);
  for (let i = 0; i < CHAIN.length - 1; i++) {
    assert.equal(client(CHAIN[i]).parentSpanId, server(CHAIN[i]).spanId);
    assert.equal(server(CHAIN[i + 1]).parentSpanId, client(CHAIN[i]).spanId);
    // A child lies within its parent (give or take the processes' clocks: 5 ms).
    assert.ok(server(CHAIN[i + 1]).startMs >= client(CHAIN[i]).startMs - 5);
    assert.ok(server(CHAIN[i + 1]).endMs <= client(CHAIN[i]).endMs + 5);
  }
  assert.equal(client("inventory"), undefined, "the last hop calls nobody");
  // The traceresponse names the root span; every hop put its own tracestate entry first.
  const tr = parseTraceParent(reply.traceresponse);
  assert.ok(tr.ok && tr.value.parentId === server("gateway").spanId);
  assert.equal(server("inventory").traceState, "lab20=inventory");
  // A sequential chain: every span is on the critical path, which covers the root.
  const onPath = new Set(trace.criticalPath.map((s) => s.spanId));
  assert.equal(onPath.size, 7);
  const covered = trace.criticalPath.reduce((n, s) => n + s.endMs - s.startMs, 0);
  assert.ok(Math.abs(covered - trace.summary.durationMs) < 0.01);

  // The OTLP/JSON file.
  const file = `${dir.path}/${reply.traceId}.otlp.json`;
  await waitFor("the OTLP file", async () => {
    try {
      return (await Deno.stat(file)).isFile;
    } catch {
      return false;
    }
  }, { timeoutMs: 20_000 });
  const doc = JSON.parse(await Deno.readTextFile(file));
  assert.deepEqual(validateOtlp(doc), []);
  const names = doc.resourceSpans.map((rs: { resource: { attributes: unknown[] } }) =>
    rs.resource.attributes
  );
  assert.equal(names.length, 4);
  const otlpSpans = doc.resourceSpans.flatMap((rs: { scopeSpans: { spans: unknown[] }[] }) =>
    rs.scopeSpans.flatMap((ss) => ss.spans)
  );
  assert.equal(otlpSpans.length, 7);
  assert.ok(
    otlpSpans.every((s: { startTimeUnixNano: string }) => /^\d{19}$/.test(s.startTimeUnixNano)),
  );
  for (const service of chain.services) await service.stop();
  await collector.proc.stop();
});

Deno.test("an error in one hop marks its span (with an exception event) and every span above it up to the root", async () => {
  await using collector = await startCollector(FAST_COLLECTOR);
  await using chain = await startChain(collector.endpoint, FAST_SERVICE);
  const run = await runLoad(chain.endpoint, ["--requests", "1", "--fail-at", "orders"]);
  assert.equal(run.code, 0, run.stderr);
  const [reply] = run.replies;
  assert.equal(reply.ok, false);
  assert.match(reply.error ?? "", /downstream error/);
  const trace = await completedTrace(collector, reply.traceId!);
  assert.equal(trace.spans.length, 5, "inventory was never called");
  const orders = trace.spans.find((s) => s.service === "orders")!;
  assert.equal(orders.status.code, StatusCode.ERROR);
  assert.ok(orders.events.some((e) => e.name === "exception"));
  assert.ok(trace.spans.every((s) => s.status.code === StatusCode.ERROR));
  const root = trace.spans.find((s) => s.spanId === trace.summary.rootSpanId)!;
  assert.equal(root.service, "gateway");
  assert.equal(root.status.code, StatusCode.ERROR);
  assert.equal(trace.summary.error, true);
  const listed = (await traceList(collector)).find((t) => t.traceId === reply.traceId);
  assert.equal(listed?.error, true);
  for (const service of chain.services) await service.stop();
  await collector.proc.stop();
});

Deno.test("W3C traceparent: invalid values restart the trace, valid and future versions continue it, tracestate rules", async () => {
  await using collector = await startCollector(FAST_COLLECTOR);
  await using chain = await startChain(collector.endpoint, FAST_SERVICE);
  const dealer = new Dealer({ linger: 0, receiveTimeout: 30_000 });
  dealer.connect(chain.endpoint);
  let n = 0;
  const call = async (traceparent: string, tracestate = "") => {
    const id = String(++n);
    await dealer.send(encodeRequest(id, traceparent, tracestate, { item: "x" }));
    const reply = decodeReply(await dealer.receive());
    assert.equal(text(reply.requestId), id);
    assert.ok(reply.ok);
    const tr = parseTraceParent(reply.traceresponse);
    assert.ok(tr.ok, reply.traceresponse);
    assert.equal(tr.value.version, "00", "always written as version 00");
    return tr.value;
  };
  try {
    const T = "4bf92f3577b34da6a3ce929d0e0e4736";
    const P = "00f067aa0ba902b7";
    const invalid = [
      `00-${T.toUpperCase()}-${P}-01`, // uppercase hex
      `00-${"0".repeat(32)}-${P}-01`, // all-zero trace-id
      `00-${T}-${"0".repeat(16)}-01`, // all-zero parent-id
      `ff-${T}-${P}-01`, // version ff is forbidden
      `00-${T}-${P}-01-extra`, // version 00 is exactly 55 characters
      `0-${T}-${P}-01`, // version not 2 hex digits
      `cc-${T}-${P}`, // a future version shorter than 55 characters
      `00-${T}-${P}-0g`, // flags not hex
      "garbage",
    ];
    for (const value of invalid) {
      const got = await call(value, "congo=t61rcWkgMzE");
      assert.notEqual(got.traceId, T, `${value} must restart the trace`);
      const trace = await completedTrace(collector, got.traceId);
      const root = trace.spans.find((s) => s.spanId === got.parentId)!;
      assert.equal(root.parentSpanId, "", `${value}: a new root`);
      // §3.3: when traceparent failed, tracestate is not parsed or propagated.
      assert.equal(root.traceState, "lab20=gateway");
    }
    await chain.services[0].event(
      "stats",
      (e) => Number(e.restarted) >= invalid.length,
      { timeout: 20_000 },
    );

    // Valid: continued (same trace id, the caller's span as parent, sampled flag kept), the
    // tracestate kept with our entry moved to the front.
    const valid = await call(`00-${T}-${P}-01`, "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7");
    assert.equal(valid.traceId, T);
    assert.equal(valid.flags, 1);
    const trace = await completedTrace(collector, T);
    const root = trace.spans.find((s) => s.spanId === valid.parentId)!;
    assert.equal(root.parentSpanId, P);
    assert.equal(root.traceState, "lab20=gateway,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    assert.equal(trace.spans.length, 7);

    // A future version is parsed as far as version 00 goes (§3.2.4); unknown fields ignored.
    const T2 = "0af7651916cd43dd8448eb211c80319c";
    const future = await call(`cc-${T2}-${P}-01-what-the-future-will-be-like`);
    assert.equal(future.traceId, T2);
    // An invalid tracestate alone is discarded; the traceparent stands (§3.3.1.1).
    const T3 = "1af7651916cd43dd8448eb211c80319c";
    const tooMany = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",");
    const kept = await call(`00-${T3}-${P}-01`, tooMany);
    assert.equal(kept.traceId, T3);
    const t3 = await completedTrace(collector, T3);
    assert.ok(t3.spans.every((s) => s.traceState.startsWith("lab20=")));
    assert.ok(t3.spans.every((s) => !s.traceState.includes("k0=")));
    // Not sampled upstream: propagated unsampled, no spans recorded (ParentBased).
    const T4 = "2af7651916cd43dd8448eb211c80319c";
    const unsampled = await call(`00-${T4}-${P}-00`);
    assert.equal(unsampled.traceId, T4);
    assert.equal(unsampled.flags, 0);
  } finally {
    dealer.close();
  }
  for (const service of chain.services) await service.stop();
  assert.equal(await traceById(collector, "2af7651916cd43dd8448eb211c80319c"), undefined);
  await collector.proc.stop();
});

Deno.test("collector down: every request still answered, spans dropped and counted; spans flow once it is up", async () => {
  await using dir = await tempDir();
  const collectorAt = `ipc://${dir.path}/collector.sock`;
  await using chain = await startChain(collectorAt, [
    ...FAST_SERVICE,
    "--export-queue",
    "50",
    "--batch-size",
    "10",
    "--export-hwm",
    "2",
  ]);
  const run = await runLoad(chain.endpoint, ["--requests", "300", "--concurrency", "4"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.ok, 300);
  assert.equal(run.summary.timeouts, 0);
  const gateway = chain.byName("gateway");
  await gateway.event("stats", (e) => (e.export as { dropped: number }).dropped > 0, {
    timeout: 20_000,
  });
  // The collector comes up at the address the services were given: new traces arrive.
  await using collector = await startCollector([...FAST_COLLECTOR, "--bind", collectorAt]);
  const after = await runLoad(chain.endpoint, ["--requests", "1"]);
  await completedTrace(collector, after.replies[0].traceId!);
  for (const service of chain.services) await service.stop();
  const final = gateway.events.find((e) => e.event === "exporter_stats")!;
  assert.ok((final.export as { dropped: number }).dropped > 0);
  await collector.proc.stop();
});

Deno.test("a stalled collector (SIGSTOP) never holds up requests: same count within the same deadline, drops rise", async () => {
  await using collector = await startCollector([...FAST_COLLECTOR, "--receive-buffer", "4096"]);
  const exportArgs = [
    ...FAST_SERVICE,
    "--export-queue",
    "100",
    "--batch-size",
    "10",
    "--export-hwm",
    "2",
    "--export-sndbuf",
    "4096",
  ];
  await using chain = await startChain(collector.endpoint, exportArgs);
  const gateway = chain.byName("gateway");
  const load = ["--requests", "400", "--concurrency", "4", "--timeout", "20000"];
  const deadline = 60_000;
  const before = await runLoad(chain.endpoint, load, deadline);
  assert.equal(before.code, 0, before.stderr);
  assert.equal(before.summary.ok, 400);
  await gateway.event("stats", (e) => (e.export as { queued: number }).queued === 0, {
    timeout: 20_000,
  });
  const droppedBefore = (gateway.events.findLast((e) => e.event === "stats")!.export as {
    dropped: number;
  }).dropped;

  collector.proc.signal("SIGSTOP");
  try {
    const stalled = await runLoad(chain.endpoint, load, deadline);
    assert.equal(stalled.code, 0, stalled.stderr);
    assert.equal(stalled.summary.ok, 400, "every request answered while the collector is stalled");
    assert.equal(stalled.summary.timeouts, 0);
    await gateway.event(
      "stats",
      (e) => (e.export as { dropped: number }).dropped > droppedBefore,
      { timeout: 20_000 },
    );
    // Nor does it hold up their shutdown: spans it cannot take are counted as lost.
    for (const service of chain.services) await service.stop({ timeout: 30_000 });
  } finally {
    collector.proc.signal("SIGCONT");
  }
  const final = gateway.events.find((e) => e.event === "exporter_stats")!;
  assert.ok((final.export as { dropped: number }).dropped > droppedBefore);
  await collector.proc.stop();
});

Deno.test("garbage on every socket (collector, service in and out, load client) is bad_message and dropped; serving goes on", async () => {
  await using collector = await startCollector(FAST_COLLECTOR);
  // The collector's PULL: not msgpack, two frames, a wrong shape, an all-zero trace id.
  const push = new Push({ linger: 1000 });
  push.connect(collector.endpoint);
  try {
    await push.send(new TextEncoder().encode("not msgpack at all"));
    await push.send(["two", "frames"]);
    await push.send(encode([1, "x", 0, [{ nope: 1 }]]));
    const zero = {
      traceId: "0".repeat(32),
      spanId: "1".repeat(16),
      parentSpanId: "",
      service: "x",
      name: "n",
      kind: 1,
      startMs: 1,
      endMs: 2,
      attributes: {},
      events: [],
      status: { code: 0 },
      traceState: "",
    };
    await push.send(encodeBatch("x", 0, [zero]));
    await collector.proc.event("bad_message", undefined, { timeout: 20_000 });
    await waitFor(
      "bad messages of each kind",
      () => collector.proc.eventCount("bad_message") >= 3,
      {
        timeoutMs: 20_000,
      },
    );
    // Still assembling.
    await push.send(encodeBatch("x", 0, [{ ...zero, traceId: "3".repeat(32) }]));
    await collector.proc.event("trace_complete", (e) => e.trace_id === "3".repeat(32), {
      timeout: 20_000,
    });
  } finally {
    push.close();
  }

  // A service's ROUTER (from upstream) and DEALER (replies from its next hop, here a fake).
  const fakeNext = new Router({ linger: 0, receiveTimeout: 30_000 });
  await fakeNext.bind("tcp://127.0.0.1:*");
  await using chain = await startChain(collector.endpoint, FAST_SERVICE, {
    gateway: ["--next", fakeNext.lastEndpoint!],
  }, ["gateway"]);
  const dealer = new Dealer({ linger: 0, receiveTimeout: 30_000 });
  dealer.connect(chain.endpoint);
  try {
    await dealer.send(["no delimiter"]);
    await dealer.send(["", "1", "", "", "", "six frames"]);
    const gateway = chain.services[0];
    await gateway.event("bad_message", undefined, { timeout: 20_000 });
    // A bad body gets an error reply (and a bad_message).
    await dealer.send(encodeRequest("2", "", "", new TextEncoder().encode("not msgpack")));
    const refused = decodeReply(await dealer.receive());
    assert.equal(refused.ok, false);
    assert.match(text(refused.body), /bad request/);
    // A real request: the fake next hop answers garbage first, then properly.
    await dealer.send(encodeRequest("3", "", "", { item: "x" }));
    const [peer, ...forwarded] = await fakeNext.receive();
    assert.equal(forwarded.length, 5);
    await fakeNext.send([peer, "garbage"]);
    await fakeNext.send([peer, "", forwarded[1], "maybe", "", "x"]);
    await waitFor("bad replies logged", () => gateway.eventCount("bad_message") >= 5, {
      timeoutMs: 20_000,
    });
    await fakeNext.send([peer, "", forwarded[1], "ok", "", encode({ item: "x", servedBy: "f" })]);
    const ok = decodeReply(await dealer.receive());
    assert.equal(text(ok.requestId), "3");
    assert.equal(ok.ok, true);
  } finally {
    dealer.close();
    fakeNext.close();
  }
  for (const service of chain.services) await service.stop();
  await collector.proc.stop();

  // The load client's DEALER: a garbage reply is logged and dropped; the real one counts.
  const fakeTarget = new Router({ linger: 0, receiveTimeout: 30_000 });
  await fakeTarget.bind("tcp://127.0.0.1:*");
  try {
    const run = runLoad(fakeTarget.lastEndpoint!, ["--requests", "1", "--timeout", "30000"]);
    const [peer, , id] = await fakeTarget.receive();
    await fakeTarget.send([peer, "", id, "ok"]);
    await fakeTarget.send([peer, "", id, "ok", "", encode({ item: "x", servedBy: "fake" })]);
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.summary.ok, 1);
    assert.ok(result.events.some((e) => e.event === "bad_message"));
  } finally {
    fakeTarget.close();
  }
});

/** The resident set of a process, bytes (Linux /proc). */
async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

Deno.test("an oversized frame to the collector or a service is refused unread: memory stays flat, serving goes on", async () => {
  // Before the fix neither socket had a maxMessageSize: a 400 MB frame to the collector's
  // PULL was buffered whole (RSS +240 MB and climbing).
  const BIG = 96 * 1024 * 1024;
  await using collector = await startCollector(FAST_COLLECTOR);
  await using chain = await startChain(collector.endpoint, FAST_SERVICE, {}, ["inventory"]);
  const service = chain.services[0];
  const before = [await rssBytes(collector.proc.pid), await rssBytes(service.pid)];
  const big = new Uint8Array(BIG).fill(7);
  const push = new Push({ linger: 0, sendHighWaterMark: 1 });
  const dealer = new Dealer({ linger: 0, receiveTimeout: 30_000 });
  try {
    push.connect(collector.endpoint);
    dealer.connect(chain.endpoint);
    await push.send(big);
    await dealer.send(encodeRequest("1", "", "", big));
    // Serving goes on: a real request is answered and its trace assembled.
    const good = new Dealer({ linger: 0, receiveTimeout: 30_000 });
    try {
      good.connect(chain.endpoint);
      await good.send(encodeRequest("2", "", "", { item: "x" }));
      const reply = decodeReply(await good.receive());
      assert.equal(reply.ok, true);
      const traceId = parseTraceParent(reply.traceresponse);
      assert.ok(traceId.ok);
      await collector.proc.event("trace_complete", (e) => e.trace_id === traceId.value.traceId, {
        timeout: 30_000,
      });
    } finally {
      good.close();
    }
    const after = [await rssBytes(collector.proc.pid), await rssBytes(service.pid)];
    for (const [i, name] of ["collector", "service"].entries()) {
      const grew = after[i] - before[i];
      assert.ok(grew < BIG / 2, `${name} RSS grew ${grew} bytes for a ${BIG}-byte frame`);
    }
  } finally {
    push.close();
    dealer.close();
  }
  await service.stop();
  await collector.proc.stop();
});

Deno.test("on stop every open trace is written as an OTLP file, however many (none skipped)", async () => {
  // Before the fix only 64 files (the pending-writes bound) were started at stop; the other
  // open traces were counted as export_skipped and lost.
  await using dir = await tempDir();
  const TRACES = 300;
  await using collector = await startCollector([
    "--trace-timeout",
    "600000",
    "--export-dir",
    dir.path,
  ]);
  const push = new Push({ linger: 5000 });
  try {
    push.connect(collector.endpoint);
    const spans = Array.from({ length: TRACES }, (_, i) => ({
      traceId: `f${(i + 1).toString(16).padStart(31, "0")}`,
      spanId: "1".repeat(16),
      parentSpanId: "",
      service: "x",
      name: "n",
      kind: 1,
      startMs: 1,
      endMs: 2,
      attributes: {},
      events: [],
      status: { code: 0 },
      traceState: "",
    }));
    for (let i = 0; i < TRACES; i += 100) {
      await push.send(encodeBatch("x", 0, spans.slice(i, i + 100)));
    }
    await waitFor("every span received", async () => {
      const { stats } = await getJson<{ stats: { spans: number } }>(`${collector.url}api/traces`);
      return stats.spans === TRACES;
    }, { timeoutMs: 20_000 });
  } finally {
    push.close();
  }
  await collector.proc.stop();
  const stats = await collector.proc.event("collector_stats");
  assert.equal(stats.export_skipped, 0);
  assert.equal(stats.otlp_files, TRACES);
  let files = 0;
  for await (const e of Deno.readDir(dir.path)) if (e.name.endsWith(".otlp.json")) files++;
  assert.equal(files, TRACES);
});
