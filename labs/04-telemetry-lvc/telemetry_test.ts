/**
 * Process tests of Lab 04: the real telemetry_source, lvc_broker and analyst_terminal
 * processes (manifest permissions, ephemeral ports), observed through their JSON log
 * events and the terminal's `--json` output; plus plain libzmq peers (lib/zmq sockets in
 * this process and a Node zeromq.js process) on either side of the broker.
 */
import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import {
  assertStopsInTime,
  rssMiB,
  runOnce,
  spawnRole,
  waitFor,
  zmtpPeer,
} from "@lib/testing/mod.ts";
import { Subscriber, XPublisher, XSubscriber } from "@lib/zmq/mod.ts";
import {
  decodeHeader,
  decodeReading,
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
} from "./internal/protocol.ts";
import { sensorTopic } from "./internal/sensor_simulator.ts";
import { ANY, type Proc, startBroker, startSource, startTerminal } from "./testing.ts";

const REPLAY_DEADLINE_MS = 100;
const te = new TextEncoder();
const td = new TextDecoder();

type Event = Record<string, unknown>;

interface UpdateLine {
  type: "update";
  verdict: "live" | "replay";
  topic: string;
  seq: number;
  ts: number;
  value: number | null;
  payload_bytes: number;
  latency_ms: number;
  since_subscribe_ms: number;
}

function updates(term: Proc): UpdateLine[] {
  return term.stdoutLines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .filter((x) => x.type === "update");
}

function lastStats(term: Proc): Event | undefined {
  return term.stdoutLines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .filter((x) => x.type === "stats")
    .at(-1);
}

/** Waits until the broker's stats say it received `n` updates. */
function brokerReceived(broker: Proc, n: number, timeout = 10_000) {
  return broker.event("stats", (e) => Number(e.received) >= n, { timeout });
}

/**
 * The source's debug `published` event of `topic`/`seq`. Waits for it: the update can
 * reach a subscriber before this process has read the source's log line.
 */
function publishedEvent(source: Proc, topic: unknown, seq: unknown) {
  return source.event("published", (e) => e.topic === topic && e.seq === seq, { timeout: 5000 });
}

/** The last value the source published for each topic (from its debug `published` events). */
function lastPublished(source: Proc): Map<string, Event> {
  const out = new Map<string, Event>();
  for (const e of source.events) if (e.event === "published") out.set(String(e.topic), e);
  return out;
}

Deno.test("a late joiner gets each subscribed topic's cached value within 100 ms", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  // Publishes 3 rounds of 20 sensors, then idles: the cache holds seq 3 of every topic.
  await using source = await startSource(frontend, [
    "--sensors",
    "20",
    "--count",
    "3",
    "--rate",
    "2000",
    "--seed",
    "7",
    "--log-level",
    "debug",
  ]);
  await source.event("idle");
  await brokerReceived(broker, 60);
  const published = lastPublished(source);

  await using term = await startTerminal(backend, ["plant-a/"]);
  await broker.event("subscribed", (e) => e.prefix === "plant-a/");
  const got = await waitFor("20 replayed topics", () => {
    const u = updates(term);
    return u.length >= 20 && u;
  });
  assert.equal(got.length, 20);
  for (const u of got) {
    const sent = published.get(u.topic);
    assert.ok(sent, `replayed topic ${u.topic} was published`);
    assert.equal(u.verdict, "replay");
    assert.equal(u.seq, 3);
    assert.equal(u.seq, sent.seq);
    assert.equal(u.value, sent.value, `the replay of ${u.topic} is the cached value`);
    assert.ok(
      u.since_subscribe_ms <= REPLAY_DEADLINE_MS,
      `replay of ${u.topic} arrived ${u.since_subscribe_ms} ms after subscribing`,
    );
  }
  assert.deepEqual(new Set(got.map((u) => u.topic)), new Set(published.keys()));
  await term.stop();
  await source.stop();
  await broker.stop();
});

Deno.test("with a live source, the replay comes before any new publish", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  // 5 sensors at 2,000 updates/s: each topic gets a new seq every 2.5 ms, so live updates
  // are in flight in the broker while the joiner's subscription arrives.
  await using source = await startSource(frontend, [
    "--sensors",
    "5",
    "--rate",
    "2000",
    "--seed",
    "3",
    "--log-level",
    "debug",
  ]);
  await brokerReceived(broker, 50);
  await using term = await startTerminal(backend, ["plant-a/"]);
  const topics = Array.from({ length: 5 }, (_, i) => sensorTopic("plant-a", i));
  // Wait until every topic was replayed and then updated live a few times.
  await waitFor("live updates of every topic after its replay", () => {
    const u = updates(term);
    return topics.every((t) => u.filter((x) => x.topic === t && x.verdict === "live").length >= 3);
  });
  const got = updates(term);
  for (const topic of topics) {
    const [first, ...rest] = got.filter((u) => u.topic === topic);
    // The first thing the joiner sees of each topic is the cached value, within 100 ms of
    // its subscribe call (the clock starts before it even connects)...
    assert.equal(first.verdict, "replay", `${topic}: the first update is the replay`);
    assert.ok(
      first.since_subscribe_ms <= REPLAY_DEADLINE_MS,
      `${topic}: replay after ${first.since_subscribe_ms} ms`,
    );
    const original = await publishedEvent(source, topic, first.seq);
    assert.equal(first.value, original.value, `${topic}: the replay is the published value`);
    // ...and every later one is a newer publish, in order, none older or repeated.
    let seq = first.seq;
    for (const u of rest) {
      assert.equal(u.verdict, "live", `${topic}: only the first update is a replay`);
      assert.ok(u.seq > seq, `${topic}: live seq ${u.seq} follows ${seq}`);
      seq = u.seq;
    }
  }
  // No replay reached the terminal as a duplicate of a live update it already had.
  await term.stop();
  assert.equal(Number(lastStats(term)?.duplicates), 0);
  await source.stop();
  await broker.stop();
});

Deno.test("the broker can connect upstream to a source that binds", async () => {
  await using source = await spawnRole("04", "telemetry_source", [
    "--bind",
    ANY,
    "--prefix",
    "bound",
    "--sensors",
    "3",
    "--count",
    "2",
  ]);
  const { endpoint } = await source.event("listening");
  await using broker = await spawnRole("04", "lvc_broker", [
    "--upstream",
    String(endpoint),
    "--backend",
    ANY,
    "--stats-interval",
    "100",
  ]);
  const backend = String((await broker.event("listening", (e) => e.socket === "backend")).endpoint);
  assert.equal(broker.eventCount("listening", (e) => e.socket === "frontend"), 0);
  await source.event("idle");
  await brokerReceived(broker, 6);
  await using term = await startTerminal(backend, ["bound/"]);
  await waitFor("3 replays", () => updates(term).length >= 3);
  assert.deepEqual(
    updates(term).map((u) => [u.topic, u.seq, u.verdict]).sort(),
    [0, 1, 2].map((i) => [sensorTopic("bound", i), 2, "replay"]).sort(),
  );
  await term.stop();
  await broker.stop();
  await source.stop();
});

Deno.test("a prefix subscription gets all matching topics and no others", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  await using a = await startSource(frontend, [
    "--prefix",
    "plant-a",
    "--sensors",
    "25",
    "--count",
    "2",
    "--rate",
    "5000",
  ]);
  await using b = await startSource(frontend, [
    "--prefix",
    "plant-b",
    "--sensors",
    "10",
    "--count",
    "2",
    "--rate",
    "5000",
  ]);
  await a.event("idle");
  await b.event("idle");
  await brokerReceived(broker, 70);

  // Kinds cycle temperature, humidity, pressure, power, vibration: index % 5 picks it.
  const expectTemp = [0, 5, 10, 15, 20].map((i) => sensorTopic("plant-a", i));
  // plant-b/power/ = indices 3, 8; plant-a/humidity/0001 = 00011, 00016 (not 00001).
  const expectMixed = [
    ...[3, 8].map((i) => sensorTopic("plant-b", i)),
    ...[11, 16].map((i) => sensorTopic("plant-a", i)),
  ];
  await using temp = await startTerminal(backend, ["plant-a/temperature/"]);
  await using mixed = await startTerminal(backend, ["plant-b/power/", "plant-a/humidity/0001"]);
  // The broker's cache lookup found exactly the matching topics...
  await broker.event("subscribed", (e) => e.prefix === "plant-a/temperature/" && e.replayed === 5);
  await broker.event("subscribed", (e) => e.prefix === "plant-a/humidity/0001" && e.replayed === 2);
  await broker.event("subscribed", (e) => e.prefix === "plant-b/power/" && e.replayed === 2);
  // ...and the terminals received exactly those.
  await waitFor("temperature replays", () => updates(temp).length >= expectTemp.length);
  await waitFor("mixed replays", () => updates(mixed).length >= expectMixed.length);
  assert.deepEqual(updates(temp).map((u) => u.topic).sort(), expectTemp.sort());
  assert.deepEqual(updates(mixed).map((u) => u.topic).sort(), expectMixed.sort());
  assert.ok(updates(temp).every((u) => u.verdict === "replay" && u.seq === 2));
  await temp.stop();
  await mixed.stop();
  await a.stop();
  await b.stop();
  await broker.stop();
});

Deno.test("two late joiners on the same topic both get its value", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  await using source = await startSource(frontend, [
    "--sensors",
    "5",
    "--count",
    "2",
    "--rate",
    "1000",
  ]);
  await source.event("idle");
  await brokerReceived(broker, 10);
  const topic = sensorTopic("plant-a", 2);

  await using first = await startTerminal(backend, [topic]);
  await waitFor("first joiner's replay", () => updates(first).length === 1);
  await using second = await startTerminal(backend, [topic]);
  await waitFor("second joiner's replay", () => updates(second).length === 1);
  for (const term of [first, second]) {
    const [u] = updates(term);
    assert.equal(u.topic, topic);
    assert.equal(u.verdict, "replay");
    assert.equal(u.seq, 2);
  }
  assert.equal(
    broker.eventCount("subscribed", (e) => e.prefix === topic && e.replayed === 1),
    2,
    "verbose XPUB passed the second, identical subscription to the broker",
  );
  // The second replay also reached the first joiner (XPUB fans out by topic): it is
  // recognised as a duplicate and not shown again.
  await waitFor(
    "first joiner counts the duplicate",
    () => Number(lastStats(first)?.duplicates) === 1,
  );
  assert.equal(updates(first).length, 1);
  await first.stop();
  await second.stop();
  await source.stop();
  await broker.stop();
});

Deno.test("subscriptions reach the sources once, and leave when the last subscriber does", async () => {
  // The broker caches only "cache/" for itself, so "plant-a/" reaches the source only
  // for the terminals: one subscribe for two of them, one unsubscribe after both left.
  const { proc: broker, frontend, backend } = await startBroker([
    "--upstream-prefix",
    "cache/",
  ]);
  await using _broker = broker;
  await using source = await startSource(frontend, ["--sensors", "2", "--rate", "20"]);
  await source.event("subscription", (e) => e.prefix === "cache/" && e.subscribe === true);
  const sourceSaw = (subscribe: boolean) =>
    source.eventCount("subscription", (e) => e.prefix === "plant-a/" && e.subscribe === subscribe);

  await using first = await startTerminal(backend, ["plant-a/"]);
  await source.event("subscription", (e) => e.prefix === "plant-a/" && e.subscribe === true);
  await waitFor("live updates at the first terminal", () => updates(first).length >= 2);
  await using second = await startTerminal(backend, ["plant-a/"]);
  await waitFor(
    "the broker to see both subscriptions",
    () => broker.eventCount("subscribed", (e) => e.prefix === "plant-a/") === 2,
  );
  await first.stop();
  // The broker sees the first terminal's unsubscribe (manual mode passes it on
  // disconnect), but the second still holds the prefix: nothing goes upstream.
  await broker.event("unsubscribed", (e) => e.prefix === "plant-a/");
  const before = updates(second).length;
  await waitFor("the second terminal to stay live", () => updates(second).length >= before + 2);
  assert.equal(sourceSaw(false), 0, "the source still has the subscription");
  await second.stop();
  await source.event("subscription", (e) => e.prefix === "plant-a/" && e.subscribe === false);
  assert.equal(sourceSaw(true), 1);
  assert.equal(sourceSaw(false), 1);
  await source.stop();
  await broker.stop();
});

Deno.test("multipart frames arrive intact, binary payloads above 64 KiB included", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  // A raw SUB in this process sees the exact frames the broker sends.
  await using sub = new Subscriber({ receiveTimeout: 10_000 });
  sub.subscribe("");
  sub.connect(backend);
  await broker.event("subscribed", (e) => e.prefix === "");
  // A plain XPUB in this process publishes crafted frames holding every byte value.
  await using pub = new XPublisher();
  pub.connect(frontend);
  const [subscription] = await pub.receive(); // the broker's own upstream subscription
  assert.deepEqual(subscription, new Uint8Array([1]));
  const blob = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 131 + (i >> 8)) & 0xff);
  const topic = te.encode("raw/\x00bin\xff/1");
  const header = Uint8Array.from(
    encodeHeader({ seq: 1, ts: Date.now(), units: "B", schema: READING_SCHEMA }),
  );
  const payload = encodeReading(Math.PI, blob);
  await pub.send([topic, header, payload]);
  const frames = await sub.receive();
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0], topic);
  assert.deepEqual(frames[1], header);
  assert.deepEqual(frames[2], payload);
  assert.deepEqual(decodeReading(frames[2]).blob, blob);

  // The real source with 70,000-byte blobs through the broker to a terminal, which checks
  // every payload's CRC (a mismatch would be a bad_message).
  await using term = await startTerminal(backend, ["plant-a/"]);
  await broker.event("subscribed", (e) => e.prefix === "plant-a/");
  await using source = await startSource(frontend, [
    "--sensors",
    "3",
    "--count",
    "2",
    "--rate",
    "100",
    "--blob-bytes",
    "70000",
    "--log-level",
    "debug",
  ]);
  await source.event("idle");
  await waitFor("6 live updates", () => updates(term).length >= 6);
  assert.ok(updates(term).every((u) => u.verdict === "live"));
  const published = lastPublished(source);
  for (const u of updates(term)) {
    assert.equal(u.payload_bytes, 70_012);
    const sent = await publishedEvent(source, u.topic, u.seq);
    assert.equal(u.value, sent.value);
  }
  assert.equal(Number(lastStats(term)?.bad ?? 0), 0);
  assert.equal(term.eventCount("bad_message"), 0);
  // Meanwhile the raw SUB got the same 6 updates, each 3 frames and CRC-intact.
  for (let i = 0; i < 6; i++) {
    const f = await sub.receive();
    assert.equal(f.length, 3);
    const h = decodeHeader(f[1]);
    const r = decodeReading(f[2]);
    assert.equal(r.blob.length, 70_000);
    const sent = await publishedEvent(source, td.decode(f[0]), h.seq);
    assert.equal(sent.value, r.value, `raw SUB: ${td.decode(f[0])} seq ${h.seq} intact`);
  }
  assert.equal(published.size, 3);
  await term.stop();
  await source.stop();
  await broker.stop();
});

Deno.test("bad input is logged as bad_message, never forwarded, never cached", async () => {
  const { proc: broker, frontend, backend } = await startBroker(["--max-payload", "1000"]);
  await using _broker = broker;
  await using sub = new Subscriber({ receiveTimeout: 10_000 });
  sub.subscribe("");
  sub.connect(backend);
  await broker.event("subscribed", (e) => e.prefix === "");
  await using pub = new XPublisher();
  pub.connect(frontend);
  await pub.receive(); // the broker's subscription: sends now reach it
  const header = encodeHeader({ seq: 1, ts: Date.now(), units: "x", schema: "opaque" });
  const bad: Uint8Array[][] = [
    [te.encode("bad/1"), header], // 2 frames
    [te.encode("bad/2"), header, new Uint8Array(4), new Uint8Array(4)], // 4 frames
    [te.encode("bad/3"), te.encode("\xc1 not msgpack"), new Uint8Array(4)],
    [te.encode("bad/4"), encode({ seq: "one", ts: 1 }), new Uint8Array(4)], // wrong schema
    [te.encode("bad/5"), header, new Uint8Array(1001)], // oversize payload
    [new Uint8Array(), header, new Uint8Array(4)], // empty topic
  ];
  for (const frames of bad) await pub.send(frames);
  await pub.send([te.encode("good/1"), header, new Uint8Array([1, 2, 3])]);
  const frames = await sub.receive();
  assert.equal(td.decode(frames[0]), "good/1", "the first message through is the good one");
  // One line per reason and 5 s window (rate-limited), every one counted in stats.
  await waitFor("4 bad_message events", () => broker.eventCount("bad_message") >= 4);
  const reasons = broker.events.filter((e) => e.event === "bad_message").map((e) => e.reason);
  assert.deepEqual(reasons, ["frame_count", "bad_header", "oversize", "bad_topic"]);
  await broker.event("stats", (e) => Number(e.bad) === 6);

  // Garbage on the subscriber side (an XSUB may send anything): logged, dropped.
  await using xsub = new XSubscriber();
  xsub.connect(backend);
  await xsub.send(te.encode("\x07hello"));
  await waitFor(
    "downstream bad_message",
    () => broker.events.some((e) => e.event === "bad_message" && e.from === "downstream"),
  );

  // Nothing bad was cached: a new subscriber to everything gets only the good topic.
  await using late = await startTerminal(backend, [""]);
  await broker.event("subscribed", (e) => e.prefix === "" && e.replayed === 1);
  await waitFor("the replay", () => updates(late).length >= 1);
  assert.deepEqual(updates(late).map((u) => u.topic), ["good/1"]);
  const stats = await broker.event("stats", (e) => Number(e.bad) === 7);
  assert.equal(stats.cache_entries, 1);
  assert.equal(stats.forwarded, 1);
  await late.stop();
  await broker.stop();
});

Deno.test("the cache stays within its bounds with 100k topics", async () => {
  const maxEntries = 30_000;
  const maxBytes = 2_000_000;
  const { proc: broker, frontend, backend } = await startBroker([
    "--cache-max-entries",
    String(maxEntries),
    "--cache-max-bytes",
    String(maxBytes),
    "--receive-hwm",
    "200000",
  ]);
  await using _broker = broker;
  await using source = await startSource(frontend, [
    "--sensors",
    "100000",
    "--count",
    "1",
    "--rate",
    "0",
    "--send-hwm",
    "200000",
  ]);
  await source.event("idle", undefined, { timeout: 60_000 });
  const final = await brokerReceived(broker, 100_000, 60_000);
  for (const s of broker.events.filter((e) => e.event === "stats")) {
    assert.ok(Number(s.cache_entries) <= maxEntries, `entries ${s.cache_entries} <= ${maxEntries}`);
    assert.ok(Number(s.cache_bytes) <= maxBytes, `bytes ${s.cache_bytes} <= ${maxBytes}`);
  }
  assert.equal(final.bad, 0);
  assert.ok(Number(final.cache_entries) > 1000, "the cache is in use");
  assert.equal(
    Number(final.cache_entries) + Number(final.cache_evictions),
    100_000,
    "every topic was cached, then the least recently used were evicted",
  );
  // The newest topics are cached, the oldest were evicted.
  await using term = await startTerminal(backend, [
    "plant-a/temperature/9999",
    "plant-a/temperature/0000",
  ]);
  await broker.event(
    "subscribed",
    (e) => e.prefix === "plant-a/temperature/0000" && e.replayed === 0,
  );
  await broker.event(
    "subscribed",
    (e) => e.prefix === "plant-a/temperature/9999" && e.replayed === 2,
  );
  await waitFor("the 2 replays", () => updates(term).length >= 2);
  assert.deepEqual(
    updates(term).map((u) => u.topic).sort(),
    ["plant-a/temperature/99990", "plant-a/temperature/99995"],
  );
  await term.stop();
  await source.stop();
  await broker.stop();
});

/** The workspace's node_modules (repository root). */
const NODE_MODULES = new URL("../../node_modules", import.meta.url).pathname;

/** A Node.js process running testdata/node_peer.cjs (npm zeromq.js). */
class NodePeer implements AsyncDisposable {
  readonly lines: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess;
  #done: Promise<void>;

  constructor(args: string[]) {
    const script = new URL("./testdata/node_peer.cjs", import.meta.url).pathname;
    const child = new Deno.Command("node", {
      args: [script, ...args],
      // zeromq.js and msgpackr as installed for the workspace (`deno install`).
      env: { NODE_PATH: NODE_MODULES },
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    this.#child = child;
    this.#done = (async () => {
      let buffered = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const line of parts) if (line) this.lines.push(JSON.parse(line));
      }
    })();
  }

  of(type: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.type === type);
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#child.status;
    await this.#done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

Deno.test("interop: a zeromq.js PUB upstream and a zeromq.js SUB downstream", async () => {
  const { proc: broker, frontend, backend } = await startBroker();
  await using _broker = broker;
  // Node PUB -> broker -> our terminal.
  await using nodePub = new NodePeer(["pub", frontend, "node", "100", "3", "64"]);
  await waitFor(
    "the broker to receive zeromq.js updates",
    () => broker.events.some((e) => e.event === "stats" && Number(e.received) >= 6),
  );
  await using term = await startTerminal(backend, ["node/sensor/1"]);
  await waitFor(
    "a replay and live updates from the Node publisher",
    () => updates(term).filter((u) => u.verdict === "live").length >= 2,
  );
  for (const u of updates(term)) {
    assert.equal(u.topic, "node/sensor/1");
    // Waits for the Node process's line: the update may be read here before it.
    const original = await waitFor(
      `zeromq.js "sent" line of seq ${u.seq}`,
      () => nodePub.of("sent").find((s) => s.topic === u.topic && s.seq === u.seq),
      { timeoutMs: 5000 },
    );
    assert.equal(u.value, original.value);
  }
  assert.equal(updates(term)[0].verdict, "replay");
  assert.equal(term.eventCount("bad_message"), 0);

  // Our source -> broker -> Node SUB (a late joiner: its first message is the replay).
  await using source = await startSource(frontend, [
    "--prefix",
    "deno",
    "--sensors",
    "4",
    "--rate",
    "40",
    "--log-level",
    "debug",
  ]);
  // Every deno/ topic cached (3 node/ topics + 4 deno/ ones) before the late joiner comes.
  await broker.event("stats", (e) => Number(e.cache_entries) >= 7);
  await using nodeSub = new NodePeer(["sub", backend, "deno/"]);
  await waitFor(
    "zeromq.js SUB to get replays and live updates",
    () => nodeSub.of("received").filter((r) => !(r.header as Event)?.replay).length >= 8,
  );
  const received = nodeSub.of("received");
  for (const r of received) {
    assert.equal(r.frames, 3);
    assert.ok(String(r.topic).startsWith("deno/"), `${r.topic} matches the subscription`);
    assert.equal(r.crc_ok, true, "payload CRC intact");
    const h = r.header as Event;
    const original = await publishedEvent(source, r.topic, h.seq);
    assert.equal(r.value, original.value);
  }
  const firstOfEach = new Map<string, Event>();
  for (const r of received) {
    if (!firstOfEach.has(String(r.topic))) firstOfEach.set(String(r.topic), r);
  }
  assert.equal(firstOfEach.size, 4);
  for (const r of firstOfEach.values()) assert.equal((r.header as Event).replay, true);
  await nodeSub.stop();
  await nodePub.stop();
  await term.stop();
  await source.stop();
  await broker.stop();
});

Deno.test("roles: --help exits 0; bad options exit 2 with one line", async () => {
  for (const role of ["telemetry_source", "lvc_broker", "analyst_terminal"]) {
    await using help = await spawnRole("04", role, ["--help"]);
    assert.equal((await help.wait()).code, 0);
    assert.ok(help.stdoutLines.some((l) => l.includes(`Usage: ${role}`)));
  }
  const bad = await runOnce("04", "telemetry_source", ["--rate", "fast"]);
  assert.equal(bad.code, 2);
  assert.deepEqual(bad.stderr.split("\n"), [
    `telemetry_source: error: option '--rate <n>' argument 'fast' is invalid. ` +
    `expected an integer >= 0, got "fast"`,
  ]);
  const badBroker = await runOnce("04", "lvc_broker", ["--backend", "tcp://nowhere"]);
  assert.equal(badBroker.code, 2);
  assert.match(
    badBroker.stderr,
    /^lvc_broker: error: option '--backend <endpoint>'.* expected an endpoint/,
  );
  const badTerminal = await runOnce("04", "analyst_terminal", ["--topic", "x".repeat(300)]);
  assert.equal(badTerminal.code, 2);
  assert.match(badTerminal.stderr, /expected a topic prefix of at most 256 bytes, got 300 bytes/);
  const badPrefix = await runOnce("04", "lvc_broker", [
    "--max-prefix-bytes",
    "8",
    "--upstream-prefix",
    "plant-a/temperature/",
  ]);
  assert.equal(badPrefix.code, 2, "checked in validate, before any socket opens");
  assert.match(badPrefix.stderr, /expected every --upstream-prefix within --max-prefix-bytes 8/);
});

Deno.test("--help shows one honest default per repeatable option", async () => {
  const cases: [string, RegExp[]][] = [
    ["lvc_broker", [
      /default: tcp:\/\/127\.0\.0\.1:5541 if\s+no --upstream/,
      /default:\s+every topic/,
    ]],
    ["analyst_terminal", [/default: tcp:\/\/127\.0\.0\.1:5542/, /default: every topic/]],
    ["telemetry_source", [/default: tcp:\/\/127\.0\.0\.1:5541 if no --bind/]],
  ];
  for (const [role, defaults] of cases) {
    const help = await runOnce("04", role, ["--help"]);
    assert.equal(help.code, 0);
    const text = help.stdout.replace(/\s+/g, " ");
    assert.doesNotMatch(text, /default: \[\]/, `${role}: no "(default: [])" beside a real default`);
    assert.doesNotMatch(text, /\(repeatable; default/, `${role}: one default, not two`);
    for (const d of defaults) assert.match(text, new RegExp(d.source.replace(/\\s\+/g, " ")));
    assert.match(text, /repeatable or comma-separated/);
  }
});

/** `n` distinct subscription frames (0x01 + prefix) of `bytes` prefix bytes, from `start`. */
function* distinctSubscriptions(start: number, n: number, bytes: number): Generator<Uint8Array> {
  for (let i = start; i < start + n; i++) {
    const frame = new Uint8Array(bytes + 1).fill(0x78); // "x" padding
    frame[0] = 1;
    frame.set(te.encode(`flood/${i}/`), 1);
    yield frame;
  }
}

Deno.test("100,000 long subscriptions: libzmq drops the sender, RSS stays flat, SIGTERM works", async () => {
  const { proc: broker, frontend, backend } = await startBroker(["--shutdown-timeout", "3000"]);
  await using _broker = broker;
  await using source = await startSource(frontend, ["--rate", "50", "--sensors", "5"]);
  await source.event("publishing");
  const before = { broker: rssMiB(broker.pid), source: rssMiB(source.pid) };
  // 200-byte prefixes (the campaign's flood) > --max-prefix-bytes 128: the broker's libzmq
  // drops the connection at the first one; a hostile peer reconnects and goes on.
  let offered = 0;
  const until = Date.now() + 20_000;
  while (offered < 100_000 && Date.now() < until) {
    await using peer = await zmtpPeer(backend, "XSUB");
    offered += Math.max(1, await peer.sendAll(distinctSubscriptions(offered, 20_000, 200)));
  }
  // Anything that got through would be in the broker's counters by now.
  const stats = await broker.event("stats", (e) => Number(e.received) > 0);
  const after = { broker: rssMiB(broker.pid), source: rssMiB(source.pid) };
  assert.equal(stats.subscribed_prefixes, 0);
  assert.ok(
    after.broker - before.broker < 100,
    `broker RSS ${before.broker} -> ${after.broker} MiB`,
  );
  assert.ok(
    after.source - before.source < 100,
    `source RSS ${before.source} -> ${after.source} MiB`,
  );
  assert.equal(source.eventCount("subscription", (e) => String(e.prefix).startsWith("flood/")), 0);
  console.log(
    `flood of ${offered} long subscriptions: broker RSS ${before.broker.toFixed(0)} -> ${
      after.broker.toFixed(0)
    } MiB, source ${before.source.toFixed(0)} -> ${after.source.toFixed(0)} MiB`,
  );
  await assertStopsInTime(broker, 3000);
  await source.stop();
});

Deno.test("distinct subscriptions past --max-subscriptions are refused, counted, freed on leave", async () => {
  const { proc: broker, frontend, backend } = await startBroker([
    "--max-subscriptions",
    "1000",
    "--shutdown-timeout",
    "3000",
  ]);
  await using _broker = broker;
  await using source = await startSource(frontend, ["--rate", "50", "--sensors", "5"]);
  await source.event("publishing");
  const before = rssMiB(broker.pid);
  const peer = await zmtpPeer(backend, "XSUB");
  try {
    assert.equal(await peer.sendAll(distinctSubscriptions(0, 20_000, 32)), 20_000);
    const full = await broker.event(
      "stats",
      (e) => Number(e.subscriptions_refused) === 19_000,
      { timeout: 60_000 },
    );
    assert.equal(full.subscribed_prefixes, 1000);
    // Only the accepted ones went upstream: the source saw 1000 (+ the broker's own "").
    await waitFor(
      "1000 forwarded subscriptions at the source",
      () => source.eventCount("subscription", (e) => e.subscribe === true) >= 1001,
      { timeoutMs: 30_000 },
    );
    assert.equal(source.eventCount("subscription", (e) => e.subscribe === true), 1001);
    // libzmq keeps its own record of the peer's 20,000 prefixes until it leaves; the
    // broker's state is bounded: well under 150 MiB for all of it.
    const growth = rssMiB(broker.pid) - before;
    assert.ok(growth < 150, `broker RSS grew ${growth.toFixed(0)} MiB`);
    // Refusals are logged once per reason and window, not once each.
    assert.ok(broker.eventCount("subscription_refused") <= 3);
    assert.equal(
      broker.eventCount("subscribed", (e) => String(e.prefix).startsWith("flood/")),
      1000,
    );
  } finally {
    peer.close();
  }
  // The peer left: every prefix of it is released here and upstream.
  const freed = await broker.event(
    "stats",
    (e) => Number(e.subscribed_prefixes) === 0 && Number(e.unsubscriptions) >= 20_000,
    { timeout: 60_000 },
  );
  assert.equal(freed.subscriptions_refused, 19_000);
  await waitFor(
    "1000 cancels at the source",
    () => source.eventCount("subscription", (e) => e.subscribe === false) >= 1000,
    { timeoutMs: 30_000 },
  );
  await assertStopsInTime(broker, 3000);
  await source.stop();
});

Deno.test("under a flood from a source, stats keep coming and SIGTERM is honoured in time", async () => {
  const { proc: broker, frontend } = await startBroker([
    "--stats-interval",
    "1000",
    "--shutdown-timeout",
    "3000",
  ]);
  await using _broker = broker;
  // As fast as the source can: a continuous flood on the broker's frontend.
  await using source = await startSource(frontend, ["--rate", "0", "--sensors", "1000"]);
  await source.event("publishing");
  await brokerReceived(broker, 20_000, 30_000);
  const seen = broker.eventCount("stats");
  await waitFor(
    "3 more stats lines under the flood",
    () => broker.eventCount("stats") >= seen + 3,
    {
      timeoutMs: 15_000,
    },
  );
  const { stoppingMs, exitMs } = await assertStopsInTime(broker, 3000);
  console.log(`broker under flood: stopping after ${stoppingMs} ms, exit after ${exitMs} ms`);
  await source.stop();
});

Deno.test("a bad publisher flooding 10,000 bad updates gets a few bad_message lines", async () => {
  const { proc: broker, frontend } = await startBroker();
  await using _broker = broker;
  await using pub = new XPublisher({ sendHighWaterMark: 0 }); // no HWM drops here
  pub.connect(frontend);
  await pub.receive(); // the broker's subscription: sends now reach it
  const header = encodeHeader({ seq: 1, ts: Date.now(), units: "x", schema: "opaque" });
  for (let i = 0; i < 10_000; i++) await pub.send([te.encode(`bad/${i}`), header]);
  await broker.event("stats", (e) => Number(e.bad) === 10_000, { timeout: 30_000 });
  const lines = broker.eventCount("bad_message");
  assert.ok(lines >= 1 && lines <= 5, `expected 1..5 bad_message lines, got ${lines}`);
  await broker.stop();
});
