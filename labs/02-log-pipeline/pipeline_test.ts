/**
 * Process tests of Lab 02: real log_collector, log_parser and storage_writer processes on
 * ephemeral ports, with temp dirs. Each test asserts a delivery guarantee from the files
 * the sink wrote and from the roles' JSON log events.
 */
import assert from "node:assert/strict";
import { type SpawnOptions, spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Anonymiser } from "./internal/anonymiser.ts";
import { LogGenerator } from "./internal/generator.ts";
import { PATHOLOGICAL_LINES } from "./testing.ts";
import { seededRandom } from "@lib/random/mod.ts";

const SECRET = "integration-test-secret-0123456789";
type Proc = Awaited<ReturnType<typeof spawnRole>>;
type Ev = Record<string, unknown>;

async function startSink(dir: string, extra: string[] = []) {
  const sink = await spawnRole("02", "storage_writer", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--ack-bind",
    "tcp://127.0.0.1:*",
    "--out-dir",
    dir,
    "--stats-interval",
    "100",
    ...extra,
  ]);
  const data = await sink.event("listening", (e: Ev) => e.channel === "data");
  const acks = await sink.event("listening", (e: Ev) => e.channel === "acks");
  return { sink, data: String(data.endpoint), acks: String(acks.endpoint) };
}

async function startCollector(acks: string, args: string[], options: SpawnOptions = {}) {
  const collector = await spawnRole("02", "log_collector", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--acks",
    acks,
    "--stats-interval",
    "100",
    ...args,
  ], options);
  const listening = await collector.event("listening");
  return { collector, endpoint: String(listening.endpoint), run: String(listening.run) };
}

function startParser(collector: string, sink: string, extra: string[] = []): Promise<Proc> {
  // The secret comes from the environment (LOG_PARSER_SECRET), as in production.
  return spawnRole("02", "log_parser", ["--collector", collector, "--sink", sink, ...extra], {
    env: { LOG_PARSER_SECRET: SECRET },
  });
}

/** Every NDJSON line of files named `<prefix>-*.ndjson` in `dir`, parsed. */
function readNdjson(dir: string, prefix: string): Ev[] {
  const out: Ev[] = [];
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.startsWith(`${prefix}-`)
  ).sort();
  for (const f of files) {
    for (const line of Deno.readTextFileSync(`${dir}/${f}`).split("\n")) {
      if (line) out.push(JSON.parse(line));
    }
  }
  return out;
}

function idOf(record: Ev): string {
  return String((record.event as Ev).id);
}

/** The sink's final counts: the JSON line it prints on stdout at exit. */
async function stopSink(sink: Proc): Promise<Ev> {
  await sink.stop({ timeout: 10_000 });
  const line = await sink.stdoutLine((l: string) => l.includes('"stored"'), { timeout: 1000 });
  return JSON.parse(line);
}

/** Runs a collector over `collectorArgs` with one parser until it drained; returns the sink's counts. */
async function storeAll(out: string, collectorArgs: string[], timeout = 60_000) {
  const { sink, data, acks } = await startSink(out);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, collectorArgs);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  await collector.event("drained", undefined, { timeout });
  assert.equal((await collector.wait()).code, 0);
  await parser.stop();
  return { run, collector, counts: await stopSink(sink) };
}

/** Asserts storage holds exactly `total` distinct line positions of `run`, each once. */
function assertExactlyOnce(dir: string, run: string, total: number, counts: Ev) {
  const records = readNdjson(dir, "records");
  const dead = readNdjson(dir, "dead-letter");
  assert.equal(
    Number(counts.stored) + Number(counts.dead_lettered),
    total,
    `counts ${JSON.stringify(counts)}`,
  );
  assert.equal(records.length, counts.stored, "record files hold what the sink counted");
  assert.equal(dead.length, counts.dead_lettered, "dead-letter files hold what the sink counted");
  const ids = new Set([...records, ...dead].map(idOf));
  assert.equal(ids.size, total, "no record id appears twice");
  for (const id of ids) assert.ok(id.startsWith(`${run}-`), id);
  return { records, dead };
}

Deno.test("100,000 generated lines through 3 parsers are stored exactly once", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "100000",
    "--seed",
    "1",
    "--batch-size",
    "500",
  ]);
  await using _c = collector;
  const parsers = await Promise.all([0, 1, 2].map(() => startParser(endpoint, data)));
  try {
    await collector.event("drained", undefined, { timeout: 120_000 });
    assert.equal((await collector.wait()).code, 0);
    for (const p of parsers) await p.stop();
    const counts = await stopSink(sink);
    assert.equal(counts.received, 100_000);
    const { dead } = assertExactlyOnce(dir.path, run, 100_000, counts);
    assert.ok(dead.length > 0, "the generator's malformed lines are dead-lettered");
    const parsed = parsers.map((p) =>
      p.events.filter((e: Ev) => e.event === "stats").at(-1)?.batches as number
    );
    assert.ok(parsed.every((n) => n > 0), `every parser did work: ${parsed}`);
  } finally {
    for (const p of parsers) await p[Symbol.asyncDispose]();
  }
});

Deno.test("kill -9 of a parser holding batches loses nothing", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "30000",
    "--rate",
    "6000",
    "--batch-size",
    "200",
    "--ack-timeout",
    "800",
  ]);
  await using _c = collector;
  const victim = await startParser(endpoint, data, ["--log-level", "debug"]);
  const others = await Promise.all([0, 1].map(() => startParser(endpoint, data)));
  try {
    await victim.event("batch_parsed", undefined, { timeout: 20_000 });
    // Freeze the victim so batches pile up in its pipes, prove they were re-sent, then kill it.
    Deno.kill(victim.pid, "SIGSTOP");
    const resend = await collector.event("resend", undefined, { timeout: 20_000 });
    assert.ok(Number(resend.seq) >= 0);
    await victim.kill();
    await collector.event("drained", undefined, { timeout: 60_000 });
    assert.equal((await collector.wait()).code, 0);
    for (const p of others) await p.stop();
    const counts = await stopSink(sink);
    assertExactlyOnce(dir.path, run, 30_000, counts);
  } finally {
    await victim[Symbol.asyncDispose]();
    for (const p of others) await p[Symbol.asyncDispose]();
  }
});

Deno.test("a slow sink slows the collector down: bounded in-flight lines and memory", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path, ["--write-delay", "25"]);
  await using _s = sink;
  const WINDOW = 8, BATCH = 100, TOTAL = 20_000;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    String(TOTAL),
    "--batch-size",
    String(BATCH),
    "--window",
    String(WINDOW),
    "--ack-timeout",
    "30000",
  ]);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  await collector.event("drained", undefined, { timeout: 60_000 });
  assert.equal((await collector.wait()).code, 0);
  const stats = collector.events.filter((e: Ev) => e.event === "stats");
  assert.ok(stats.length >= 10, `a 25 ms/batch sink takes >= 5 s: got ${stats.length} stats`);
  // The explicit bound: lines read but not acknowledged <= window x batch + one partial batch.
  const bound = WINDOW * BATCH + BATCH;
  for (const s of stats) {
    const unacked = Number(s.lines) - Number(s.acked_lines);
    assert.ok(unacked <= bound, `unacked lines ${unacked} > bound ${bound}`);
    assert.ok(Number(s.in_flight) <= WINDOW);
  }
  assert.ok(
    stats.some((s: Ev) => s.in_flight === WINDOW),
    "the window filled up (the sink was the bottleneck)",
  );
  const midway = stats.filter((s: Ev) => Number(s.acked_lines) < TOTAL / 2);
  assert.ok(
    midway.every((s: Ev) => Number(s.lines) < TOTAL / 2 + bound),
    "reading kept pace with the sink",
  );
  const heap = Math.max(...stats.map((s: Ev) => Number(s.heap_used)));
  assert.ok(heap < 64 * 1024 * 1024, `collector heap ${heap} stays under 64 MiB`);
  await parser.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(dir.path, run, TOTAL, counts);
});

Deno.test("a storage_writer killed with -9 and restarted on the same dir stores nothing twice", async () => {
  await using dir = await tempDir();
  const data = `ipc://${dir.path}/data.sock`, ackEndpoint = `ipc://${dir.path}/acks.sock`;
  const out = `${dir.path}/out`;
  const sinkArgs = [
    "--bind",
    data,
    "--ack-bind",
    ackEndpoint,
    "--out-dir",
    out,
    "--stats-interval",
    "100",
  ];
  await using first = await spawnRole("02", "storage_writer", sinkArgs);
  await first.event("listening", (e: Ev) => e.channel === "acks");
  const { collector, endpoint, run } = await startCollector(ackEndpoint, [
    "--generate",
    "30000",
    "--rate",
    "8000",
    "--batch-size",
    "200",
    "--ack-timeout",
    "800",
  ]);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  await first.event("counts", (e: Ev) => Number(e.stored) > 5000, { timeout: 20_000 });
  await first.kill();
  await using second = await spawnRole("02", "storage_writer", sinkArgs);
  await collector.event("drained", undefined, { timeout: 60_000 });
  assert.equal((await collector.wait()).code, 0);
  await parser.stop();
  const counts = await stopSink(second);
  assert.ok(
    Number(counts.stored) + Number(counts.dead_lettered) < 30_000,
    "the second sink took over mid-run",
  );
  // Counts of the second process cover only its part; the files must still hold each line once.
  const ids = [...readNdjson(out, "records"), ...readNdjson(out, "dead-letter")].map(idOf);
  assert.equal(ids.length, 30_000, "every line stored, none twice");
  assert.equal(new Set(ids).size, 30_000);
  assert.ok(ids.every((id) => id.startsWith(`${run}-`)));
});

Deno.test("a collector killed with -9 resumes from its checkpoint: every input line stored exactly once", async () => {
  await using dir = await tempDir();
  const gen = new LogGenerator({ random: seededRandom(11), malformedRatio: 0.03 });
  const total = 12_000;
  const input = `${dir.path}/in`;
  Deno.mkdirSync(input);
  // Two files: batches span the file boundary, so replays need multi-file byte ranges.
  const lines = Array.from({ length: total }, () => gen.next());
  Deno.writeTextFileSync(`${input}/a.log`, lines.slice(0, 7_000).join("\n") + "\n");
  Deno.writeTextFileSync(`${input}/b.log`, lines.slice(7_000).join("\n") + "\n");
  const checkpoint = `${dir.path}/collector.checkpoint.json`;
  const out = `${dir.path}/out`;
  // A slow sink keeps a full window of unacknowledged batches at the moment of the kill.
  const { sink, data, acks } = await startSink(out, ["--write-delay", "15"]);
  await using _s = sink;
  const args = [
    "--bind", // the restarted collector binds the same endpoint: the parser reconnects
    `ipc://${dir.path}/batches.sock`,
    "--input",
    input,
    "--checkpoint",
    checkpoint,
    "--batch-size",
    "150",
    "--window",
    "8",
    "--ack-timeout",
    "1000",
  ];
  const first = await startCollector(acks, args);
  await using _c1 = first.collector;
  // The parser may hold the whole window (its credit): so freezing it strands all 8.
  await using parser = await startParser(first.endpoint, data, ["--window", "8"]);
  await first.collector.event("stats", (e: Ev) => Number(e.acked_lines) >= 3_000, {
    timeout: 30_000,
  });
  // Freeze the parser so the window fills with batches stuck in its pipes, wait until the
  // sink has stored everything else (no ack in a stats interval), then kill both: only
  // the checkpoint's replay of the pending batches can bring those lines back.
  const stoppedAt = new Date().toISOString();
  Deno.kill(parser.pid, "SIGSTOP");
  let lastAcked = -1;
  await first.collector.event("stats", (e: Ev) => {
    if (String(e.ts) <= stoppedAt) return false;
    const stuck = Number(e.in_flight) === 8 && Number(e.acked_batches) === lastAcked;
    lastAcked = Number(e.acked_batches);
    return stuck;
  }, { timeout: 20_000 });
  await first.collector.kill();
  await parser.kill();
  const atKill = JSON.parse(Deno.readTextFileSync(checkpoint));
  assert.ok(atKill.pending.length > 0, "batches were in flight when the collector died");
  assert.ok(atKill.next_seq * 150 < total, "the collector died before reading everything");

  const second = await startCollector(acks, args);
  await using _c2 = second.collector;
  await using parser2 = await startParser(second.endpoint, data);
  assert.equal(second.run, first.run, "a resumed run keeps its id (the dedup key)");
  const loaded = await second.collector.event("checkpoint_loaded");
  assert.equal(loaded.pending, atKill.pending.length);
  await second.collector.event("drained", undefined, { timeout: 60_000 });
  assert.equal((await second.collector.wait()).code, 0);
  await parser2.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(out, first.run, total, counts);
  assert.ok(second.collector.eventCount("replayed") > 0, "pending batches were re-sent");
  const done = JSON.parse(Deno.readTextFileSync(checkpoint));
  assert.deepEqual(done.pending, [], "nothing left unacknowledged");
});

Deno.test("dedup survives a kill -9 of the sink: a batch re-sent after the restart is acked, not stored", async () => {
  const { Dealer, Push } = await import("@lib/zmq/mod.ts");
  const { decodeAck, encodeParsed } = await import("./internal/protocol.ts");
  await using dir = await tempDir();
  const data = `ipc://${dir.path}/data.sock`, ackEndpoint = `ipc://${dir.path}/acks.sock`;
  const sinkArgs = ["--bind", data, "--ack-bind", ackEndpoint, "--out-dir", dir.path];
  const run = "00112233aabbccdd";
  await using acks = new Dealer({ routingId: run, linger: 0, receiveTimeout: 200 });
  await using push = new Push({ linger: 0 });
  acks.connect(ackEndpoint);
  push.connect(data);
  const PROBE = 1000;
  const batch = (seq: number) =>
    encodeParsed({
      run,
      seq,
      lines: 2,
      count: 1,
      records: JSON.stringify({ event: { id: `${run}-${seq}-0` } }) + "\n",
      dead: [{ index: 1, reason: "test", line: "x" }],
      parser: "test",
    });
  // The sink drops acks while our DEALER is not connected yet: probe until one comes back.
  const probe = async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await push.send(batch(PROBE));
      try {
        if (decodeAck(await acks.receive()).seq === PROBE) return;
      } catch {
        // EAGAIN: no ack within 200 ms, send the probe again
      }
    }
    throw new Error("no ack for the probe batch within 10 s");
  };
  const sendAll = async (seqs: number[]) => {
    await probe();
    for (const seq of seqs) await push.send(batch(seq));
    const got = new Map<number, boolean>();
    const deadline = Date.now() + 10_000;
    while (got.size < seqs.length && Date.now() < deadline) {
      try {
        const ack = decodeAck(await acks.receive());
        if (ack.seq !== PROBE) got.set(ack.seq, ack.duplicate);
      } catch {
        // EAGAIN: keep waiting until the deadline
      }
    }
    return [...got].sort((a, b) => a[0] - b[0]);
  };
  await using first = await spawnRole("02", "storage_writer", sinkArgs);
  await first.event("listening", (e: Ev) => e.channel === "acks");
  const firstAcks = await sendAll([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(firstAcks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => [seq, false]));
  await first.kill(); // no shutdown: dedup state is only in the journal
  await using second = await spawnRole("02", "storage_writer", sinkArgs);
  await second.event("listening", (e: Ev) => e.channel === "acks");
  const secondAcks = await sendAll([5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(secondAcks, [
    [5, true],
    [6, true],
    [7, true],
    [8, true],
    [9, true],
    [10, false],
    [11, false],
  ]);
  const counts = await stopSink(second);
  assert.deepEqual([counts.stored, counts.dead_lettered], [2, 2], "only 10 and 11 are new");
  assert.ok(Number(counts.duplicates) >= 6, "5 re-sent batches + the probe(s)");
  const ids = readNdjson(dir.path, "records").map(idOf);
  assert.equal(ids.length, 13, "seqs 0..11 and the probe, once each");
  assert.equal(new Set(ids).size, 13);
});

Deno.test("SIGTERM drains: every line the collector accepted is stored before it exits", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path, ["--write-delay", "10"]);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "1000000",
    "--batch-size",
    "100",
    "--window",
    "16",
  ]);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  await sink.event("counts", (e: Ev) => Number(e.stored) > 2000, { timeout: 20_000 });
  const before = collector.events.filter((e: Ev) => e.event === "stats").at(-1)!;
  assert.ok(Number(before.in_flight) > 0, "batches are in flight when the signal arrives");
  await collector.stop({ timeout: 10_000 });
  assert.ok(collector.events.some((e: Ev) => e.event === "drained"), "collector logged drained");
  const summary = JSON.parse(await collector.stdoutLine((l: string) => l.includes('"drained"')));
  assert.equal(summary.drained, true);
  assert.ok(summary.lines < 1_000_000, "reading stopped at the signal");
  await parser.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(dir.path, run, summary.lines, counts);
});

Deno.test("SIGTERM to every role at once (Ctrl+C on the demo) still stores every accepted line once", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "1000000",
    "--rate",
    "20000",
    "--batch-size",
    "200",
  ]);
  await using _c = collector;
  await using p1 = await startParser(endpoint, data);
  await using p2 = await startParser(endpoint, data);
  await sink.event("counts", (e: Ev) => Number(e.stored) > 3000, { timeout: 20_000 });
  for (const p of [sink, p1, p2, collector]) p.signal("SIGTERM");
  for (const p of [collector, p1, p2, sink]) assert.equal((await p.wait()).code, 0);
  const summary = JSON.parse(await collector.stdoutLine((l: string) => l.includes('"drained"')));
  assert.equal(summary.drained, true);
  const counts = JSON.parse(await sink.stdoutLine((l: string) => l.includes('"stored"')));
  assertExactlyOnce(dir.path, run, summary.lines, counts);
});

Deno.test("file input: no raw address or user name reaches storage; failures are dead-lettered with a reason", async () => {
  await using dir = await tempDir();
  const input = `${dir.path}/in`;
  Deno.mkdirSync(input);
  const gen = new LogGenerator({ random: seededRandom(7), malformedRatio: 0.05 });
  const lines = Array.from({ length: 3000 }, () => gen.next());
  const crafted = [
    '2001:db8:aa::17 - zoe.quinn [26/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8"',
    "<86>1 2026-11-26T10:00:00Z 198.51.100.23 sshd 77 - - Failed password for invalid user yuri.petrov from 198.51.100.99 port 4 ssh2",
    '{"ts":"2026-11-26T10:00:00Z","msg":"card 4111-1111-1111-1111 mail zoe@example.org","remote_ip":"::ffff:198.51.100.7","user":"xavier.ortiz"}',
  ];
  const malformed = [
    "<7>1 not-a-time host app - - - x from 198.51.100.50",
    "just some text from 198.51.100.51",
  ];
  Deno.writeTextFileSync(
    `${input}/a.log`,
    lines.slice(0, 1500).join("\n") + "\n" + crafted.join("\n") + "\n",
  );
  Deno.writeTextFileSync(
    `${input}/b.log`,
    lines.slice(1500).join("\n") + "\n" + malformed.join("\n"),
  );
  const total = lines.length + crafted.length + malformed.length;
  const out = `${dir.path}/out`;
  const { run, counts } = await storeAll(out, ["--input", input, "--batch-size", "250"]);
  const { records, dead } = assertExactlyOnce(out, run, total, counts);

  const stored = [...Deno.readDirSync(out)].map((e) => Deno.readTextFileSync(`${out}/${e.name}`))
    .join("\n");
  const raw = [
    ...gen.addresses,
    ...gen.users,
    "2001:db8:aa::17",
    "198.51.100.",
    "zoe.quinn",
    "yuri.petrov",
    "xavier.ortiz",
    "zoe@example.org",
    "4111-1111",
  ];
  for (const r of raw) assert.ok(!stored.includes(r), `raw value ${r} survived into storage`);
  const anon = new Anonymiser(SECRET);
  const access = records.find((r) => (r.user as Ev | undefined)?.name === anon.user("zoe.quinn"));
  assert.deepEqual(
    access?.source,
    { ip: anon.ip("2001:db8:aa::17") },
    "same input + secret = same token",
  );
  const json = records.find((r) => (r.user as Ev | undefined)?.name === anon.user("xavier.ortiz"))!;
  assert.equal(json.message, "card [REDACTED:card] mail [REDACTED:email]");

  const reasons = dead.map((d) => String((d.error as Ev).message));
  assert.ok(reasons.every((r) => r.length > 10), "every dead letter has a reason");
  assert.ok(reasons.some((r) => r.includes('expected an RFC 3339 TIMESTAMP, got "not-a-time"')));
  assert.ok(reasons.some((r) => r.startsWith("unrecognised format")));
  const originals = dead.map((d) => String((d.log as Ev).original));
  assert.ok(
    originals.some((o) => /^just some text from ip_[0-9a-f]{16}$/.test(o)),
    "dead letters keep the scrubbed line",
  );
});

Deno.test("follow mode tails a directory: appended lines and new files are shipped", async () => {
  await using dir = await tempDir();
  const input = `${dir.path}/in`;
  Deno.mkdirSync(input);
  const gen = new LogGenerator({ random: seededRandom(3), malformedRatio: 0 });
  const chunk = (n: number) => Array.from({ length: n }, () => gen.next()).join("\n") + "\n";
  Deno.writeTextFileSync(`${input}/app.log`, chunk(250));
  const { sink, data, acks } = await startSink(`${dir.path}/out`);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--input",
    input,
    "--follow",
    "--poll-interval",
    "50",
    "--batch-size",
    "100",
    "--flush-interval",
    "200",
  ]);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  // 250 lines = 2 full batches + a partial one, which --flush-interval sends.
  await sink.event("counts", (e: Ev) => Number(e.received) === 250, { timeout: 20_000 });
  Deno.writeTextFileSync(`${input}/app.log`, chunk(170), { append: true });
  Deno.writeTextFileSync(`${input}/later.log`, chunk(55));
  await sink.event("counts", (e: Ev) => Number(e.received) === 475, { timeout: 20_000 });
  await collector.stop();
  await parser.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(`${dir.path}/out`, run, 475, counts);
});

Deno.test("bad input on every socket is logged as bad_message and dropped", async () => {
  const { Dealer, Push, Router } = await import("@lib/zmq/mod.ts");
  await using dir = await tempDir();
  const { sink, data } = await startSink(dir.path);
  await using _s = sink;
  await using fakeCollector = new Router({ linger: 0, routerMandatory: true });
  await fakeCollector.bind("tcp://127.0.0.1:*");
  await using parser = await startParser(fakeCollector.lastEndpoint!, data);
  // The parser announces itself with a credit report: its routing id addresses it.
  const [peer, , type] = await fakeCollector.receive();
  assert.equal(new TextDecoder().decode(type), "CREDIT");
  await fakeCollector.send([peer, "LOGPIPE/1", "BATCH"]);
  await fakeCollector.send([peer, "LOGPIPE/1", "BATCH", new Uint8Array([0xc1, 0xff])]);
  await fakeCollector.send([peer, "HTTP/1.1", "GET", "/"]);
  await parser.event("bad_message", (e: Ev) => e.reason === "expected 3 frames, got 2", {
    timeout: 10_000,
  });
  await parser.event(
    "bad_message",
    (e: Ev) => String(e.reason).startsWith("expected protocol LOGPIPE/1"),
  );
  assert.equal(parser.eventCount("bad_message"), 3);

  await using toSink = new Push({ linger: 0 });
  toSink.connect(data);
  await toSink.send(["LOGPIPE/1", "PARSED", new Uint8Array([1, 2, 3])]);
  await sink.event("bad_message", (e: Ev) => e.socket === "data", { timeout: 10_000 });

  await using fakeSink = new Router({ linger: 0 });
  await fakeSink.bind("tcp://127.0.0.1:*");
  const { collector, run } = await startCollector(fakeSink.lastEndpoint!, ["--input", "-"], {
    stdin: "piped",
  });
  await using _c = collector;
  await collector.event("listening");
  // The collector's DEALER connects with its run id as routing id: address it directly.
  // Until it is connected, routerMandatory makes the send fail (EHOSTUNREACH): retry.
  fakeSink.routerMandatory = true;
  await waitFor(
    "the collector's ack socket to connect",
    () => fakeSink.send([run, "LOGPIPE/1", "ACK", "garbage"]).then(() => true, () => false),
    { intervalMs: 50 },
  );
  await collector.event("bad_message", (e: Ev) => e.socket === "acks", { timeout: 10_000 });
  // And on the collector's parser socket: a forged credit report.
  await using fakeParser = new Dealer({ linger: 0 });
  fakeParser.connect(String((await collector.event("listening")).endpoint));
  await fakeParser.send(["LOGPIPE/1", "CREDIT", new Uint8Array([0xc1])]);
  await collector.event("bad_message", (e: Ev) => e.socket === "parsers", { timeout: 10_000 });
  collector.closeStdin();
  await collector.event("drained", undefined, { timeout: 10_000 });
  await parser.stop();
  await sink.stop();
});

Deno.test("a parser whose sink is unreachable still exits 0 on SIGTERM, giving its batch back", async () => {
  const { Router } = await import("@lib/zmq/mod.ts");
  const { encodeBatch, newRunId } = await import("./internal/protocol.ts");
  await using dir = await tempDir();
  await using fakeCollector = new Router({ linger: 0 });
  await fakeCollector.bind("tcp://127.0.0.1:*");
  // Nobody binds the sink endpoint: the parser's PUSH (immediate) has no peer, so its send waits.
  await using parser = await startParser(
    fakeCollector.lastEndpoint!,
    `ipc://${dir.path}/nobody.sock`,
    [
      "--log-level",
      "debug",
      "--shutdown-timeout",
      "2000",
    ],
  );
  const [peer] = await fakeCollector.receive(); // its credit report
  await fakeCollector.send([
    peer,
    ...encodeBatch({ run: newRunId(), seq: 0, lines: ["<13>1 - - - - - - hi"] }),
  ]);
  await parser.event("batch_received");
  await parser.stop({ timeout: 5000 }); // exit code 0: the runtime's 2 s deadline was met
  assert.equal(parser.eventCount("batch_abandoned"), 1);
});

Deno.test("bad options exit 2 with one line; --help exits 0", async () => {
  await using dir = await tempDir();
  const damaged = `${dir.path}/damaged.json`;
  Deno.writeTextFileSync(damaged, "{not json");
  for (
    const [role, args, env] of [
      ["log_parser", ["--collector", "tcp://127.0.0.1:1"], {}],
      ["log_parser", [], { LOG_PARSER_SECRET: "short" }],
      ["log_collector", ["--generate", "x"], {}],
      ["log_collector", [], {}],
      // The checkpoint by env; stdin cannot be resumed.
      ["log_collector", ["--input", "-"], { LOG_COLLECTOR_CHECKPOINT: `${dir.path}/cp.json` }],
      ["log_collector", ["--input", dir.path, "--checkpoint", damaged], {}],
      ["storage_writer", ["--bind", "udp://x"], {}],
    ] as const
  ) {
    await using p = await spawnRole("02", role, [...args], { env });
    assert.equal((await p.wait()).code, 2, `${role} ${args.join(" ")}`);
    const lines = p.rawStderr.filter((l: string) => l.trim() !== "");
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], new RegExp(`^${role}: error: .*expected`));
  }
  await using help = await spawnRole("02", "storage_writer", ["--help"]);
  assert.equal((await help.wait()).code, 0);
  assert.ok(help.stdoutLines.some((l: string) => l.includes("--write-delay")));
});

// ---- issue 9 / issue 8 regressions -------------------------------------------------

Deno.test("pathological 16 KB lines (colons, dots, hex, @, tokens) do not stall the pipeline (issue 9 #1); symlinked and non-UTF-8 files are read (#12, #15)", async () => {
  await using dir = await tempDir();
  const input = `${dir.path}/in`;
  const store = `${dir.path}/store`;
  Deno.mkdirSync(input);
  Deno.mkdirSync(store);
  const gen = new LogGenerator({ random: seededRandom(5), malformedRatio: 0 });
  const pathological = PATHOLOGICAL_LINES.map(([, line]) => line);
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    lines.push(gen.next());
    if (i % 100 === 0) lines.push(pathological[(i / 100) % pathological.length]);
  }
  Deno.writeTextFileSync(`${store}/real.log`, lines.join("\n") + "\n");
  // Kubernetes style: the directory holds symlinks to the real files.
  Deno.symlinkSync(`${store}/real.log`, `${input}/pod.log`);
  // A Latin-1 line: stored, tagged invalid_utf8.
  Deno.writeFileSync(
    `${input}/latin1.log`,
    new Uint8Array([
      ...new TextEncoder().encode('{"msg":"caf'),
      0xe9,
      ...new TextEncoder().encode('"}\n'),
    ]),
  );
  const total = lines.length + 1;
  const out = `${dir.path}/out`;
  // Before the fix one ":" line pinned the parser for minutes; now the run just completes.
  const { run, collector, counts } = await storeAll(
    out,
    ["--input", input, "--batch-size", "100"],
    120_000,
  );
  assert.equal(collector.eventCount("resend"), 0, "no batch was stuck long enough to be re-sent");
  const { records } = assertExactlyOnce(out, run, total, counts);
  const latin1 = records.find((r) => String(r.message).startsWith("caf"));
  assert.deepEqual(latin1?.tags, ["invalid_utf8"]);
  assert.equal(latin1?.message, "caf\uFFFD");
});

Deno.test("12,000 lines of ~14 KB with --batch-size 5000 are all stored: batches are capped by bytes (issue 9 #5)", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/big.log`;
  const line = '{"level":"info","msg":"' + "payload ".repeat(1750) + '"}'; // ~14 KB
  {
    using f = Deno.openSync(file, { write: true, create: true });
    const chunk = new TextEncoder().encode((line + "\n").repeat(500));
    for (let i = 0; i < 24; i++) f.writeSync(chunk);
  }
  const out = `${dir.path}/out`;
  const { sink, data, acks } = await startSink(out, ["--stats-interval", "1000"]);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--input",
    file,
    "--batch-size",
    "5000",
  ]);
  await using _c = collector;
  const parsers = await Promise.all([0, 1].map(() => startParser(endpoint, data)));
  try {
    // Before: every 70 MB batch was dropped by libzmq at the parser, 0 stored, resent forever.
    await collector.event("drained", undefined, { timeout: 240_000 });
    assert.equal((await collector.wait()).code, 0);
    for (const p of parsers) await p.stop();
    const counts = await stopSink(sink);
    assert.equal(counts.stored, 12_000);
    assert.equal(counts.dead_lettered, 0);
    const ids = new Set<string>();
    for (const name of Deno.readDirSync(out)) {
      if (!name.name.startsWith("records-")) continue;
      for (const l of Deno.readTextFileSync(`${out}/${name.name}`).split("\n")) {
        if (l) ids.add(String(JSON.parse(l).event.id));
      }
    }
    assert.equal(ids.size, 12_000);
    for (const id of ids) assert.ok(id.startsWith(`${run}-`));
  } finally {
    for (const p of parsers) await p[Symbol.asyncDispose]();
  }
});

Deno.test("a SIGSTOPped parser holds at most its window; the run completes with the other (issue 9 #11)", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "40000",
    "--batch-size",
    "200",
    "--ack-timeout",
    "1000",
  ]);
  await using _c = collector;
  const window = 2;
  const stopped = await startParser(endpoint, data, [
    "--window",
    String(window),
    "--log-level",
    "debug",
  ]);
  await using _p = stopped;
  const other = await startParser(endpoint, data, ["--window", String(window)]);
  await using _o = other;
  await stopped.event("batch_parsed", undefined, { timeout: 20_000 });
  Deno.kill(stopped.pid, "SIGSTOP");
  try {
    await collector.event("drained", undefined, { timeout: 120_000 });
    assert.equal((await collector.wait()).code, 0);
    const stats = collector.events.filter((e: Ev) => e.event === "stats");
    const most = Math.max(...stats.map((e: Ev) => Number(e.max_outstanding)));
    assert.ok(
      most <= window,
      `the collector never had more than ${window} batches at one parser: ${most}`,
    );
  } finally {
    const continued = new Date().toISOString();
    Deno.kill(stopped.pid, "SIGCONT");
    // What the stopped parser held is what it receives after it continues.
    await stopped.event("batch_parsed", (e: Ev) => String(e.ts) >= continued, { timeout: 20_000 })
      .catch(() => undefined);
    await stopped.stop();
    const afterwards = stopped.events.filter((e: Ev) =>
      e.event === "batch_received" && String(e.ts) >= continued
    );
    assert.ok(afterwards.length <= window, `held ${afterwards.length} > window ${window}`);
  }
  await other.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(dir.path, run, 40_000, counts);
});

Deno.test("the sink refuses a PARSED batch with non-JSON records or an impossible seq (issue 9 #14)", async () => {
  const { Push } = await import("@lib/zmq/mod.ts");
  const { encodeParsed, newRunId } = await import("./internal/protocol.ts");
  await using dir = await tempDir();
  const { sink, data } = await startSink(dir.path);
  await using _s = sink;
  await using toSink = new Push({ linger: 1000 });
  toSink.connect(data);
  const run = newRunId();
  const base = { run, lines: 1, count: 1, dead: [], parser: "forged" };
  await toSink.send(encodeParsed({ ...base, seq: 0, records: "<script>not json\n" }));
  await toSink.send(
    encodeParsed({ ...base, seq: 2 ** 53 - 1, records: `{"event":{"id":"${run}-0-0"}}\n` }),
  );
  await sink.event("bad_message", (e: Ev) => /non-JSON/.test(String(e.reason)), {
    timeout: 10_000,
  });
  await sink.event("bad_message", (e: Ev) => /seq/.test(String(e.reason)), { timeout: 10_000 });
  const counts = await stopSink(sink);
  assert.equal(counts.stored, 0);
  assert.equal(readNdjson(dir.path, "records").length, 0);
});

Deno.test("--generate 0 runs until stopped (the demo never fails by finishing; issue 8)", async () => {
  await using dir = await tempDir();
  const { sink, data, acks } = await startSink(dir.path);
  await using _s = sink;
  const { collector, endpoint, run } = await startCollector(acks, [
    "--generate",
    "0",
    "--rate",
    "2000",
  ]);
  await using _c = collector;
  await using parser = await startParser(endpoint, data);
  // Past any finite default: still running, still acknowledged.
  await collector.event("stats", (e: Ev) => Number(e.acked_lines) >= 3000, { timeout: 30_000 });
  assert.equal(collector.eventCount("input_done"), 0);
  await collector.stop({ timeout: 10_000 }); // SIGTERM: drains, exit 0
  const line = await collector.stdoutLine((l: string) => l.includes('"drained"'));
  const printed = JSON.parse(line);
  assert.equal(printed.drained, true);
  await parser.stop();
  const counts = await stopSink(sink);
  assertExactlyOnce(dir.path, run, printed.lines, counts);
});

Deno.test("bad paths and a short secret: one line, exit 2, before anything starts (issue 8)", async () => {
  await using dir = await tempDir();
  for (
    const [role, args, pattern] of [
      [
        "log_collector",
        ["--input", "/nonexistent/file.log"],
        /'--input <paths>' argument '\/nonexistent\/file.log' is invalid\. expected a readable file, got "\/nonexistent\/file.log" \(does not exist\)/,
      ],
      [
        "log_collector",
        ["--input", `${dir.path},/nonexistent`],
        /expected a readable file, got "\/nonexistent" \(does not exist\)/,
      ],
      [
        "storage_writer",
        ["--out-dir", "/etc/passwd/sub"],
        /expected a writable directory, got "\/etc\/passwd\/sub" \(not a directory\)/,
      ],
      [
        "storage_writer",
        ["--out-dir", "/proc/nope"],
        /expected a writable directory, got "\/proc\/nope"/,
      ],
      ["log_parser", ["--secret", "short"], /--secret: expected at least 16 bytes, got 5/],
    ] as const
  ) {
    await using p = await spawnRole("02", role, [...args]);
    assert.equal((await p.wait()).code, 2, `${role} ${args.join(" ")}`);
    const lines = p.rawStderr.filter((l: string) => l.trim() !== "");
    // One line: no `started`, no `listening`, no stack trace.
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], new RegExp(`^${role}: error: `));
    assert.match(lines[0], pattern);
  }
});
