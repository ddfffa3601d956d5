import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { BadMessageError } from "../codec/schema.ts";
import { createMemoryLogger } from "../role/logger.ts";
import { decodeWorkerMessage, encodeWorker, type MdpWorkerMessage } from "./mdp_protocol.ts";
import { MdpWorker, type MdpWorkerOptions } from "./mdp_worker.ts";

const enc = new TextEncoder();

function setup(options: Partial<MdpWorkerOptions> = {}) {
  const clock = new ManualClock();
  const sent: MdpWorkerMessage[] = [];
  const log = createMemoryLogger();
  let connects = 0;
  let disconnects = 0;
  let failSend = false;
  const worker = new MdpWorker({
    clock,
    log,
    send: (frames) => {
      if (failSend) throw new Error("EAGAIN");
      assert.equal(frames[0].length, 0, "every command starts with an empty frame");
      sent.push(decodeWorkerMessage(frames.slice(1)));
    },
    connect: () => void connects++,
    disconnect: () => void disconnects++,
  }, { service: "echo", heartbeatIntervalMs: 1000, liveness: 3, ...options });
  return {
    clock,
    sent,
    log,
    worker,
    commands: () => sent.map((m) => m.command),
    connects: () => connects,
    disconnects: () => disconnects,
    failSend: (v: boolean) => void (failSend = v),
  };
}

const request = (client = "c1", body = "hi") =>
  encodeWorker({ command: "REQUEST", client: enc.encode(client), body: [enc.encode(body)] });

Deno.test("MdpWorker: READY on start, REQUEST in, REPLY out with the client address", () => {
  const t = setup();
  t.worker.start();
  assert.deepEqual(t.sent[0], { command: "READY", service: "echo" });
  const req = t.worker.receive(request("c1", "hi"))!;
  assert.deepEqual(new TextDecoder().decode(req.client), "c1");
  assert.equal(t.worker.settled(), false);
  assert.ok(t.worker.reply(req, req.body));
  assert.deepEqual(t.sent[1], {
    command: "REPLY",
    client: enc.encode("c1"),
    body: [enc.encode("hi")],
  });
  assert.ok(t.worker.settled());
});

Deno.test("MdpWorker: heartbeats each interval unless something else was sent", () => {
  const t = setup();
  t.worker.start();
  t.clock.set(500);
  t.worker.tick(500);
  assert.deepEqual(t.commands(), ["READY"]);
  t.clock.set(999);
  t.worker.receive(encodeWorker({ command: "HEARTBEAT" }));
  t.clock.set(1000);
  t.worker.tick(1000);
  assert.deepEqual(t.commands(), ["READY", "HEARTBEAT"]);
  t.clock.set(1500);
  const req = t.worker.receive(request())!;
  t.worker.reply(req, req.body); // sent at 1500
  t.clock.set(2000);
  t.worker.tick(2000);
  assert.deepEqual(t.commands(), ["READY", "HEARTBEAT", "REPLY"]);
});

Deno.test("MdpWorker: a silent broker is lost after liveness intervals; reconnect with backoff sends READY", () => {
  const t = setup();
  t.worker.start();
  for (let now = 250; now < 3000; now += 250) {
    t.clock.set(now);
    t.worker.tick(now);
  }
  assert.equal(t.worker.state, "connected");
  t.clock.set(3000);
  t.worker.tick(3000);
  assert.equal(t.worker.state, "waiting");
  assert.equal(t.disconnects(), 1);
  assert.equal(t.worker.stats().brokerLost, 1);
  t.clock.set(3999);
  t.worker.tick(3999);
  assert.equal(t.connects(), 1); // backoff: 1000 ms
  t.clock.set(4000);
  t.worker.tick(4000);
  assert.equal(t.connects(), 2);
  assert.deepEqual(t.sent.at(-1), { command: "READY", service: "echo" });
  assert.equal(t.worker.session, 2);
});

Deno.test("MdpWorker: a stalled process (late tick) gives the broker one more interval", () => {
  const t = setup();
  t.worker.start();
  t.clock.set(250);
  t.worker.tick(250);
  t.clock.set(10_000); // SIGSTOP for ~10 s
  t.worker.tick(10_000);
  assert.equal(t.worker.state, "connected");
});

Deno.test("MdpWorker: DISCONNECT from the broker drops the socket and starts a new session", () => {
  const t = setup();
  t.worker.start();
  t.worker.receive(encodeWorker({ command: "DISCONNECT" }));
  assert.equal(t.worker.state, "waiting");
  assert.equal(t.disconnects(), 1);
  t.clock.set(1000);
  t.worker.tick(1000);
  assert.equal(t.worker.state, "connected");
  assert.equal(t.worker.stats().sessions, 2);
});

Deno.test("MdpWorker: a reply from an ended session is not sent", () => {
  const t = setup();
  t.worker.start();
  const req = t.worker.receive(request())!;
  t.worker.restart("test");
  assert.deepEqual(t.commands(), ["READY", "DISCONNECT", "READY"]);
  assert.equal(t.worker.reply(req, req.body), false);
  assert.equal(t.worker.stats().staleReplies, 1);
  assert.deepEqual(t.commands(), ["READY", "DISCONNECT", "READY"]);
});

Deno.test("MdpWorker: graceful disconnect sends DISCONNECT and never reconnects", () => {
  const t = setup();
  t.worker.start();
  t.worker.disconnect();
  assert.equal(t.worker.state, "stopped");
  assert.deepEqual(t.commands(), ["READY", "DISCONNECT"]);
  t.clock.set(60_000);
  t.worker.tick(60_000);
  assert.equal(t.connects(), 1);
});

Deno.test("MdpWorker: garbage from the broker is BadMessageError, counted; a refused send is counted", () => {
  const t = setup();
  t.worker.start();
  assert.throws(() => t.worker.receive([enc.encode("x")]), BadMessageError);
  assert.throws(
    () => t.worker.receive(encodeWorker({ command: "READY", service: "x" })),
    /expected REQUEST/,
  );
  assert.throws(
    () => t.worker.receive([new Uint8Array(0), enc.encode("MDPW01"), Uint8Array.of(7)]),
    BadMessageError,
  );
  assert.equal(t.worker.stats().badMessages, 3);
  t.failSend(true);
  t.clock.set(1000);
  t.worker.tick(1000);
  assert.equal(t.worker.stats().sendDropped, 1);
});

Deno.test("MdpWorker: options are checked", () => {
  assert.throws(() => setup({ service: "mmi.x" }), /outside "mmi."/);
  assert.throws(() => setup({ heartbeatIntervalMs: 0 }), /heartbeatIntervalMs/);
  assert.throws(() => setup({ liveness: 0 }), /liveness/);
});
