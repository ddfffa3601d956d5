import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { LvcBroker } from "./lvc_broker.ts";
import {
  decodeHeader,
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
  subscriptionFrame,
} from "./protocol.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function setup(
  cache = { maxEntries: 100, maxBytes: 0 },
  upstreamPrefixes = [""],
  bounds = { maxSubscriptions: 100, maxPrefixBytes: 128 },
) {
  const clock = new ManualClock(1000);
  const log = createMemoryLogger({ limiter: { now: () => clock.now() } });
  const down: Uint8Array[][] = [];
  const up: Uint8Array[] = [];
  /** Everything the broker did, in order: "apply +a/", "down a/1", "up +a/". */
  const ops: string[] = [];
  const broker = new LvcBroker({
    cache,
    maxPayloadBytes: 1000,
    upstreamPrefixes: upstreamPrefixes.map((p) => te.encode(p)),
    ...bounds,
    clock,
    log,
    transport: {
      downstream: (f) => {
        down.push(f);
        ops.push(`down ${td.decode(f[0])}`);
      },
      upstream: (f) => {
        up.push(f);
        ops.push(`up ${f[0] === 1 ? "+" : "-"}${td.decode(f.subarray(1))}`);
      },
      apply: (on, p) => ops.push(`apply ${on ? "+" : "-"}${td.decode(p)}`),
    },
  });
  return { broker, log, down, up, ops, clock };
}

function update(topic: string, seq: number, value = seq): Uint8Array[] {
  return [
    te.encode(topic),
    encodeHeader({ seq, ts: 500 + seq, units: "W", schema: READING_SCHEMA }),
    encodeReading(value, new Uint8Array([0, 1, 255])),
  ];
}

const sub = (prefix: string) => [subscriptionFrame(true, te.encode(prefix))];
const unsub = (prefix: string) => [subscriptionFrame(false, te.encode(prefix))];
const topics = (msgs: Uint8Array[][]) => msgs.map((m) => td.decode(m[0]));

Deno.test("start subscribes upstream to the broker's own prefixes", () => {
  const { broker, up } = setup(undefined, ["", "x/"]);
  broker.start();
  assert.deepEqual(up, [new Uint8Array([1]), te.encode("\x01x/")]);
});

Deno.test("updates are forwarded unchanged and cached", () => {
  const { broker, down } = setup();
  const msg = update("a/1", 1);
  broker.onUpstream(msg);
  assert.equal(down.length, 1);
  assert.equal(down[0], msg);
  assert.equal(broker.stats().cache_entries, 1);
  assert.equal(broker.stats().forwarded, 1);
});

Deno.test("a new subscription replays every matching cached value, marked replay", () => {
  const { broker, down, up, log } = setup();
  for (const t of ["a/1", "a/2", "b/1", "ab/1"]) broker.onUpstream(update(t, 1));
  broker.onUpstream(update("a/1", 2, 42));
  down.length = 0;
  broker.onDownstream(sub("a/"));
  assert.deepEqual(topics(down).sort(), ["a/1", "a/2"]);
  const a1 = down.find((m) => td.decode(m[0]) === "a/1")!;
  const h = decodeHeader(a1[1]);
  assert.equal(h.replay, true);
  assert.equal(h.seq, 2);
  assert.equal(h.ts, 502);
  assert.deepEqual(a1[2], update("a/1", 2, 42)[2]);
  assert.deepEqual(up, [te.encode("\x01a/")]);
  assert.equal(log.events("subscribed")[0].fields.replayed, 2);
});

Deno.test("a joiner is attached, then replayed to, before anything else is forwarded", () => {
  const { broker, ops } = setup();
  broker.onUpstream(update("a/1", 1));
  broker.onUpstream(update("a/2", 1));
  ops.length = 0;
  broker.onDownstream(sub("a/"));
  broker.onUpstream(update("a/1", 2));
  assert.deepEqual(ops.slice(0, 2), ["apply +a/", "up +a/"]);
  assert.deepEqual(ops.slice(2, 4).sort(), ["down a/1", "down a/2"], "the replays");
  assert.deepEqual(ops.slice(4), ["down a/1"], "then the live update");
  broker.onDownstream(unsub("a/"));
  assert.deepEqual(ops.slice(5), ["apply -a/", "up -a/"]);
});

Deno.test("a second subscription to the same prefix replays again but is forwarded once", () => {
  const { broker, down, up, ops } = setup();
  broker.onUpstream(update("a/1", 1));
  down.length = 0;
  broker.onDownstream(sub("a/"));
  broker.onDownstream(sub("a/"));
  assert.deepEqual(topics(down), ["a/1", "a/1"]);
  assert.equal(up.length, 1);
  assert.equal(ops.filter((o) => o === "apply +a/").length, 2, "each joiner is attached");
  // Manual mode passes every unsubscribe: forwarded when the last one is gone.
  broker.onDownstream(unsub("a/"));
  assert.equal(up.length, 1);
  broker.onDownstream(unsub("a/"));
  assert.deepEqual(up[1], new Uint8Array([0, ...te.encode("a/")]));
  // An unsubscribe of nothing (a raw XSUB may send one) changes nothing upstream.
  broker.onDownstream(unsub("a/"));
  broker.onDownstream(unsub("zz"));
  assert.equal(up.length, 2);
  assert.equal(broker.stats().unsubscriptions, 4);
});

Deno.test("subscribing to everything replays the whole cache; own prefix is not re-sent", () => {
  const { broker, down, up } = setup();
  broker.start();
  for (let i = 0; i < 10; i++) broker.onUpstream(update(`t/${i}`, 1));
  down.length = 0;
  broker.onDownstream(sub(""));
  assert.equal(down.length, 10);
  broker.onDownstream(unsub(""));
  assert.deepEqual(up, [new Uint8Array([1])], "the broker keeps its own subscription upstream");
});

Deno.test("bad upstream input is logged, never forwarded, never cached", () => {
  const { broker, down, log } = setup();
  const good = update("a/1", 1);
  const cases: [Uint8Array[], string][] = [
    [[good[0], good[1]], "frame_count"],
    [[good[0], te.encode("not msgpack \xc1"), good[2]], ""],
    [[good[0], good[1], new Uint8Array(1001)], "oversize"],
    [[new Uint8Array(), good[1], good[2]], "bad_topic"],
  ];
  for (const [frames, reason] of cases) {
    broker.onUpstream(frames);
    const last = log.events("bad_message").at(-1)!;
    if (reason) assert.equal(last.fields.reason, reason);
  }
  assert.equal(down.length, 0);
  assert.equal(log.events("bad_message").length, cases.length);
  assert.equal(broker.stats().cache_entries, 0);
  assert.equal(broker.stats().bad, cases.length);
  broker.onDownstream(sub(""));
  assert.equal(down.length, 0, "nothing bad was cached");
});

Deno.test("bad downstream input is logged and dropped", () => {
  const { broker, down, up, log } = setup();
  broker.onDownstream([te.encode("\x05hello")]);
  broker.onDownstream([new Uint8Array([1]), new Uint8Array([2])]);
  assert.equal(log.events("bad_message").length, 2);
  assert.equal(down.length + up.length, 0);
});

Deno.test("the cache stays within its bound and replays only what it kept", () => {
  const { broker, down } = setup({ maxEntries: 50, maxBytes: 0 });
  for (let i = 0; i < 1000; i++) broker.onUpstream(update(`s/${i}`, 1));
  const s = broker.stats();
  assert.equal(s.cache_entries, 50);
  assert.equal(s.cache_evictions, 950);
  down.length = 0;
  broker.onDownstream(sub("s/"));
  assert.deepEqual(
    topics(down).sort(),
    Array.from({ length: 50 }, (_, i) => `s/${950 + i}`).sort(),
  );
});

Deno.test("a bad publisher gets one bad_message line per reason and window, with a count", () => {
  const { broker, log, clock } = setup();
  const good = update("a/1", 1);
  for (let i = 0; i < 1000; i++) broker.onUpstream([good[0], good[1]]);
  assert.equal(log.events("bad_message").length, 1);
  clock.set(clock.now() + 5000);
  broker.onUpstream([good[0], good[1]]);
  const lines = log.events("bad_message");
  assert.equal(lines.length, 2);
  assert.equal(lines[1].fields.suppressed, 999);
  assert.equal(lines[1].fields.bad, 1001);
  assert.equal(broker.stats().bad, 1001);
});

Deno.test("subscriptions past the bounds are refused: not applied, forwarded or replayed", () => {
  const { broker, down, up, ops, log } = setup(undefined, [""], {
    maxSubscriptions: 3,
    maxPrefixBytes: 8,
  });
  broker.onUpstream(update("a/1", 1));
  down.length = 0;
  ops.length = 0;
  broker.onDownstream(sub("a/"));
  broker.onDownstream(sub("b/"));
  broker.onDownstream(sub("c/"));
  broker.onDownstream(sub("a/")); // an existing prefix costs nothing: still accepted
  for (let i = 0; i < 1000; i++) broker.onDownstream(sub(`d/${i}`));
  broker.onDownstream(sub("a/123456789")); // 11 bytes > 8
  assert.deepEqual(ops.filter((o) => o.startsWith("apply")), [
    "apply +a/",
    "apply +b/",
    "apply +c/",
    "apply +a/",
  ]);
  assert.equal(up.length, 3);
  assert.deepEqual(topics(down), ["a/1", "a/1"]);
  const s = broker.stats();
  assert.equal(s.subscriptions_refused, 1001);
  assert.equal(s.subscribed_prefixes, 3);
  const refusals = log.events("subscription_refused");
  assert.deepEqual(refusals.map((r) => r.fields.reason), [
    "too_many_subscriptions",
    "prefix_too_long",
  ]);
  assert.equal(log.events("subscribed").length, 4);
});

Deno.test("a departed subscriber's prefixes are freed; cancels of refused ones do nothing", () => {
  const { broker, up, ops, log } = setup(undefined, [""], {
    maxSubscriptions: 2,
    maxPrefixBytes: 128,
  });
  broker.onDownstream(sub("a/"));
  broker.onDownstream(sub("b/"));
  broker.onDownstream(sub("c/")); // refused
  ops.length = 0;
  // libzmq reports one cancel per prefix of a peer that disconnects, refused ones included.
  for (const p of ["a/", "b/", "c/"]) broker.onDownstream(unsub(p));
  assert.deepEqual(ops, ["apply -a/", "up -a/", "apply -b/", "up -b/"]);
  assert.equal(broker.stats().subscribed_prefixes, 0);
  assert.equal(log.events("unsubscribed").length, 2);
  assert.equal(up.length, 4);
  broker.onDownstream(sub("c/")); // room again
  assert.equal(broker.stats().subscribed_prefixes, 1);
});
