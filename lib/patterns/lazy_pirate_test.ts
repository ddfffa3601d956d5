import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { curveKeyPair, Reply, Router } from "../zmq/mod.ts";
import {
  AbortedError,
  HandshakeError,
  LazyPirateClient,
  type LazyPirateOptions,
  NoReplyError,
  type ReqChannel,
  zmqReqFactory,
} from "./lazy_pirate.ts";

/** Lets queued promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A fake REQ socket: records sends; replies or fails when the test says so. */
class FakeReq implements ReqChannel {
  sent: Uint8Array[][] = [];
  closed = false;
  #pending?: { resolve: (f: Uint8Array[]) => void; reject: (e: Error) => void };
  send(frames: Uint8Array[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("ENOTSOCK"));
    this.sent.push(frames);
    return Promise.resolve();
  }
  receive(): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => (this.#pending = { resolve, reject }));
  }
  reply(frames: Uint8Array[]): void {
    this.#pending?.resolve(frames);
  }
  fail(err: Error): void {
    this.#pending?.reject(err);
  }
  close(): void {
    this.closed = true;
    this.#pending?.reject(new Error("ENOTSOCK"));
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function setup(timeoutMs = 1000, retries = 3, extra: Partial<LazyPirateOptions> = {}) {
  const clock = new ManualClock();
  const sockets: FakeReq[] = [];
  const retriesSeen: number[] = [];
  const client = new LazyPirateClient({
    connect: () => {
      const s = new FakeReq();
      sockets.push(s);
      return s;
    },
    timeoutMs,
    retries,
    clock,
    onRetry: (info) => retriesSeen.push(info.attempt),
    ...extra,
  });
  return { clock, sockets, retriesSeen, client };
}

Deno.test("lazy pirate: a prompt reply resolves and keeps the socket for the next request", async () => {
  const { clock, sockets, client } = setup();
  const p = client.request([bytes("one")]);
  await flush();
  assert.equal(sockets.length, 1);
  assert.deepEqual(sockets[0].sent.map((f) => text(f[0])), ["one"]);
  assert.equal(client.settled(), false);
  sockets[0].reply([bytes("r1")]);
  assert.equal(text((await p)[0]), "r1");
  assert.equal(clock.pending, 0, "the timer is cancelled after the reply");

  const p2 = client.request([bytes("two")]);
  await flush();
  sockets[0].reply([bytes("r2")]);
  assert.equal(text((await p2)[0]), "r2");
  assert.equal(client.settled(), true, "settled as soon as the reply is handed over");
  assert.equal(sockets.length, 1, "no reopen without a lost reply");
  assert.equal(sockets[0].closed, false);
  assert.deepEqual(client.stats(), {
    requests: 2,
    replies: 2,
    retries: 0,
    noReply: 0,
    failed: 0,
    socketsOpened: 1,
  });
  client.close();
  assert.equal(sockets[0].closed, true);
});

Deno.test("lazy pirate: a lost reply closes the socket, opens a new one and resends", async () => {
  const { clock, sockets, retriesSeen, client } = setup(1000, 3);
  const p = client.request([bytes("q")]);
  await flush();
  await clock.advance(999);
  assert.equal(sockets.length, 1, "no retry before the timeout");
  await clock.advance(1);
  assert.equal(sockets[0].closed, true, "the stuck REQ socket is closed");
  assert.equal(sockets.length, 2, "a fresh socket is opened");
  assert.deepEqual(sockets[1].sent.map((f) => text(f[0])), ["q"], "the request is resent");
  assert.deepEqual(retriesSeen, [1]);
  sockets[1].reply([bytes("late but fine")]);
  assert.equal(text((await p)[0]), "late but fine");
  assert.equal(client.socketsOpened, 2);
  assert.equal(client.stats().retries, 1);
});

Deno.test("lazy pirate: gives up after `retries` attempts, within timeoutMs × retries", async () => {
  const { clock, sockets, retriesSeen, client } = setup(500, 3);
  const p = client.request([bytes("q")]);
  const outcome = p.then(() => "resolved", (e) => e);
  await flush();
  await clock.advance(500);
  await clock.advance(500);
  assert.equal(sockets.length, 3);
  await clock.advance(499);
  assert.equal(await Promise.race([outcome, Promise.resolve("pending")]), "pending");
  await clock.advance(1);
  const err = await outcome;
  assert.ok(err instanceof NoReplyError, `expected NoReplyError, got ${err}`);
  assert.equal(err.attempts, 3);
  assert.equal(err.elapsedMs, 1500);
  assert.match(err.message, /no reply after 3 attempts of 500 ms each/);
  assert.equal(sockets.length, 3, "no fourth attempt");
  assert.ok(sockets.every((s) => s.closed), "every socket is closed");
  assert.deepEqual(retriesSeen, [1, 2]);
  assert.equal(clock.pending, 0);
  assert.equal(client.stats().noReply, 1);
});

Deno.test("lazy pirate: retries = 1 means one attempt and no retry", async () => {
  const { clock, sockets, retriesSeen, client } = setup(100, 1);
  const p = client.request([bytes("q")]).catch((e) => e);
  await flush();
  await clock.advance(100);
  assert.ok(await p instanceof NoReplyError);
  assert.equal(sockets.length, 1);
  assert.deepEqual(retriesSeen, []);
});

Deno.test("lazy pirate: a socket error rejects at once, no retry; the next request gets a new socket", async () => {
  const { clock, sockets, client, retriesSeen } = setup();
  const p = client.request([bytes("q")]).catch((e) => e);
  await flush();
  sockets[0].fail(new HandshakeError("tcp://x:1", "protocol", "ZMTP_MECHANISM_MISMATCH"));
  const err = await p;
  assert.ok(err instanceof HandshakeError && err.mechanismMismatch, String(err));
  assert.equal(clock.now(), 0, "no time had to pass");
  assert.deepEqual(retriesSeen, []);
  assert.equal(sockets[0].closed, true);
  const p2 = client.request([bytes("q2")]);
  await flush();
  assert.equal(sockets.length, 2);
  sockets[1].reply([bytes("ok")]);
  assert.equal(text((await p2)[0]), "ok");
  assert.equal(client.stats().failed, 1);
});

Deno.test("lazy pirate: requests made while one is in flight wait their turn", async () => {
  const { sockets, client } = setup();
  const first = client.request([bytes("a")]);
  const second = client.request([bytes("b")]);
  await flush();
  assert.deepEqual(sockets[0].sent.map((f) => text(f[0])), ["a"], "REQ sends one at a time");
  sockets[0].reply([bytes("ra")]);
  assert.equal(text((await first)[0]), "ra");
  await flush();
  assert.deepEqual(sockets[0].sent.map((f) => text(f[0])), ["a", "b"]);
  assert.equal(client.settled(), false);
  sockets[0].reply([bytes("rb")]);
  assert.equal(text((await second)[0]), "rb");
  assert.equal(client.settled(), true);
});

Deno.test("lazy pirate: aborting the signal ends the wait at once", async () => {
  const abort = new AbortController();
  const { clock, sockets, client } = setup(10_000, 5, { signal: abort.signal });
  const p = client.request([bytes("q")]).catch((e) => e);
  await flush();
  abort.abort();
  assert.ok(await p instanceof AbortedError);
  assert.equal(sockets.length, 1, "no retry after abort");
  assert.equal(sockets[0].closed, true);
  assert.equal(clock.now(), 0, "no time had to pass");
});

Deno.test("lazy pirate: rejects bad options with what was expected", () => {
  const connect = () => new FakeReq();
  assert.throws(
    () => new LazyPirateClient({ connect, timeoutMs: 0, retries: 1 }),
    /timeoutMs: expected a positive number, got 0/,
  );
  assert.throws(
    () => new LazyPirateClient({ connect, timeoutMs: 10, retries: 0 }),
    /retries: expected an integer >= 1, got 0/,
  );
});

Deno.test("lazy pirate over ZeroMQ: a dropped request is resent on a new socket and answered", async () => {
  // A server that ignores the first request it sees, as a crashed-and-restarted one would.
  await using router = new Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  const served = (async () => {
    let seen = 0;
    for await (const [id, , body] of router) {
      if (++seen === 1) continue;
      await router.send([id, new Uint8Array(), body, bytes("!")]);
      return seen;
    }
  })();
  const retries: number[] = [];
  const client = new LazyPirateClient({
    connect: zmqReqFactory({ endpoint: router.lastEndpoint! }),
    timeoutMs: 300,
    retries: 3,
    onRetry: (info) => retries.push(info.attempt),
  });
  try {
    const reply = await client.request([bytes("hello")]);
    assert.deepEqual(reply.map(text), ["hello", "!"]);
    assert.equal(await served, 2);
    assert.deepEqual(retries, [1]);
    assert.equal(client.socketsOpened, 2);
  } finally {
    client.close();
  }
});

Deno.test("lazy pirate over ZeroMQ: a mechanism mismatch fails at once with HandshakeError", async () => {
  const server = curveKeyPair();
  const client = curveKeyPair();
  const cases = [
    {
      name: "plain client, CURVE server",
      server: { curveServer: true, curveSecretKey: server.secretKey },
      client: {},
    },
    {
      name: "CURVE client, plain server",
      server: {},
      client: {
        curveServerKey: server.publicKey,
        curvePublicKey: client.publicKey,
        curveSecretKey: client.secretKey,
      },
    },
  ];
  for (const c of cases) {
    await using rep = new Reply({ linger: 0, ...c.server });
    await rep.bind("tcp://127.0.0.1:*");
    const events: string[] = [];
    const pirate = new LazyPirateClient({
      connect: zmqReqFactory({
        endpoint: rep.lastEndpoint!,
        socket: c.client,
        onEvent: (type) => events.push(type),
      }),
      // Far longer than the test could wait: a failure by timeout would hang it.
      timeoutMs: 60_000,
      retries: 3,
    });
    try {
      const err = await pirate.request([bytes("q")]).catch((e) => e);
      assert.ok(err instanceof HandshakeError, `${c.name}: expected HandshakeError, got ${err}`);
      assert.equal(err.failure, "protocol", c.name);
      assert.equal(err.code, "ZMTP_MECHANISM_MISMATCH", c.name);
      assert.ok(err.mechanismMismatch);
      assert.match(err.message, /handshake with tcp:\/\/127\.0\.0\.1:\d+ failed/);
      assert.ok(events.includes("handshake:error:protocol"), events.join(","));
      assert.equal(pirate.stats().retries, 0, "a failed handshake is not retried");
    } finally {
      pirate.close();
    }
  }
});
