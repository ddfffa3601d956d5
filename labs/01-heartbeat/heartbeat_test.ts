/**
 * Process tests of Lab 01: the real monitor_agent and dashboard processes, run with the
 * manifest's permissions on ephemeral ports, observed through their JSON log events.
 */
import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { assertStopsInTime, rssMiB, runOnce, spawnRole, zmtpPeer } from "@lib/testing/mod.ts";
import { Publisher } from "@lib/zmq/mod.ts";
import { type Heartbeat, heartbeatTopic } from "./internal/protocol.ts";
import { ANY, dashboard, FAST, forceStatus, INTERVAL } from "./testing.ts";

type Event = Record<string, unknown>;

function topicsOf(event: Event): Record<string, number> {
  return event.topics as Record<string, number>;
}

const isNode = (rack: string, node: string) => (e: Event) => e.rack === rack && e.node === node;

Deno.test("rack and alert subscriptions filter on the publisher", async () => {
  await using group = new AsyncDisposableStack(); // kills whatever still runs at the end
  // Four subscribers at once: everything, rack A only, alerts, critical alerts only. The
  // first two log every message that arrives on their socket (`message_received`, debug).
  const debug = ["--log-level", "debug", "--json"];
  const all = await dashboard(debug);
  group.use(all.proc);
  const rackA = await dashboard(["--rack", "A", ...debug]);
  group.use(rackA.proc);
  const alerts = await dashboard(["--alerts-only", "--json"]);
  group.use(alerts.proc);
  const critical = await dashboard(["--alerts-only", "--alert-level", "critical", "--json"]);
  group.use(critical.proc);
  const connect = [all, rackA, alerts, critical].flatMap((d) => ["--connect", d.endpoint]);

  // Six agents at once: five real-host agents with forced statuses, one simulated fleet.
  const hosts: [string, string, "ok" | "warning" | "critical"][] = [
    ["A", "a-warn", "warning"],
    ["A", "a-crit", "critical"],
    ["B", "b-ok", "ok"],
    ["B", "b-warn", "warning"],
    ["B", "b-crit", "critical"],
  ];
  const agents = await Promise.all([
    ...hosts.map(([rack, node, status]) =>
      spawnRole("01", "monitor_agent", [
        ...connect,
        ...FAST,
        ...["--rack", rack, "--node", node, ...forceStatus(status)],
      ])
    ),
    spawnRole("01", "monitor_agent", [
      ...connect,
      ...FAST,
      ...["--fleet", "6", "--racks", "A,B", "--seed", "1"],
    ]),
  ]);
  for (const agent of agents) group.use(agent);

  // Traffic of both racks flows (the unfiltered dashboard sees B alive) ...
  for (const [rack, node] of [["A", "a-warn"], ["B", "b-ok"], ["B", "b-crit"], ["B", "b-01"]]) {
    // Generous: ten processes start at once on a shared machine.
    await all.proc.event("node_state", (e) => isNode(rack, node)(e) && e.to === "alive", {
      timeout: 30_000,
    });
  }
  // ... while rack A's dashboard and both alert systems see what they subscribed to.
  for (const node of ["a-warn", "a-crit", "a-01", "a-02", "a-03"]) {
    await rackA.proc.event("node_state", (e) => isNode("A", node)(e) && e.to === "alive");
  }
  const alertOf = (rack: string, node: string, level: string) => (e: Event) =>
    isNode(rack, node)(e) && e.alert_level === level;
  await alerts.proc.event("alert", alertOf("B", "b-warn", "warning"));
  await alerts.proc.event("alert", alertOf("A", "a-crit", "critical"));
  await critical.proc.event("alert", alertOf("B", "b-crit", "critical"));
  // Keep everyone subscribed while 30 more rack B messages reach the unfiltered dashboard.
  const fromB = (e: Event) => String(e.topic).startsWith("hb.B.");
  const target = all.proc.eventCount("message_received", fromB) + 30;
  await all.proc.event(
    "message_received",
    () => all.proc.eventCount("message_received", fromB) >= target,
  );

  for (const agent of agents) await agent.stop();
  for (const d of [all, rackA, alerts, critical]) await d.proc.stop();

  const received = (d: typeof all) =>
    topicsOf(d.proc.events.find((e: Event) => e.event === "received_topics")!);
  const allTopics = Object.keys(received(all));
  assert.ok(allTopics.some((t) => t.startsWith("hb.B.")), "rack B was being published");
  assert.ok(allTopics.every((t) => t.startsWith("hb.")), allTopics.join(" "));

  // Proof from the socket: every message that arrived at the rack A dashboard is rack A,
  // both per message (debug `message_received`) and in its per-topic receive counter.
  const arrived = rackA.proc.events.filter((e: Event) => e.event === "message_received");
  assert.ok(arrived.length >= 10, `only ${arrived.length} messages reached rack A's dashboard`);
  for (const e of arrived) assert.match(String(e.topic), /^hb\.A\./);
  const aTopics = received(rackA);
  assert.deepEqual(
    Object.keys(aTopics).sort(),
    ["hb.A.a-01", "hb.A.a-02", "hb.A.a-03", "hb.A.a-crit", "hb.A.a-warn"],
  );
  assert.equal(Object.values(aTopics).reduce((a, b) => a + b, 0), arrived.length);

  // The alert system received alert copies only: warning and critical, never ok beats.
  const alertTopics = Object.keys(received(alerts));
  for (const topic of alertTopics) assert.match(topic, /^alert\.(warning|critical)\./);
  for (
    const t of ["alert.warning.A.a-warn", "alert.critical.A.a-crit", "alert.warning.B.b-warn"]
  ) {
    assert.ok(alertTopics.includes(t), `${t} in ${alertTopics.join(" ")}`);
  }
  assert.ok(!alertTopics.some((t) => t.includes("b-ok")));
  assert.equal(alerts.proc.eventCount("node_state"), 0);
  for (const e of alerts.proc.events.filter((e: Event) => e.event === "alert")) {
    assert.ok(e.alert_level === "warning" || e.alert_level === "critical", JSON.stringify(e));
  }

  // The critical-only alert system received critical alerts only.
  const critTopics = Object.keys(received(critical));
  assert.ok(critTopics.includes("alert.critical.B.b-crit"), critTopics.join(" "));
  for (const topic of critTopics) assert.match(topic, /^alert\.critical\./);
});

Deno.test("kill -9 is reported dead within 3 intervals, a restart as a restart", async () => {
  const dash = await dashboard(["--json"]);
  await using _dash = dash.proc;
  const agentArgs = ["--connect", dash.endpoint, ...FAST, "--rack", "A", "--node", "n1"];
  const first = await spawnRole("01", "monitor_agent", agentArgs);
  await using _first = first;
  const alive = await dash.proc.event(
    "node_state",
    (e) => isNode("A", "n1")(e) && e.to === "alive",
  );
  const bootId = String(alive.boot_id);

  await first.kill(); // SIGKILL: no goodbye, the beats just stop
  const killedAt = performance.now();
  const dead = await dash.proc.event(
    "node_state",
    (e) => isNode("A", "n1")(e) && e.to === "dead",
    { timeout: 5000 },
  );
  const elapsed = performance.now() - killedAt;
  // On the dashboard's own clock: more than 3 intervals of silence, at most 3 plus slack
  // (one tick of INTERVAL/4 plus scheduling delay on a loaded 2-core CI box running other
  // suites in parallel).
  const silent = Number(dead.silent_ms);
  const slack = 450;
  assert.ok(silent > 3 * INTERVAL, `dead after ${silent} ms of silence: too early`);
  assert.ok(silent <= 3 * INTERVAL + slack, `dead after ${silent} ms of silence: too late`);
  assert.ok(Number(dead.missed) >= 3, `missed ${dead.missed}`);
  assert.ok(elapsed < 3 * INTERVAL + 1500, `reported ${Math.round(elapsed)} ms after kill -9`);
  assert.ok(
    dash.proc.events.some((e: Event) => e.event === "node_state" && e.to === "suspect"),
    "suspect before dead",
  );

  await using second = await spawnRole("01", "monitor_agent", agentArgs);
  const restart = await dash.proc.event("node_restart", isNode("A", "n1"));
  assert.equal(restart.previous_boot_id, bootId);
  assert.notEqual(restart.boot_id, bootId);
  await dash.proc.event(
    "node_state",
    (e) => isNode("A", "n1")(e) && e.from === "suspect" && e.to === "alive",
  );
  assert.equal(dash.proc.eventCount("seq_gap"), 0, "a restart is not a gap");

  // --json: stdout carries only state-change events, one JSON object per line.
  const line = await dash.proc.stdoutLine((l: string) => l.includes('"node_restart"'));
  assert.equal(JSON.parse(line).previous_boot_id, bootId);
  await second.stop();
  await dash.proc.stop();
  const events = dash.proc.stdoutLines.map((l: string) => JSON.parse(l).event);
  assert.ok(events.length >= 4, events.join(" "));
  for (const event of events) {
    assert.ok(["node_state", "node_status", "node_restart"].includes(event), event);
  }
});

/** A test-owned publisher, connected to a dashboard, that sends crafted frames. */
async function craftedPublisher(dash: Awaited<ReturnType<typeof dashboard>>, node: string) {
  const pub = new Publisher({ linger: 0 });
  pub.connect(dash.endpoint);
  const base: Heartbeat = {
    node,
    rack: "T",
    seq: 0,
    boot_id: crypto.randomUUID(),
    ts: Date.now(),
    status: "ok",
    metrics: { load1: 0.1 },
  };
  const send = (hb: Partial<Heartbeat>) =>
    pub.send([heartbeatTopic("T", node), encode({ ...base, ...hb })]);
  // Slow joiner: publish until the dashboard has seen a beat, so the subscription is in place.
  let seq = 0;
  for (;;) {
    await send({ seq });
    const seen = await dash.proc.event("node_status", isNode("T", node), { timeout: 100 })
      .then(() => true, () => false);
    if (seen) break;
    seq++;
    assert.ok(seq < 100, "the dashboard never saw a crafted beat");
  }
  return { pub, send, lastSeq: seq };
}

Deno.test("a seq gap is counted (and --json prints no gap: it is not a state change)", async () => {
  const dash = await dashboard(["--json"]);
  await using _dash = dash.proc;
  const { pub, send, lastSeq } = await craftedPublisher(dash, "gap");
  try {
    await send({ seq: lastSeq + 1 });
    await send({ seq: lastSeq + 10 }); // beats lastSeq+2 .. lastSeq+9 are lost
    const gap = await dash.proc.event("seq_gap", isNode("T", "gap"));
    assert.equal(gap.expected, lastSeq + 2);
    assert.equal(gap.seq, lastSeq + 10);
    assert.equal(gap.missing, 8);
    await send({ seq: lastSeq + 11 });
    await send({ seq: lastSeq + 13 }); // counted; its line falls in the 5 s rate-limit window
    await send({ seq: lastSeq + 14, status: "warning" });
    await dash.proc.event("node_status", (e) => isNode("T", "gap")(e) && e.to === "warning");
  } finally {
    pub.close();
  }
  await dash.proc.stop();
  const summary = dash.proc.events.find((e: Event) => e.event === "summary")!;
  assert.equal(summary.gaps, 2);
  assert.equal(summary.missing, 9);
  // The gaps were logged, but stdout (--json) carries state changes only.
  const printed = dash.proc.stdoutLines.map((l: string) => JSON.parse(l).event);
  assert.ok(printed.includes("node_status"), printed.join(" "));
  for (const event of printed) assert.ok(event !== "seq_gap" && event !== "seq_stale", event);
});

Deno.test("garbage frames are bad messages and the dashboard keeps running", async () => {
  const dash = await dashboard();
  await using _dash = dash.proc;
  const { pub, send, lastSeq } = await craftedPublisher(dash, "junk");
  const topic = heartbeatTopic("T", "junk");
  const te = new TextEncoder();
  try {
    await pub.send([topic, te.encode("definitely not msgpack")]);
    await pub.send([topic]);
    await pub.send([topic, encode({ node: "junk" }), te.encode("extra")]);
    await pub.send([topic, new Uint8Array(20_000)]);
    await pub.send([topic, encode({ hello: "world" })]);
    await pub.send(["hb.T.other", encode({ node: "junk", rack: "T" })]);
    await pub.send([topic, new Uint8Array([0xc1, 0xff, 0x00])]);
    // Still running, still processing: a valid beat after the garbage changes the status.
    await send({ seq: lastSeq + 1, status: "critical" });
    const status = await dash.proc.event(
      "node_status",
      (e) => isNode("T", "junk")(e) && e.to === "critical",
    );
    assert.equal(status.from, "ok");
    // One line per kind of reason (rate-limited); the two frame-count ones share a kind.
    const reasons = dash.proc.events.filter((e: Event) => e.event === "bad_message")
      .map((e: Event) => String(e.reason));
    assert.ok(reasons.length >= 5 && reasons.length <= 7, reasons.join("\n"));
    assert.ok(reasons.some((r) => /expected 2 frames/.test(r)), reasons.join("\n"));
    assert.ok(reasons.some((r) => /at most 16384 bytes/.test(r)), reasons.join("\n"));
  } finally {
    pub.close();
  }
  await dash.proc.stop();
  const summary = dash.proc.events.find((e: Event) => e.event === "summary")!;
  assert.equal(summary.bad_messages, 7, "every bad message is counted");
});

Deno.test("SIGTERM makes both roles exit 0 (agent binds, dashboard connects)", async () => {
  await using agent = await spawnRole("01", "monitor_agent", [
    "--bind",
    ANY,
    ...FAST,
    "--rack",
    "R",
    "--node",
    "solo",
  ]);
  const { endpoint } = await agent.event("listening");
  await using dash = await spawnRole("01", "dashboard", [
    "--connect",
    String(endpoint),
    ...FAST,
    "--view",
    "plain",
  ]);
  await dash.event("node_state", (e) => isNode("R", "solo")(e) && e.to === "alive");
  await dash.stdoutLine((l: string) => /^R\s+│ ● solo/.test(l)); // the plain view shows it
  await agent.stop(); // asserts exit code 0
  assert.ok(agent.events.some((e: Event) => e.event === "published"));
  assert.ok(agent.events.some((e: Event) => e.event === "stopped"));
  await dash.stop();
  assert.ok(dash.events.some((e: Event) => e.event === "received_topics"));
  assert.ok(dash.events.some((e: Event) => e.event === "stopped"));
});

Deno.test("the ansi view redraws in place over exactly its previous frame", async () => {
  const dash = await dashboard(["--view", "ansi", "--refresh", "50"]);
  await using _dash = dash.proc;
  const frameStart = "\x1b[?7l"; // every ansi frame turns line wrapping off first
  const frames = () => dash.proc.stdoutLines.filter((l: string) => l.includes(frameStart)).length;
  await dash.proc.stdoutLine(() => frames() >= 2); // the empty fleet's view, drawn twice
  const { pub } = await craftedPublisher(dash, "tty"); // a node appears: the frame grows
  try {
    await dash.proc.stdoutLine((l: string) => /│ .*tty/.test(l));
    const target = frames() + 2;
    await dash.proc.stdoutLine(() => frames() >= target);
  } finally {
    pub.close();
  }
  await dash.proc.stop();
  const lines = dash.proc.stdoutLines;
  const starts = lines.flatMap((l: string, i: number) => l.includes(frameStart) ? [i] : []);
  assert.equal(starts[0], 0, "the first frame is drawn where the cursor was");
  assert.ok(lines[0].startsWith(frameStart), JSON.stringify(lines[0]));
  const heights = new Set<number>();
  for (let k = 1; k < starts.length; k++) {
    const previous = starts[k] - starts[k - 1];
    heights.add(previous);
    assert.ok(
      lines[starts[k]].startsWith(`\x1b[${previous}A${frameStart}`),
      `frame ${k} should go up ${previous} lines: ${JSON.stringify(lines[starts[k]])}`,
    );
  }
  assert.ok(heights.size >= 2, `frames of different heights were redrawn: ${[...heights]}`);
  for (const code of ["\x1b[2J", "\x1b[3J", "\x1b[H"]) {
    assert.ok(!lines.some((l: string) => l.includes(code)), `never clears the screen (${code})`);
  }
});

Deno.test("bad options exit 2 with one line; --help lists the options", async () => {
  const cases: [string, string[], RegExp][] = [
    ["dashboard", ["--interval", "x"], /expected an integer in \[10, 3600000\], got "x"/],
    ["dashboard", ["--rack", "A.B"], /expected a rack name/],
    ["dashboard", ["--suspect-after", "3", "--dead-after", "2"], /--dead-after > --suspect-after/],
    ["monitor_agent", ["--racks", "A"], /only with --fleet N/],
    ["monitor_agent", ["--connect", "nowhere"], /expected an endpoint/],
  ];
  for (const [role, args, pattern] of cases) {
    const { code, stderr } = await runOnce("01", role, args);
    assert.equal(code, 2, `${role} ${args.join(" ")}`);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], pattern);
    assert.ok(lines[0].startsWith(`${role}: `), lines[0]);
  }
  const help = await runOnce("01", "dashboard", ["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--rack", "--alerts-only", "--json", "--interval", "DASHBOARD_RACK"]) {
    assert.ok(help.stdout.includes(flag), `${flag} in --help`);
  }
  // One default per repeatable endpoint option, the real one (not also "(default: [])").
  const helpText = help.stdout.replace(/\s+/g, " ");
  assert.match(helpText, /default: tcp:\/\/127\.0\.0\.1:5501 if no --connect/);
  assert.doesNotMatch(helpText, /default: \[\]|\(repeatable; default/);
  const agentHelp = await runOnce("01", "monitor_agent", ["--help"]);
  const agentText = agentHelp.stdout.replace(/\s+/g, " ");
  assert.match(agentText, /default: tcp:\/\/127\.0\.0\.1:5501 if no --bind/);
  assert.doesNotMatch(agentText, /default: \[\]|\(repeatable; default/);
  assert.equal(agentHelp.code, 0);
  for (const flag of ["--connect", "--bind", "--fleet", "--racks", "MONITOR_AGENT_INTERVAL"]) {
    assert.ok(agentHelp.stdout.includes(flag), `${flag} in monitor_agent --help`);
  }
});

Deno.test("options also come from the environment (repeatable ones comma-separated)", async () => {
  await using dash = await spawnRole("01", "dashboard", [], {
    env: {
      DASHBOARD_BIND: ANY,
      DASHBOARD_RACK: "A,C",
      DASHBOARD_ALERTS_ONLY: "1",
      DASHBOARD_ALERT_LEVEL: "critical",
    },
  });
  const subscribed = await dash.event("subscribed");
  assert.deepEqual(subscribed.prefixes, ["alert.critical.A.", "alert.critical.C."]);
  await dash.event("listening");
  await dash.stop();
  const bad = await runOnce("01", "dashboard", [], { env: { DASHBOARD_INTERVAL: "5" } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected an integer in \[10, 3600000\], got "5"/);
  const badAgent = await runOnce("01", "monitor_agent", [], { env: { MONITOR_AGENT_FLEET: "x" } });
  assert.equal(badAgent.code, 2);
  assert.match(badAgent.stderr, /^monitor_agent: error: .*--fleet.*got "x"/);
});

Deno.test("agent --bind: 100,000 long subscriptions drop the sender; RSS flat; SIGTERM works", async () => {
  await using agent = await spawnRole("01", "monitor_agent", [
    "--bind",
    ANY,
    ...FAST,
    "--fleet",
    "50",
    "--shutdown-timeout",
    "3000",
  ]);
  const endpoint = String((await agent.event("listening")).endpoint);
  await agent.event("publishing");
  const before = rssMiB(agent.pid);
  const te = new TextEncoder();
  // 200-byte prefixes > --max-prefix-bytes 128: libzmq drops the connection at the first;
  // a hostile peer reconnects and goes on.
  let offered = 0;
  const until = Date.now() + 20_000;
  while (offered < 100_000 && Date.now() < until) {
    await using peer = await zmtpPeer(endpoint, "XSUB");
    const frames = function* (from: number) {
      for (let i = from; i < 100_000; i++) {
        const frame = new Uint8Array(201).fill(0x78);
        frame[0] = 1;
        frame.set(te.encode(`hb.flood${i}.`), 1);
        yield frame;
      }
    };
    offered += Math.max(1, await peer.sendAll(frames(offered)));
  }
  // A real dashboard still gets its beats afterwards.
  await using dash = await spawnRole("01", "dashboard", ["--connect", endpoint, ...FAST, "--json"]);
  await dash.event("node_state", (e) => e.to === "alive");
  const after = rssMiB(agent.pid);
  assert.ok(after - before < 100, `agent RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB`);
  console.log(
    `agent: ${offered} long subscriptions, RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB`,
  );
  await assertStopsInTime(agent, 3000);
  await dash.stop();
});

Deno.test("dashboard flooded by a fleet with lost beats: few seq_gap lines, stops in time", async () => {
  // Expecting a beat a second, getting one per 10 ms: no liveness flapping to log.
  const dash = await dashboard([
    "--view",
    "none",
    "--interval",
    "1000",
    "--shutdown-timeout",
    "3000",
  ]);
  await using _dash = dash.proc;
  // 1,000 nodes every 10 ms, half of the beats lost: a continuous flood full of gaps.
  await using agent = await spawnRole("01", "monitor_agent", [
    "--connect",
    dash.endpoint,
    "--interval",
    "10",
    "--fleet",
    "1000",
    "--drop-rate",
    "0.5",
    "--seed",
    "1",
  ]);
  await agent.event("publishing");
  await dash.proc.event("seq_gap", undefined, { timeout: 20_000 });
  // Keep flooding for a while, then stop the dashboard while the agent still floods it.
  const started = Date.now();
  await dash.proc.event("node_state", () => Date.now() - started > 3000, { timeout: 20_000 })
    .catch(() => {}); // only a pause under load: what counts is what follows
  const { stoppingMs, exitMs } = await assertStopsInTime(dash.proc, 3000);
  const summary = dash.proc.events.find((e: Event) => e.event === "summary")!;
  const lines = dash.proc.eventCount("seq_gap");
  assert.ok(Number(summary.gaps) > 100, `expected > 100 gaps counted, got ${summary.gaps}`);
  // One line per 5 s window (with a suppressed count): a few, not one per gap.
  assert.ok(lines <= 6, `expected a few seq_gap lines, got ${lines} for ${summary.gaps} gaps`);
  console.log(
    `dashboard under flood: ${summary.gaps} gaps in ${lines} lines; stopping after ${stoppingMs} ms, exit after ${exitMs} ms`,
  );
  await agent.stop();
});

Deno.test("10,000 garbage messages: a few bad_message lines, every one counted", async () => {
  const dash = await dashboard(["--view", "none"]);
  await using _dash = dash.proc;
  const { pub, send, lastSeq } = await craftedPublisher(dash, "junk");
  try {
    const topic = heartbeatTopic("T", "junk");
    const garbage = new TextEncoder().encode("definitely not msgpack");
    for (let i = 0; i < 10_000; i++) await pub.send([topic, garbage]);
    // A valid beat after the garbage (again until seen: the PUB drops at its HWM); once it
    // is seen, all the garbage sent before it was read or dropped.
    for (let seq = lastSeq + 1;; seq++) {
      await send({ seq, status: "critical" });
      const seen = await dash.proc.event(
        "node_status",
        (e) => isNode("T", "junk")(e) && e.to === "critical",
        { timeout: 500 },
      ).then(() => true, () => false);
      if (seen) break;
      assert.ok(seq < lastSeq + 60, "the dashboard never saw the beat after the garbage");
    }
  } finally {
    pub.close();
  }
  await dash.proc.stop();
  const summary = dash.proc.events.find((e: Event) => e.event === "summary")!;
  const lines = dash.proc.eventCount("bad_message");
  assert.ok(Number(summary.bad_messages) >= 1000, `counted ${summary.bad_messages}`);
  assert.ok(lines >= 1 && lines <= 5, `expected 1..5 bad_message lines, got ${lines}`);
});
