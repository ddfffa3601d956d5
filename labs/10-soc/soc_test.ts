/**
 * Process tests of Lab 10 without containers: the five roles as local processes on
 * ephemeral ports, the scenario end to end, a detector killed mid-run, bad input on every
 * socket. The same scenario runs under docker-compose in compose_test.ts.
 */
import assert from "node:assert/strict";
import { runOnce, spawnRole, tempDir } from "@lib/testing/mod.ts";
import { Push, Request } from "@lib/zmq/mod.ts";
import { decodeVerdict, encodeBody } from "./internal/protocol.ts";
import { EXPECTED_ALERTS } from "./internal/scenario.ts";
import { sinkView, startSoc, waitForAlerts } from "./testing.ts";

const expectedIds = EXPECTED_ALERTS.map((a) => a.alert_id).sort();

Deno.test("the scenario end to end: exactly the documented alerts reach the store, once each", async () => {
  await using dir = await tempDir();
  await using soc = await startSoc(dir.path);
  await using gen = await spawnRole("10", "event_generator", [
    "--detector",
    soc.detectorEndpoint,
    "--alerts",
    soc.alertsEndpoint,
  ]);
  const done = await gen.event("scenario_done", undefined, { timeout: 90_000 });
  assert.equal(done.alerts, expectedIds.length);
  assert.equal((await gen.wait()).code, 0);
  const view = await waitForAlerts(soc.sinkUrl, expectedIds.length);
  assert.deepEqual(view.ids, expectedIds);
  // Severity routing: high and critical alerts on the urgent channel, the medium one routine.
  for (const id of expectedIds) {
    const channel = id === "a6-phish:ioc_domain" ? "routine" : "urgent";
    await soc.sink.event("alert_stored", (e) => e.alert_id === id && e.channel === channel);
  }
  await soc.sink.stop();
});

Deno.test("kill -9 the detector mid-run: the generator retries, a restarted detector resumes from its SQLite history, same alerts", async () => {
  await using dir = await tempDir();
  await using soc = await startSoc(dir.path);
  await using gen = await spawnRole("10", "event_generator", [
    "--detector",
    soc.detectorEndpoint,
    "--alerts",
    soc.alertsEndpoint,
    "--rate",
    "150",
    "--timeout",
    "300",
  ]);
  // The brute force (A1) is scored early; the beacon (A2) and the IOC hits come later.
  await soc.detector.event("finding", (e) => e.rule === "brute_force", { timeout: 60_000 });
  await soc.detector.kill();
  await gen.event("detector_retry", undefined, { timeout: 20_000 });
  const restarted = await soc.startDetector();
  await restarted.event("intel_complete", undefined, { timeout: 20_000 });
  const done = await gen.event("scenario_done", undefined, { timeout: 90_000 });
  assert.ok(Number(done.retries) >= 1, JSON.stringify(done));
  assert.equal((await gen.wait()).code, 0);
  const view = await waitForAlerts(soc.sinkUrl, expectedIds.length);
  assert.deepEqual(view.ids, expectedIds);
  // The beacon's fifth connection came after the restart: history survived it.
  assert.ok(restarted.events.some((e) => e.event === "finding" && e.rule === "beaconing"));
});

Deno.test("the detector answers 503 until its threat intel is complete, 400 to garbage, and keeps serving", async () => {
  await using dir = await tempDir();
  // No feed at this endpoint: the intel never completes.
  await using detector = await spawnRole("10", "anomaly_detector", [
    "--feed",
    `ipc://${dir.path}/nofeed`,
    "--bind",
    "tcp://127.0.0.1:*",
  ]);
  const endpoint = String((await detector.event("listening")).endpoint);
  const req = new Request({ linger: 0, receiveTimeout: 10_000 });
  try {
    req.connect(endpoint);
    await req.send(encodeBody({ id: "e1", ts: 1, kind: "dns", host: "h", dst: "x.example" }));
    assert.equal(decodeVerdict(await req.receive()).status, 503);
    await req.send(["garbage", "more"]);
    const refused = decodeVerdict(await req.receive());
    assert.equal(refused.status, 400);
    assert.match(refused.detail ?? "", /expected 1 frame, got 2/);
    await detector.event("bad_message");
    await req.send(new Uint8Array([0xc1, 0xff])); // not msgpack
    assert.equal(decodeVerdict(await req.receive()).status, 400);
  } finally {
    req.close();
  }
  await detector.stop();
});

Deno.test("garbage into the router and the sink is dropped and logged; both keep working", async () => {
  await using dir = await tempDir();
  await using soc = await startSoc(dir.path);
  const push = new Push({ linger: 1000 });
  try {
    push.connect(soc.alertsEndpoint);
    await push.send(["not", "an", "alert"]);
    await push.send(new TextEncoder().encode("x".repeat(100)));
    await soc.router.event("bad_message");
    const alert = {
      alert_id: "t1:ioc_ip",
      event_id: "t1",
      ts: 1,
      host: "h",
      rule: "ioc_ip" as const,
      severity: "low" as const,
      reason: "test",
    };
    await push.send(encodeBody(alert));
    await push.send(encodeBody(alert)); // a duplicate id
    const view = await waitForAlerts(soc.sinkUrl, 1);
    assert.deepEqual(view.ids, ["t1:ioc_ip"]);
    await soc.router.event("duplicate_dropped");
    await soc.sink.event("alert_stored", (e) => e.channel === "routine");
  } finally {
    push.close();
  }
  // The sink's own sockets: a PUSH bound where a sink connects.
  const rogue = new Push({ linger: 1000 });
  try {
    await rogue.bind(`ipc://${dir.path}/rogue`);
    await using sink = await spawnRole("10", "alert_sink", [
      "--urgent",
      `ipc://${dir.path}/rogue`,
      "--routine",
      `ipc://${dir.path}/rogue2`,
      "--http",
      "127.0.0.1:0",
    ]);
    const url = String((await sink.event("listening")).endpoint);
    await rogue.send(["two", "frames"]);
    await sink.event("bad_message");
    assert.equal((await sinkView(url)).count, 0);
    await sink.stop();
  } finally {
    rogue.close();
  }
});

Deno.test("bad configuration is one line and exit 2; --help works for every role", async () => {
  const bad = await runOnce("10", "threat_feed", ["--indicators", "/nonexistent/feed.json"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^threat_feed: error: .*--indicators/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  const types = await runOnce("10", "anomaly_detector", ["--types", "ip,url"]);
  assert.equal(types.code, 2);
  assert.match(types.stderr, /expected types from ip, domain, hash, got "url"/);
  const db = await runOnce("10", "anomaly_detector", ["--db", "/nonexistent/dir/x.db"]);
  assert.equal(db.code, 2);
  assert.match(db.stderr, /--db .*its directory does not exist/);
  for (
    const role of [
      "threat_feed",
      "anomaly_detector",
      "event_generator",
      "alert_router",
      "alert_sink",
    ]
  ) {
    const help = await runOnce("10", role, ["--help"]);
    assert.equal(help.code, 0, role);
    assert.match(help.stdout, /Usage:/);
  }
});

Deno.test("the router stops cleanly (exit 0) while its sink is down, saying how many alerts it could not deliver", async () => {
  await using router = await spawnRole("10", "alert_router", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--urgent",
    "tcp://127.0.0.1:*",
    "--routine",
    "tcp://127.0.0.1:*",
    "--shutdown-timeout",
    "3000",
  ]);
  const endpoint = String((await router.event("listening")).endpoint);
  const push = new Push({ linger: 1000 });
  try {
    push.connect(endpoint);
    for (let i = 0; i < 2000; i++) {
      await push.send(encodeBody({
        alert_id: `e${i}:ioc_ip`,
        event_id: `e${i}`,
        ts: i,
        host: "h",
        rule: "ioc_ip",
        severity: "critical",
        reason: "flood",
      }));
    }
  } finally {
    push.close();
  }
  // Alerts are held for the absent sink, up to the bound; the rest wait in the PULL queue.
  await router.stop({ timeout: 15_000 }); // asserts exit 0
  const stats = await router.event("router_stats");
  assert.equal(stats.routed, 0);
  assert.ok(Number(stats.pending) > 0, JSON.stringify(stats));
  assert.ok(!router.events.some((e) => e.event === "shutdown_timeout"));
});
