import assert from "node:assert/strict";
import {
  Dealer,
  openSocketCount,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  XPublisher,
  XSubscriber,
  ZERO_COPY_THRESHOLD,
  zeroCopyHeld,
  ZmqError,
} from "./mod.ts";
import { bindEndpoint, deadline, text, TRANSPORTS, until } from "./test_util.ts";

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "zmq-conformance-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const transport of TRANSPORTS) {
  Deno.test(`REQ/REP over ${transport}: 20 x 10,000 round trips, no hang`, async () => {
    await withDir(async (dir) => {
      await using rep = new Reply();
      await rep.bind(bindEndpoint(transport, dir));
      await using req = new Request();
      req.connect(rep.lastEndpoint!);
      const echo = (async () => {
        for await (const [msg] of rep) await rep.send(msg);
      })();
      for (let run = 0; run < 20; run++) {
        await deadline(
          (async () => {
            for (let i = 0; i < 10_000; i++) {
              await req.send(String(i));
              const [reply] = await req.receive();
              if (text(reply) !== String(i)) {
                throw new Error(`round trip ${i}: expected reply "${i}", got "${text(reply)}"`);
              }
            }
          })(),
          60_000,
          `run ${run} of 10,000 round trips`,
        );
      }
      rep.close();
      await echo;
    });
  });

  Deno.test(`PUB/SUB over ${transport}: prefix filtering`, async () => {
    await withDir(async (dir) => {
      await using pub = new Publisher();
      await pub.bind(bindEndpoint(transport, dir));
      await using sub = new Subscriber();
      sub.connect(pub.lastEndpoint!);
      sub.subscribe("weather.", "alert");
      // Slow joiner: publish a probe until the subscription has reached the publisher.
      let first: Uint8Array[] | undefined;
      const probe = sub.receive().then((m) => (first = m));
      await until(
        async () => {
          await pub.send(["weather.probe", "p"]);
          return first !== undefined;
        },
        5000,
        "the subscription to reach the publisher",
      );
      await probe;
      // Drain further probes that may still be queued.
      sub.receiveTimeout = 100;
      for (;;) {
        try {
          await sub.receive();
        } catch {
          break;
        }
      }
      sub.receiveTimeout = -1;
      const topics = ["weather.nyc", "sports.nba", "alert.fire", "weatherless", "alert", "news"];
      for (const topic of topics) await pub.send([topic, "body"]);
      await pub.send(["weather.end", "end"]);
      const got: string[] = [];
      for (;;) {
        const [topic, body] = await deadline(sub.receive(), 3000, "filtered message");
        assert.equal(
          text(body),
          topic.length === 11 && text(topic) === "weather.end" ? "end" : "body",
        );
        if (text(topic) === "weather.end") break;
        got.push(text(topic));
      }
      assert.deepEqual(got, ["weather.nyc", "alert.fire", "alert"]);
    });
  });

  Deno.test(`PUSH/PULL over ${transport}: fair distribution over 3 pullers`, async () => {
    await withDir(async (dir) => {
      // Room for every job: a pipe at its HWM would be skipped by the round-robin.
      await using push = new Push({ sendHighWaterMark: 10_000 });
      await push.bind(bindEndpoint(transport, dir));
      const pullers = [new Pull(), new Pull(), new Pull()];
      try {
        for (const pull of pullers) pull.connect(push.lastEndpoint!);
        const counts = [0, 0, 0];
        const probed = [false, false, false];
        const total = 3000;
        const receivers = pullers.map(async (pull, i) => {
          for await (const [msg] of pull) {
            const body = text(msg);
            if (body === "stop") return;
            if (body === "probe") probed[i] = true;
            else counts[i]++;
          }
        });
        // PUSH round-robins over the pipes attached so far, and a pipe attaches some time
        // after its handshake: probe until every puller got one, so all three take turns.
        await until(
          async () => {
            await push.send("probe");
            return probed.every(Boolean);
          },
          10_000,
          "every puller to receive a probe",
        );
        for (let i = 0; i < total; i++) await push.send(`job ${i}`);
        for (let i = 0; i < 3; i++) await push.send("stop");
        await deadline(Promise.all(receivers), 10_000, "all jobs");
        assert.equal(counts.reduce((a, b) => a + b), total);
        for (const count of counts) assert.equal(count, total / 3, `counts ${counts}`);
      } finally {
        for (const pull of pullers) pull.close();
      }
    });
  });

  Deno.test(`ROUTER over ${transport}: identities and routerMandatory`, async () => {
    await withDir(async (dir) => {
      await using router = new Router({ mandatory: true });
      await router.bind(bindEndpoint(transport, dir));
      await using a = new Dealer({ routingId: "client-a" });
      await using b = new Dealer({ routingId: "client-b" });
      a.connect(router.lastEndpoint!);
      b.connect(router.lastEndpoint!);
      await a.send("from a");
      await b.send("from b");
      const seen = new Map<string, string>();
      for (let i = 0; i < 2; i++) {
        const [id, body] = await deadline(router.receive(), 3000, "dealer message");
        seen.set(text(id), text(body));
      }
      assert.deepEqual(Object.fromEntries(seen), { "client-a": "from a", "client-b": "from b" });
      await router.send(["client-b", "to b"]);
      const [reply] = await deadline(b.receive(), 3000, "routed reply");
      assert.equal(text(reply), "to b");
      await assert.rejects(router.send(["nobody", "x"]), (error: unknown) => {
        assert.ok(error instanceof ZmqError);
        assert.equal(error.code, "EHOSTUNREACH");
        return true;
      });
    });
  });

  Deno.test(`DEALER over ${transport}: round-robin to 3 peers`, async () => {
    await withDir(async (dir) => {
      const endpoints: string[] = [];
      const reps = [new Router(), new Router(), new Router()];
      try {
        for (const rep of reps) {
          await rep.bind(bindEndpoint(transport, dir));
          endpoints.push(rep.lastEndpoint!);
        }
        await using dealer = new Dealer();
        using events = dealer.events.consumer();
        for (const endpoint of endpoints) dealer.connect(endpoint);
        // Make sure all three pipes exist before sending (connect completes asynchronously).
        if (transport !== "inproc") {
          let connected = 0;
          for await (const event of events) {
            if (event.type === "handshake" && ++connected === 3) break;
          }
        }
        for (let i = 0; i < 9; i++) await dealer.send(`m${i}`);
        const got = await Promise.all(
          reps.map(async (rep) => {
            const bodies: string[] = [];
            for (let i = 0; i < 3; i++) {
              const [, body] = await deadline(rep.receive(), 3000, "dealer message");
              bodies.push(text(body));
            }
            return bodies;
          }),
        );
        // Each peer got every third message, in order.
        const sorted = got.map((b) => b.join(",")).sort();
        assert.deepEqual(sorted, ["m0,m3,m6", "m1,m4,m7", "m2,m5,m8"]);
      } finally {
        for (const rep of reps) rep.close();
      }
    });
  });

  Deno.test(`XPUB over ${transport}: subscription frames, verbose mode`, async () => {
    await withDir(async (dir) => {
      await using xpub = new XPublisher({ verbose: true });
      await xpub.bind(bindEndpoint(transport, dir));
      await using sub1 = new Subscriber();
      await using sub2 = new Subscriber();
      sub1.connect(xpub.lastEndpoint!);
      sub2.connect(xpub.lastEndpoint!);
      sub1.subscribe("temp");
      const [first] = await deadline(xpub.receive(), 3000, "first subscription");
      assert.deepEqual([...first], [1, ...new TextEncoder().encode("temp")]);
      sub2.subscribe("temp"); // a duplicate: only verbose mode passes it on
      const [second] = await deadline(xpub.receive(), 3000, "duplicate subscription (verbose)");
      assert.equal(second[0], 1);
      assert.equal(text(second.subarray(1)), "temp");
      sub1.unsubscribe("temp");
      sub2.unsubscribe("temp");
      const [cancel] = await deadline(xpub.receive(), 3000, "last unsubscription");
      assert.equal(cancel[0], 0);
      assert.equal(text(cancel.subarray(1)), "temp");
    });
  });

  Deno.test(`XSUB over ${transport}: subscribes by message`, async () => {
    await withDir(async (dir) => {
      await using pub = new XPublisher();
      await pub.bind(bindEndpoint(transport, dir));
      await using xsub = new XSubscriber();
      xsub.connect(pub.lastEndpoint!);
      await xsub.send(new Uint8Array([1, ...new TextEncoder().encode("a")]));
      const [sub] = await deadline(pub.receive(), 3000, "subscription from XSUB");
      assert.equal(sub[0], 1);
      await pub.send(["b.x", "no"]);
      await pub.send(["a.x", "yes"]);
      const [topic, body] = await deadline(xsub.receive(), 3000, "message");
      assert.deepEqual([text(topic), text(body)], ["a.x", "yes"]);
    });
  });

  Deno.test(`frames of 0 B, 1 MiB and 12,441,600 B over ${transport} arrive intact`, async () => {
    await withDir(async (dir) => {
      await using pull = new Pull();
      await pull.bind(bindEndpoint(transport, dir));
      await using push = new Push();
      push.connect(pull.lastEndpoint!);
      const sizes = [0, 1, 65_535, 65_536, 1 << 20, 12_441_600];
      const frames = sizes.map((size) => {
        const frame = new Uint8Array(size);
        for (let i = 0; i < size; i += 4099) frame[i] = (i * 31 + size) & 0xff;
        if (size > 0) frame[size - 1] = 0xab;
        return frame;
      });
      // A zero-copy frame that is a view into the middle of a larger buffer.
      const backing = new Uint8Array(300_000).map((_, i) => i % 251);
      frames.push(backing.subarray(1000, 101_000));
      await push.send(frames);
      const got = await deadline(pull.receive(), 10_000, "large multipart message");
      assert.equal(got.length, frames.length);
      for (let i = 0; i < frames.length; i++) {
        assert.equal(got[i].length, frames[i].length);
        assert.ok(got[i].every((byte, j) => byte === frames[i][j]), `frame ${i} differs`);
      }
    });
  });
}

Deno.test("HWM: PUSH blocks (send times out) while PUB drops", async () => {
  await using push = new Push({ sendHighWaterMark: 10, sendTimeout: 200 });
  await push.bind("tcp://127.0.0.1:*");
  // No peer: PUSH has nowhere to queue, so a send waits and then times out with EAGAIN.
  await assert.rejects(push.send("x"), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EAGAIN");
    return true;
  });
  // With a peer that does not read, PUSH accepts about HWM (+ kernel buffers) and then blocks.
  await using pull = new Pull({ receiveHighWaterMark: 10, receiveBufferSize: 4096 });
  pull.connect(push.lastEndpoint!);
  await push.send("first"); // waits until the peer is connected
  let accepted = 1;
  for (;;) {
    try {
      await push.send(new Uint8Array(1024));
      accepted++;
    } catch (error) {
      assert.equal((error as ZmqError).code, "EAGAIN");
      break;
    }
    if (accepted > 100_000) assert.fail("PUSH never blocked");
  }
  assert.ok(accepted >= 10, `accepted ${accepted}`);
  // PUB never blocks: without subscribers every send succeeds (and is dropped).
  await using pub = new Publisher({ sendHighWaterMark: 10 });
  await pub.bind("tcp://127.0.0.1:*");
  for (let i = 0; i < 10_000; i++) await pub.send(["t", "x"]);
});

Deno.test("PUB drops for a slow subscriber at its HWM instead of blocking", async () => {
  await using pub = new Publisher({ sendHighWaterMark: 5 });
  await pub.bind("tcp://127.0.0.1:*");
  await using sub = new Subscriber({ receiveHighWaterMark: 5, receiveBufferSize: 4096 });
  sub.connect(pub.lastEndpoint!);
  sub.subscribe("");
  let first: Uint8Array[] | undefined;
  const probe = sub.receive().then((m) => (first = m));
  await until(
    async () => {
      await pub.send("probe");
      return first !== undefined;
    },
    5000,
    "subscription",
  );
  await probe;
  const count = 20_000;
  for (let i = 0; i < count; i++) await pub.send(new Uint8Array(1024)); // never blocks
  await pub.send("end");
  let received = 0;
  sub.receiveTimeout = 1000;
  for (;;) {
    try {
      const [msg] = await sub.receive();
      if (msg.length === 3 && text(msg) === "end") break;
      received++;
    } catch {
      break; // "end" itself may have been dropped
    }
  }
  assert.ok(received < count, `expected drops, received ${received} of ${count}`);
});

Deno.test("many pending sends queue in order without EBUSY", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push({ sendHighWaterMark: 2, sendQueueLimit: 500 });
  const sends = [];
  for (let i = 0; i < 500; i++) sends.push(push.send(String(i)));
  push.connect(pull.lastEndpoint!); // nothing can go out before this
  const got: string[] = [];
  for (let i = 0; i < 500; i++) {
    const [msg] = await deadline(pull.receive(), 5000, `message ${i}`);
    got.push(text(msg));
  }
  await Promise.all(sends);
  assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => String(i)));
});

Deno.test("closing a socket rejects its pending operations; use after close throws", async () => {
  const pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  const pending = [pull.receive(), pull.receive()];
  const push = new Push();
  const pendingSend = push.send("nobody is there");
  pull.close();
  push.close({ linger: 0 });
  for (const p of [...pending, pendingSend]) {
    await assert.rejects(p, (error: unknown) => {
      assert.ok(error instanceof ZmqError);
      assert.equal(error.code, "ENOTSOCK");
      return true;
    });
  }
  await assert.rejects(pull.send("x"), /socket is closed/);
  assert.throws(() => pull.connect("tcp://127.0.0.1:1"), /socket is closed/);
  await assert.rejects(pull.bind("tcp://127.0.0.1:*"), /socket is closed/);
  assert.throws(() => pull.linger, /socket is closed/);
  assert.equal(pull.closed, true);
  // for-await ends quietly on close.
  const sub = new Subscriber();
  const loop = (async () => {
    for await (const _ of sub) assert.fail("no message expected");
  })();
  sub.close();
  await deadline(loop, 1000, "for-await to end");
});

Deno.test("errors are typed and say what failed", async () => {
  await using rep = new Reply();
  await assert.rejects(rep.bind("tcp://127.0.0.1:notaport"), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EINVAL");
    assert.match(error.message, /bind tcp:\/\/127\.0\.0\.1:notaport/);
    return true;
  });
  await assert.rejects(rep.send("reply before request"), (error: unknown) => {
    assert.equal((error as ZmqError).code, "EFSM");
    return true;
  });
  assert.throws(() => new Reply({ nonsense: 1 } as never), /unknown socket option "nonsense"/);
  assert.throws(() => (rep.curveServerKey = "short"), /expected a 40-character Z85 key/);
});

Deno.test("typed options read back", async () => {
  await using sock = new Dealer({
    linger: 250,
    sendHighWaterMark: 77,
    receiveHighWaterMark: 88,
    routingId: "me",
    immediate: true,
    reconnectInterval: 50,
    heartbeatInterval: 1000,
    maxMessageSize: 1 << 20,
  });
  assert.equal(sock.linger, 250);
  assert.equal(sock.sendHighWaterMark, 77);
  assert.equal(sock.receiveHighWaterMark, 88);
  assert.equal(sock.routingId, "me");
  assert.equal(sock.immediate, true);
  assert.equal(sock.reconnectInterval, 50);
  assert.equal(sock.heartbeatInterval, 1000);
  assert.equal(sock.maxMessageSize, 1 << 20);
  assert.equal(sock.lastEndpoint, null);
  await sock.bind("tcp://127.0.0.1:*");
  assert.match(sock.lastEndpoint!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});

Deno.test("open sockets are tracked", () => {
  const before = openSocketCount();
  const a = new Pull();
  const b = new Push();
  assert.equal(openSocketCount(), before + 2);
  a.close();
  b.close();
  assert.equal(openSocketCount(), before);
});

Deno.test("HWM: DEALER blocks without room; ROUTER drops unroutable unless mandatory", async () => {
  await using dealer = new Dealer({ sendHighWaterMark: 1, sendTimeout: 150 });
  await dealer.bind("tcp://127.0.0.1:*");
  // No peer: a DEALER has no pipe to queue on, so the send waits and then times out.
  await assert.rejects(dealer.send("x"), (error: unknown) => {
    assert.equal((error as ZmqError).code, "EAGAIN");
    return true;
  });
  await using router = new Router();
  await router.bind("tcp://127.0.0.1:*");
  // Not mandatory: a message to an unknown peer is dropped silently (the send resolves).
  await router.send(["nobody", "dropped"]);
  router.mandatory = true;
  await assert.rejects(router.send(["nobody", "x"]), /EHOSTUNREACH/);
});

Deno.test("sendQueueLimit: past it a send rejects at once with EAGAIN; queued sends go out", async () => {
  await using push = new Push({ sendQueueLimit: 3 });
  await push.bind("tcp://127.0.0.1:*");
  // No peer yet: every send waits in the socket's queue.
  const queued = [push.send("a"), push.send("b"), push.send("c")];
  const started = performance.now();
  await assert.rejects(push.send("d"), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EAGAIN");
    assert.match(error.message, /send queue full: 3 sends wait for room \(sendQueueLimit\)/);
    return true;
  });
  assert.ok(performance.now() - started < 1000, "the rejection is immediate, not a timeout");
  await using pull = new Pull();
  pull.connect(push.lastEndpoint!);
  await deadline(Promise.all(queued), 5000, "the queued sends");
  const got: string[] = [];
  for (let i = 0; i < 3; i++) got.push(text((await deadline(pull.receive(), 5000, "message"))[0]));
  assert.deepEqual(got, ["a", "b", "c"]);
});

Deno.test("sendQueueLimit defaults to sendHighWaterMark (1000 when unlimited) and is validated", async () => {
  await using a = new Dealer({ sendHighWaterMark: 7 });
  assert.equal(a.sendQueueLimit, 7);
  a.sendHighWaterMark = 0;
  assert.equal(a.sendQueueLimit, 1000);
  a.sendQueueLimit = Infinity;
  assert.equal(a.sendQueueLimit, Infinity);
  await using b = new Dealer();
  assert.equal(b.sendQueueLimit, 1000); // libzmq's default HWM
  assert.throws(() => (b.sendQueueLimit = 0), /sendQueueLimit: expected an integer >= 1/);
  assert.throws(() => new Dealer({ sendQueueLimit: 1.5 }), /got 1.5/);
});

Deno.test("received frames are the caller's: 10,000 kept small frames are never overwritten", async () => {
  await using pull = new Pull({ receiveHighWaterMark: 0 });
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push({ sendHighWaterMark: 0 });
  push.connect(pull.lastEndpoint!);
  const count = 10_000;
  const content = (i: number) => {
    const frame = new Uint8Array(1 + (i * 37) % 300);
    for (let j = 0; j < frame.length; j++) frame[j] = (i + j * 7) & 0xff;
    return frame;
  };
  const kept: Uint8Array[] = [];
  const receiving = (async () => {
    while (kept.length < count) kept.push(...await pull.receive());
  })();
  for (let i = 0; i < count; i++) await push.send(content(i));
  await deadline(receiving, 30_000, "10,000 messages");
  for (let i = 0; i < count; i++) {
    assert.deepEqual(kept[i], content(i), `frame ${i} was overwritten`);
  }
});

Deno.test("bind on an address in use rejects with EADDRINUSE and one clean line", async () => {
  await using first = new Router();
  await first.bind("tcp://127.0.0.1:*");
  const endpoint = first.lastEndpoint!;
  await using second = new Router();
  await assert.rejects(second.bind(endpoint), (error: unknown) => {
    assert.ok(error instanceof ZmqError);
    assert.equal(error.code, "EADDRINUSE");
    assert.equal(error.message, `cannot bind ${endpoint}: address already in use`);
    return true;
  });
});

Deno.test("sendSync sends now or returns false (nothing sent), keeping the order", async () => {
  await using push = new Push({ sendQueueLimit: 10 });
  await push.bind("tcp://127.0.0.1:*");
  assert.equal(push.sendSync("no peer yet"), false, "no pipe: would wait");
  const queued = push.send("first");
  assert.equal(push.sendSync("second"), false, "a queued send goes first");
  await using pull = new Pull();
  pull.connect(push.lastEndpoint!);
  await deadline(queued, 5000, "the queued send");
  assert.equal(push.sendSync(["third", "part"]), true);
  assert.equal(text((await deadline(pull.receive(), 5000, "first"))[0]), "first");
  const third = await deadline(pull.receive(), 5000, "third");
  assert.deepEqual(third.map(text), ["third", "part"]);
  push.close();
  assert.throws(() => push.sendSync("x"), /socket is closed/);
});

Deno.test("receiveInto and receiveSyncInto fill a caller's buffer frame by frame", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  const buffer = new Uint8Array(8);
  assert.equal(pull.receiveSyncInto(buffer), -1, "nothing ready");
  const waiting = pull.receiveInto(buffer); // goes through the reactor
  await push.send(["head", "a longer frame", ""]);
  assert.equal(await deadline(waiting, 5000, "the first frame"), 4);
  assert.equal(text(buffer.subarray(0, 4)), "head");
  assert.equal(pull.more, true);
  let size = pull.receiveSyncInto(buffer);
  if (size < 0) size = await deadline(pull.receiveInto(buffer), 5000, "the second frame");
  assert.equal(size, 14, "the full size of a truncated frame");
  assert.equal(text(buffer), "a longer", "truncated to the buffer");
  assert.equal(pull.more, true);
  assert.equal(await deadline(pull.receiveInto(buffer), 5000, "the empty frame"), 0);
  assert.equal(pull.more, false);
  // In order with receive(): a queued receive goes first, receiveSyncInto waits its turn.
  const first = pull.receive();
  assert.equal(pull.receiveSyncInto(buffer), -1);
  const second = pull.receiveInto(buffer);
  await push.send("one");
  await push.send("two");
  assert.equal(text((await deadline(first, 5000, "one"))[0]), "one");
  assert.equal(await deadline(second, 5000, "two"), 3);
  assert.equal(text(buffer.subarray(0, 3)), "two");
});

Deno.test("receiveView lends frames of ZERO_COPY_THRESHOLD (16 KiB) or more until the next receive; smaller ones are copies", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  const large = new Uint8Array(ZERO_COPY_THRESHOLD + 3).map((_, i) => (i * 7) & 255);
  const sent = large.slice(); // the zero-copy send lends `large` to libzmq
  await push.send(["head", large, ""]);
  const [head, body, tail] = await deadline(pull.receiveView(), 5000, "the lent message");
  assert.equal(text(head), "head");
  assert.deepEqual(body, sent, "the view shows libzmq's bytes");
  assert.equal(tail.byteLength, 0);
  await push.send("next");
  assert.equal(text((await deadline(pull.receive(), 5000, "next"))[0]), "next");
  assert.equal(body.byteLength, 0, "the view is detached once the next message came");
  assert.equal(body[0], undefined, "reading it gives nothing, never freed memory");
  assert.equal(text(head), "head", "a small frame is the caller's copy");
  // A view the caller transferred is never freed: its bytes stay readable.
  await push.send(large);
  const [view] = await deadline(pull.receiveView(), 5000, "the second lent frame");
  const moved = new Uint8Array((view.buffer as ArrayBuffer).transfer());
  await push.send(large);
  await deadline(pull.receiveView(), 5000, "the third lent frame");
  assert.deepEqual(moved, sent);
});

Deno.test("receiveView keeps memory bounded: 2,000 frames of 1 MiB over tcp", async () => {
  const rssMb = () =>
    Number(Deno.readTextFileSync("/proc/self/status").match(/VmRSS:\s+(\d+)/)![1]) / 1024;
  await using pull = new Pull({ receiveHighWaterMark: 16 });
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push({ sendHighWaterMark: 16 });
  push.connect(pull.lastEndpoint!);
  const size = 1024 * 1024;
  const frame = new Uint8Array(size).fill(1);
  const sending = (async () => {
    for (let i = 0; i < 2000; i++) await push.send(frame);
  })();
  let before = 0;
  let peak = 0;
  for (let i = 0; i < 2000; i++) {
    const [view] = await deadline(pull.receiveView(), 10_000, `frame ${i}`);
    assert.equal(view.byteLength, size);
    assert.equal(view[size - 1], 1);
    if (i === 100) before = rssMb();
    if (i > 100 && i % 100 === 0) peak = Math.max(peak, rssMb());
  }
  await sending;
  // 1.9 GB went through; a leak of lent messages would grow RSS by about that much.
  assert.ok(peak - before < 200, `RSS grew ${(peak - before).toFixed(0)} MB over 1,900 frames`);
});

Deno.test("a lent frame stays held while a receiver's view shares it, and is free once released", async () => {
  // inproc hands the sender's message to the receiver: the view is the sender's buffer.
  const endpoint = `inproc://lent-${crypto.randomUUID()}`;
  await using pull = new Pull();
  await pull.bind(endpoint);
  await using push = new Push();
  push.connect(endpoint);
  const frame = new Uint8Array(ZERO_COPY_THRESHOLD).fill(9);
  await push.send(frame);
  assert.equal(zeroCopyHeld(frame), true, "lent once sent");
  const [view] = await deadline(pull.receiveView(), 5000, "the lent frame");
  assert.equal(view[0], 9);
  frame[0] = 5; // (a caller must not do this while held: here it shows the bytes are shared)
  assert.equal(view[0], 5, "the view reads the sender's own buffer: no copy anywhere");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(zeroCopyHeld(frame), true, "still held: the view is live");
  await push.send("next");
  await deadline(pull.receive(), 5000, "next");
  await until(() => !zeroCopyHeld(frame), 5000, "the frame to be released after the view ended");
  assert.equal(view.byteLength, 0);
});

Deno.test("a lent send that cannot go out (no peer) holds nothing", () => {
  using push = new Push({ sendHighWaterMark: 1 });
  const frame = new Uint8Array(ZERO_COPY_THRESHOLD * 4);
  assert.equal(push.sendSync(frame), false, "no peer: would block");
  assert.equal(zeroCopyHeld(frame), false, "a failed send keeps nothing of the caller's");
});
