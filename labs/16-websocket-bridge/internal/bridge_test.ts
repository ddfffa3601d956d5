import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
} from "../../04-telemetry-lvc/internal/protocol.ts";
import { Bridge, type BridgeOptions } from "./bridge.ts";
import { CLOSE } from "./protocol.ts";
import type { RingSnapshot } from "./replay_ring.ts";

const te = new TextEncoder();

/** A fake world: sockets are arrays of frames, bufferedAmount is set by the test. */
class World {
  now = 0;
  subs: string[] = [];
  sent = new Map<number, Record<string, unknown>[]>();
  buffered = new Map<number, number>();
  closed = new Map<number, { code: number; reason: string }>();
  bad: string[] = [];
  events: { name: string; fields: Record<string, unknown> }[] = [];
  port = {
    now: () => this.now,
    subscribe: (p: string) => void this.subs.push(`+${p}`),
    unsubscribe: (p: string) => void this.subs.push(`-${p}`),
    send: (id: number, text: string) => {
      const list = this.sent.get(id) ?? [];
      list.push(JSON.parse(text));
      this.sent.set(id, list);
    },
    buffered: (id: number) => this.buffered.get(id) ?? 0,
    close: (id: number, code: number, reason: string) => void this.closed.set(id, { code, reason }),
    badMessage: (reason: string) => void this.bad.push(reason),
    event: (name: string, fields: Record<string, unknown>) =>
      void this.events.push({ name, fields }),
  };
  frames(id: number, type?: string): Record<string, unknown>[] {
    return (this.sent.get(id) ?? []).filter((f) => type === undefined || f.type === type);
  }
  seqs(id: number): number[] {
    return this.frames(id, "data").map((f) => f.seq as number);
  }
}

const base: BridgeOptions = {
  highWater: 1000,
  hardWater: 4000,
  lowWater: 100,
  maxTopics: 100,
  slowTimeoutMs: 5000,
  ringCapacity: 100,
  ringBytes: 1 << 20,
  maxPrefixes: 100,
  pingIntervalMs: 1000,
  pingTimeoutMs: 3000,
  helloTimeoutMs: 2000,
  limits: { maxPayloadBytes: 1024 },
  topics: [],
  epoch: "e1",
};

function update(topic: string, value: number, seq = 1): Uint8Array[] {
  return [
    te.encode(topic),
    encodeHeader({ seq, ts: 0, units: "degC", schema: READING_SCHEMA }),
    encodeReading(value, new Uint8Array()),
  ];
}

function setup(options: Partial<BridgeOptions> = {}) {
  const world = new World();
  const bridge = new Bridge({ ...base, ...options }, world.port);
  const join = (id: number, topics: string[], resume?: { epoch: string; seq: number }) => {
    bridge.open(id, "http://127.0.0.1:5516");
    bridge.message(id, JSON.stringify({ type: "hello", topics, ...(resume ? { resume } : {}) }));
  };
  return { world, bridge, join };
}

Deno.test("browser topics map to ZeroMQ subscriptions reference-counted across clients", () => {
  const { world, bridge, join } = setup();
  join(1, ["plant-a/"]);
  join(2, ["plant-a/", "plant-b/"]);
  assert.deepEqual(world.subs, ["+plant-a/", "+plant-b/"]);
  bridge.message(1, '{"type":"unsubscribe","topics":["plant-a/"]}');
  assert.deepEqual(world.subs, ["+plant-a/", "+plant-b/"], "client 2 still holds plant-a/");
  assert.deepEqual(world.frames(1, "subscribed").at(-1), { type: "subscribed", topics: [] });
  bridge.closed(2);
  assert.deepEqual(world.subs, ["+plant-a/", "+plant-b/", "-plant-a/", "-plant-b/"]);
  bridge.message(1, '{"type":"subscribe","topics":["plant-b/"]}');
  assert.deepEqual(world.subs.at(-1), "+plant-b/");
});

Deno.test("updates fan out to the clients whose prefixes match, numbered by the bridge", () => {
  const { world, bridge, join } = setup();
  join(1, ["plant-a/"]);
  join(2, [""]);
  bridge.update(update("plant-a/t/1", 1));
  bridge.update(update("plant-b/t/1", 2));
  assert.deepEqual(world.seqs(1), [1]);
  assert.deepEqual(world.seqs(2), [1, 2]);
  assert.equal(world.frames(2, "data")[1].value, 2);
  assert.equal(bridge.stats().fanned_out, 3);
});

Deno.test("garbage from one client closes it with a code; the others keep being served", () => {
  const { world, bridge, join } = setup();
  join(1, [""]);
  join(2, [""]);
  join(3, [""]);
  bridge.message(1, "{not json");
  bridge.message(2, new Uint8Array([1, 2, 3]));
  bridge.update(update("t", 1));
  assert.equal(world.closed.get(1)?.code, CLOSE.badMessage);
  assert.equal(world.closed.get(2)?.code, CLOSE.unsupportedData);
  assert.deepEqual(world.seqs(3), [1]);
  assert.deepEqual(world.seqs(1), []);
  assert.equal(world.bad.length, 2);
  assert.equal(bridge.stats().closed_bad, 2);
});

Deno.test("frames out of order are refused: data before hello, a second hello, no hello", () => {
  const { world, bridge, join } = setup();
  bridge.open(1, "o");
  bridge.message(1, '{"type":"subscribe","topics":["a"]}');
  assert.equal(world.closed.get(1)?.code, CLOSE.badMessage);
  join(2, [""]);
  bridge.message(2, '{"type":"hello","topics":[]}');
  assert.equal(world.closed.get(2)?.code, CLOSE.badMessage);
  bridge.open(3, "o");
  world.now = 2001;
  bridge.tick();
  assert.equal(world.closed.get(3)?.code, CLOSE.badMessage);
  assert.equal(bridge.clientCount, 0);
});

Deno.test("a client with more than 32 prefixes is refused", () => {
  const { world, bridge, join } = setup();
  join(1, Array.from({ length: 20 }, (_, i) => `a${i}`));
  bridge.message(
    1,
    JSON.stringify({ type: "subscribe", topics: Array.from({ length: 13 }, (_, i) => `b${i}`) }),
  );
  assert.equal(world.closed.get(1)?.code, CLOSE.badMessage);
  assert.equal(world.subs.filter((s) => s.startsWith("-")).length, 20, "all released");
});

Deno.test("a resumed client gets what it missed from the ring, then live updates", () => {
  const { world, bridge, join } = setup({ topics: [""] });
  for (let i = 1; i <= 5; i++) bridge.update(update(i % 2 ? "a/1" : "b/1", i));
  join(1, ["a/"], { epoch: "e1", seq: 2 });
  const welcome = world.frames(1, "welcome")[0];
  assert.equal(welcome.resumed, true);
  assert.equal(welcome.replayed, 2);
  assert.equal(welcome.missed, 0);
  assert.deepEqual(world.seqs(1), [3, 5]);
  bridge.update(update("a/1", 6));
  assert.deepEqual(world.seqs(1), [3, 5, 6]);
});

Deno.test("a resume older than the ring reports what is missed; another epoch is no resume", () => {
  const { world, bridge, join } = setup({ topics: [""], ringCapacity: 3 });
  for (let i = 1; i <= 6; i++) bridge.update(update("a/1", i));
  join(1, [""], { epoch: "e1", seq: 1 });
  assert.equal(world.frames(1, "welcome")[0].missed, 2, "seqs 2 and 3 fell out");
  assert.deepEqual(world.seqs(1), [4, 5, 6]);
  join(2, [""], { epoch: "other", seq: 1 });
  assert.equal(world.frames(2, "welcome")[0].resumed, false);
  assert.deepEqual(world.seqs(2), []);
});

Deno.test("one slow client is conflated then closed; a fast one gets every update", () => {
  const { world, bridge, join } = setup({ pingIntervalMs: 30_000, pingTimeoutMs: 60_000 });
  join(1, [""]);
  join(2, [""]);
  world.buffered.set(1, 5000); // client 1 stopped reading
  for (let i = 1; i <= 50; i++) bridge.update(update(`t/${i % 5}`, i));
  assert.deepEqual(world.seqs(2), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.deepEqual(world.seqs(1), []);
  assert.equal(world.events.filter((e) => e.name === "client_conflating").length, 1);
  world.now = 1000;
  bridge.tick();
  world.buffered.set(1, 0); // it read everything: latest value per topic
  world.now = 1100;
  bridge.tick();
  const conflated = world.frames(1, "data");
  assert.deepEqual(conflated.map((f) => f.topic).sort(), ["t/0", "t/1", "t/2", "t/3", "t/4"]);
  assert.ok(conflated.every((f) => f.conflated === true));
  assert.deepEqual(conflated.map((f) => f.value).sort((a, b) => Number(a) - Number(b)), [
    46,
    47,
    48,
    49,
    50,
  ]);
  world.buffered.set(1, 5000); // stuck again, for good
  bridge.update(update("t/1", 51));
  world.now = 1100 + 5001;
  bridge.tick();
  assert.equal(world.closed.get(1)?.code, CLOSE.slowConsumer);
  assert.equal(world.closed.has(2), false);
  assert.equal(bridge.stats().closed_slow, 1);
});

Deno.test("pings go out every interval; a client that never pongs is closed 4409", () => {
  const { world, bridge, join } = setup();
  join(1, [""]);
  join(2, [""]);
  for (let t = 100; t <= 3100; t += 100) {
    world.now = t;
    bridge.tick();
    const ping = world.frames(2, "ping").at(-1);
    if (ping) bridge.message(2, JSON.stringify({ type: "pong", t: ping.t }));
  }
  assert.equal(world.frames(1, "ping").length, 3);
  assert.equal(world.closed.get(1)?.code, CLOSE.pingTimeout);
  assert.equal(world.closed.has(2), false);
});

Deno.test("shutdown closes every client with 1001 and hands over the ring", () => {
  const { world, bridge, join } = setup();
  join(1, [""]);
  bridge.update(update("a", 1));
  const snapshot: RingSnapshot = bridge.shutdown();
  assert.equal(world.closed.get(1)?.code, CLOSE.goingAway);
  assert.equal(snapshot.seq, 1);
  const again = setup({ restore: snapshot });
  again.join(5, [""], { epoch: "e1", seq: 0 });
  assert.deepEqual(again.world.seqs(5), [1]);
  again.bridge.update(update("a", 2));
  assert.deepEqual(again.world.seqs(5), [1, 2]);
});

Deno.test("a malformed ZeroMQ update throws BadMessageError and takes no seq", () => {
  const { bridge, join, world } = setup();
  join(1, [""]);
  assert.throws(() => bridge.update([te.encode("x")]), BadMessageError);
  bridge.update(update("a", 1));
  assert.deepEqual(world.seqs(1), [1]);
  assert.equal(bridge.stats().bad_updates, 1);
});
