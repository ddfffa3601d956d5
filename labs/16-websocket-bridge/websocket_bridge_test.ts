/**
 * Process tests of Lab 16: the real zmq_bridge (manifest permissions, ephemeral ports)
 * between an in-process XPUB publishing Lab 04 updates and Deno or raw TCP WebSocket
 * clients (plus the page in Chromium as a second fast client in the slow-consumer test,
 * where Chromium is installed). The page's own tests are in `browser_test.ts`.
 */
import assert from "node:assert/strict";
import { waitFor } from "@lib/testing/mod.ts";
import {
  browserUnavailable,
  launchBrowser,
  RawWsClient,
  startBridge,
  TelemetryPublisher,
  withScreenshotOnFailure,
  WsClient,
  wsClient,
} from "./testing.ts";

Deno.test("upgrades need the token and an allowed Origin; the page is served", async () => {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint);
  const page = await fetch(bridge.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await page.text(), /<canvas id="chart"/);
  const missing = await fetch(`${bridge.url}nope`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const cases: [string, { token?: string; origin?: string | null }, number][] = [
    ["wrong token", { token: "wrong-token-123" }, 401],
    ["no token", { token: "" }, 401],
    ["foreign Origin", { origin: "http://evil.example" }, 403],
    ["other port", { origin: `http://127.0.0.1:${bridge.port + 1}` }, 403],
    ["no Origin", { origin: null }, 403],
  ];
  for (const [name, options, status] of cases) {
    await using raw = await RawWsClient.connect(bridge.port, options);
    assert.equal(raw.status, status, name);
  }
  await bridge.proc.event("upgrade_refused", (e) => e.reason === "bad token");
  await bridge.proc.event("upgrade_refused", (e) => e.reason === "origin not allowed");
  // The right token and Origin (localhost is the same bridge) get in.
  await using ok = await RawWsClient.connect(bridge.port, {
    origin: `http://localhost:${bridge.port}`,
  });
  assert.equal(ok.status, 101);
  await bridge.proc.stop();
});

Deno.test("garbage from a client closes it with a code; the bridge keeps serving", async () => {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint);
  await using good = await wsClient(bridge, ["plant-a/"]);
  await pub.subscribed("plant-a/");
  const garbage: [string | Uint8Array, number][] = [
    ["{not json", 4400],
    ['{"type":"subscribe","topics":["a"]}', 4400], // before hello
    ['{"type":"hello","topics":"all"}', 4400],
    [new Uint8Array([1, 2, 3]), 1003],
    ["x".repeat(9000), 1009],
  ];
  for (const [frame, code] of garbage) {
    const bad = new WsClient(bridge.wsUrl(), `http://127.0.0.1:${bridge.port}`);
    await bad.opened;
    bad.ws.send(frame);
    const closed = await waitFor(`close ${code}`, () => bad.closed, { timeoutMs: 10_000 });
    assert.equal(closed.code, code, String(frame).slice(0, 40));
  }
  assert.ok(bridge.proc.eventCount("bad_message") >= 1);
  // A malformed ZeroMQ message is dropped too.
  await pub.pub.send([new TextEncoder().encode("plant-a/x"), new Uint8Array([0xc1])]);
  await pub.publish("plant-a/temperature/00001", 21.5);
  const [frame] = await waitFor(
    "data at the good client",
    () => good.data.length > 0 && good.data,
    {
      timeoutMs: 10_000,
    },
  );
  assert.equal(frame.value, 21.5);
  assert.equal(frame.seq, 1, "the malformed update took no seq");
  await bridge.proc.event("bad_message", (e) => e.socket === "upstream");
  await bridge.proc.stop();
});

Deno.test("an oversized ZeroMQ frame does not leave the bridge deaf: the upstream is dialled again", async () => {
  // libzmq drops a connection whose peer sent a frame over maxMessageSize (a protocol
  // error) and never reconnects it by itself: before the fix the bridge received nothing
  // more from that publisher.
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint, ["--max-payload", "1024"]);
  await using client = await wsClient(bridge, ["plant-a/"]);
  await pub.subscribed("plant-a/");
  await pub.publish("plant-a/t/1", 1);
  await waitFor("the first value", () => client.data.length === 1, { timeoutMs: 10_000 });
  await pub.publish("plant-a/t/1", 0, 64 * 1024); // > --max-payload + 4096: connection dropped
  await bridge.proc.event("upstream_redial", undefined, { timeout: 20_000 });
  // Publish until a value arrives (messages sent while the bridge is away are not delivered).
  await waitFor("a value after the oversized frame", async () => {
    if (client.data.some((d) => d.value === 2)) return true;
    await pub.publish("plant-a/t/1", 2);
    return false;
  }, { timeoutMs: 20_000, intervalMs: 100 });
  await bridge.proc.stop();
});

Deno.test("browser topics are ZeroMQ subscriptions reference-counted across clients", async () => {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint);
  await using a = await wsClient(bridge, ["plant-a/"]);
  await using b = await wsClient(bridge, ["plant-a/", "plant-b/"]);
  await pub.subscribed("plant-a/");
  await pub.subscribed("plant-b/");
  assert.equal(pub.subscriptions.filter((s) => s === "+plant-a/").length, 1, "subscribed once");
  await pub.publish("plant-a/t/1", 1);
  await pub.publish("plant-b/t/1", 2);
  await waitFor("b has both", () => b.data.length === 2, { timeoutMs: 10_000 });
  await waitFor("a has one", () => a.data.length === 1, { timeoutMs: 10_000 });
  assert.equal(a.data[0].topic, "plant-a/t/1");

  b.send({ type: "unsubscribe", topics: ["plant-a/", "plant-b/"] });
  await waitFor("plant-b released", () => pub.subscriptions.includes("-plant-b/"), {
    timeoutMs: 10_000,
  });
  assert.ok(!pub.subscriptions.includes("-plant-a/"), "a still holds plant-a/");
  a.ws.close();
  await waitFor("plant-a released", () => pub.subscriptions.includes("-plant-a/"), {
    timeoutMs: 10_000,
  });
  await bridge.proc.stop();
});

Deno.test("a slow client is conflated, then live again; one that never reads is closed 4408; a fast one keeps up", async () => {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint, [
    "--slow-timeout",
    "5000",
    "--ping-interval",
    "60000",
    "--ping-timeout",
    "120000",
  ]);
  await using fast = await wsClient(bridge, [""]);
  await pub.subscribed("");
  // With Chromium here, the page is a second fast client (a tab that keeps up).
  await using browser = browserUnavailable() ? undefined : await launchBrowser();
  const page = await browser?.newPage();
  if (page) {
    await page.goto(bridge.pageUrl());
    await page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 });
  }
  // The slow consumers: raw TCP WebSocket clients that send hello and then do not read
  // their sockets, so the kernel buffers fill and the bridge's bufferedAmount grows.
  const hello = JSON.stringify({ type: "hello", topics: [""] });
  await using lagging = await RawWsClient.connect(bridge.port, {});
  await using stuck = await RawWsClient.connect(bridge.port, {});
  await lagging.sendText(hello);
  await stuck.sendText(hello);
  const idOf = async (raw: RawWsClient) =>
    Number(
      (await bridge.proc.event(
        "client_open",
        (e) => e.remote === `127.0.0.1:${raw.conn.localAddr.port}`,
      )).client,
    );
  const laggingId = await idOf(lagging);
  const stuckId = await idOf(stuck);
  const conflating = (id: number) =>
    bridge.proc.eventCount("client_conflating", (e) => e.client === id) > 0;

  // 4 KiB payloads (5.5 KB frames), about 400/s (2 MB/s to each client: well within what
  // a reader keeps up with on a loaded machine), until both slow clients are conflating:
  // first the kernel's socket buffers fill (some MB), then the bridge's bufferedAmount.
  let published = 0;
  await waitFor("both slow clients conflating", async () => {
    for (let i = 0; i < 4; i++) await pub.publish(`blob/${published++ % 5}`, published, 4096);
    return conflating(laggingId) && conflating(stuckId);
  }, { timeoutMs: 60_000, intervalMs: 10 });
  // Final values per topic (readings), then the fast client must have every update.
  for (let round = 0; round < 4; round++) {
    for (let t = 0; t < 5; t++) await pub.publish(`final/${t}`, round * 10 + t);
  }
  const total = published + 20;
  await waitFor(`fast client has all ${total} updates`, () => fast.data.length >= total, {
    timeoutMs: 30_000,
  }).catch((error) => {
    const seqs = fast.data.map((d) => d.seq);
    const gaps = seqs.filter((q, i) => i > 0 && q !== seqs[i - 1] + 1).slice(0, 5);
    const events = bridge.proc.events.filter((e) =>
      e.client === 1 || e.event === "stats" || e.event === "bad_message"
    ).slice(-5);
    throw new Error(
      `${error.message}: fast has ${seqs.length}, last ${seqs.at(-1)}, conflated ${
        fast.data.filter((d) => d.conflated).length
      }, gaps at ${gaps}; ${JSON.stringify(events)}`,
    );
  });
  assert.deepEqual(
    fast.data.map((d) => d.seq),
    Array.from({ length: total }, (_, i) => i + 1),
    "the fast client got every update in order",
  );
  assert.ok(fast.data.every((d) => !d.conflated), "the fast client was never conflated");
  assert.equal(fast.closed, undefined);
  if (page) {
    await withScreenshotOnFailure(page, "lab16-fast-tab", async () => {
      await page.waitForFunction(`window.bridgeClient.lastSeq >= ${total}`, undefined, {
        timeout: 30_000,
      });
      const tab = await page.evaluate("window.bridgeClient") as {
        seqs: number[];
        conflated: number;
      };
      assert.deepEqual(tab.seqs, Array.from({ length: total }, (_, i) => i + 1), "the tab kept up");
      assert.equal(tab.conflated, 0);
    });
  }

  // The lagging client reads again: its buffered frames, then the latest value per topic.
  const latest = new Map<string, { value?: number; conflated?: boolean }>();
  await lagging.read((text) => {
    const m = JSON.parse(text);
    if (m.type === "data") latest.set(m.topic, m);
    return [0, 1, 2, 3, 4].every((t) => latest.get(`final/${t}`)?.value === 30 + t);
  });
  assert.ok([0, 1, 2, 3, 4].every((t) => latest.get(`final/${t}`)?.conflated), "conflated");
  // Its conflated values are flushed, so it is live again: the next update comes as is.
  await pub.publish("after/1", 99);
  let after: { conflated?: boolean } | undefined;
  await lagging.read((text) => {
    const m = JSON.parse(text);
    if (m.type === "data" && m.topic === "after/1") after = m;
    return after !== undefined;
  });
  assert.equal(after?.conflated, undefined, "live again: not conflated");
  assert.ok(bridge.proc.eventCount("client_closing", (e) => e.client === laggingId) === 0);

  // The stuck client never read: closed with 4408 (its close frame waits behind the data).
  await bridge.proc.event(
    "client_closing",
    (e) => e.client === stuckId && e.code === 4408,
    { timeout: 30_000 },
  );
  const ended = await stuck.read(() => false);
  assert.equal(ended.close, 4408);
  assert.equal(fast.closed, undefined, "the fast client is still connected");
  await bridge.proc.stop();
});
