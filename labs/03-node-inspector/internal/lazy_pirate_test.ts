import assert from "node:assert/strict";
import {
  AbortedError,
  LazyPirateClient,
  NoReplyError,
  type PirateClock,
  type ReqChannel,
} from "./lazy_pirate.ts";

/** A manual clock: `wait` resolves only when `advance` passes its deadline. */
class FakeClock implements PirateClock {
  #now = 0;
  #waiters: { at: number; resolve: () => void }[] = [];
  now(): number {
    return this.#now;
  }
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { at: this.#now + ms, resolve };
      this.#waiters.push(waiter);
      signal.addEventListener("abort", () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      }, { once: true });
    });
  }
  get pending(): number {
    return this.#waiters.length;
  }
  async advance(ms: number): Promise<void> {
    this.#now += ms;
    const due = this.#waiters.filter((w) => w.at <= this.#now);
    this.#waiters = this.#waiters.filter((w) => w.at > this.#now);
    for (const w of due) w.resolve();
    await flush();
  }
}

/** Lets queued promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A fake REQ socket: records sends; replies when the test says so. */
class FakeReq implements ReqChannel {
  sent: Uint8Array[][] = [];
  closed = false;
  #pending?: { resolve: (f: Uint8Array[]) => void; reject: (e: Error) => void };
  constructor(readonly id: number) {}
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

function setup(timeout = 1000, retries = 3) {
  const clock = new FakeClock();
  const sockets: FakeReq[] = [];
  const retriesSeen: number[] = [];
  const client = new LazyPirateClient({
    factory: (attempt) => {
      const s = new FakeReq(attempt);
      sockets.push(s);
      return s;
    },
    timeout,
    retries,
    clock,
    onRetry: (info) => retriesSeen.push(info.attempt),
  });
  return { clock, sockets, retriesSeen, client };
}

Deno.test("lazy pirate: a prompt reply resolves and keeps the socket for the next request", async () => {
  const { clock, sockets, client } = setup();
  const p = client.request([bytes("one")]);
  await flush();
  assert.equal(sockets.length, 1);
  assert.deepEqual(sockets[0].sent.map((f) => text(f[0])), ["one"]);
  sockets[0].reply([bytes("r1")]);
  assert.equal(text((await p)[0]), "r1");
  assert.equal(clock.pending, 0, "the timer is cancelled after the reply");

  const p2 = client.request([bytes("two")]);
  await flush();
  sockets[0].reply([bytes("r2")]);
  assert.equal(text((await p2)[0]), "r2");
  assert.equal(sockets.length, 1, "no reopen without a lost reply");
  assert.equal(sockets[0].closed, false);
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
});

Deno.test("lazy pirate: gives up after `retries` attempts, within timeout × retries", async () => {
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
  assert.equal(err.elapsed, 1500);
  assert.match(err.message, /no reply after 3 attempts of 500 ms each/);
  assert.equal(sockets.length, 3, "no fourth attempt");
  assert.ok(sockets.every((s) => s.closed), "every socket is closed");
  assert.deepEqual(retriesSeen, [1, 2]);
  assert.equal(clock.pending, 0);
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

Deno.test("lazy pirate: a socket error rejects at once and the next request gets a new socket", async () => {
  const { sockets, client } = setup();
  const p = client.request([bytes("q")]).catch((e) => e);
  await flush();
  sockets[0].fail(new Error("EPROTO boom"));
  assert.match(String(await p), /EPROTO boom/);
  assert.equal(sockets[0].closed, true);
  const p2 = client.request([bytes("q2")]);
  await flush();
  assert.equal(sockets.length, 2);
  sockets[1].reply([bytes("ok")]);
  assert.equal(text((await p2)[0]), "ok");
});

Deno.test("lazy pirate: aborting the signal ends the wait at once", async () => {
  const clock = new FakeClock();
  const abort = new AbortController();
  const sockets: FakeReq[] = [];
  const client = new LazyPirateClient({
    factory: (n) => {
      const s = new FakeReq(n);
      sockets.push(s);
      return s;
    },
    timeout: 10_000,
    retries: 5,
    clock,
    signal: abort.signal,
  });
  const p = client.request([bytes("q")]).catch((e) => e);
  await flush();
  abort.abort();
  assert.ok(await p instanceof AbortedError);
  assert.equal(sockets.length, 1, "no retry after abort");
  assert.equal(sockets[0].closed, true);
  assert.equal(clock.now(), 0, "no time had to pass");
});

Deno.test("lazy pirate: rejects bad options with what was expected", () => {
  const factory = () => new FakeReq(0);
  assert.throws(
    () => new LazyPirateClient({ factory, timeout: 0, retries: 1 }),
    /timeout: expected a positive number of ms, got 0/,
  );
  assert.throws(
    () => new LazyPirateClient({ factory, timeout: 10, retries: 0 }),
    /retries: expected an integer >= 1, got 0/,
  );
});
