import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { BadMessageError } from "../codec/schema.ts";
import { createMemoryLogger } from "../role/logger.ts";
import { NoReplyError, type ReqChannel } from "./lazy_pirate.ts";
import { MdpAsyncClient, type MdpAsyncResult, MdpClient, MdpErrorReply } from "./mdp_client.ts";
import { encodeClientRequest, errorReplyBody } from "./mdp_protocol.ts";
import type { Frames } from "./port.ts";

const enc = new TextEncoder();

/** Lets the client's promise chain reach its timer (several microtask turns). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
const text = (frames: Frames) => frames.map((f) => new TextDecoder().decode(f));

/** A REQ channel answering each request with `answer(request)` (or never, for null). */
function fakeReq(answer: (frames: Frames, socket: number) => Frames | null) {
  const requests: Frames[] = [];
  const factory = (socket: number): ReqChannel => {
    let pending: Frames | null = null;
    return {
      send: (frames) => {
        requests.push(frames);
        pending = answer(frames, socket);
        return Promise.resolve();
      },
      receive: () => pending ? Promise.resolve(pending) : new Promise<Frames>(() => {}),
      close: () => {},
    };
  };
  return { factory, requests };
}

Deno.test("MdpClient: sends [MDPC01, service, body] on REQ and returns the reply body", async () => {
  const { factory, requests } = fakeReq((f) => [f[0], f[1], enc.encode("pong")]);
  const client = new MdpClient({ connect: factory, timeoutMs: 1000, retries: 1 });
  assert.deepEqual(text(await client.request("echo", ["ping"])), ["pong"]);
  assert.deepEqual(text(requests[0]), ["MDPC01", "echo", "ping"]);
});

Deno.test("MdpClient: retries on a fresh socket after a timeout (Lazy Pirate)", async () => {
  const clock = new ManualClock();
  const { factory } = fakeReq((f, socket) => socket === 1 ? null : [f[0], f[1], enc.encode("ok")]);
  const client = new MdpClient({ connect: factory, timeoutMs: 1000, retries: 3, clock });
  const reply = client.request("echo", ["x"]);
  await flush();
  await clock.advance(1000);
  assert.deepEqual(text(await reply), ["ok"]);
  assert.equal(client.stats().retries, 1);
  assert.equal(client.stats().socketsOpened, 2);
});

Deno.test("MdpClient: no reply after every attempt is NoReplyError", async () => {
  const clock = new ManualClock();
  const { factory } = fakeReq(() => null);
  const client = new MdpClient({ connect: factory, timeoutMs: 100, retries: 2, clock });
  const reply = client.request("echo", ["x"]);
  const rejected = assert.rejects(reply, NoReplyError);
  await flush();
  await clock.advance(100);
  await flush();
  await clock.advance(100);
  await rejected;
});

Deno.test("MdpClient: a broker error reply is MdpErrorReply; a reply for another service is bad", async () => {
  const refused = fakeReq((
    f,
  ) => [f[0], f[1], ...errorReplyBody("503", "service queue full (2 waiting)")]);
  const client = new MdpClient({ connect: refused.factory, timeoutMs: 1000, retries: 1 });
  await assert.rejects(
    client.request("echo", ["x"]),
    (e) => e instanceof MdpErrorReply && e.code === "503",
  );
  const wrong = fakeReq((f) => [f[0], enc.encode("other"), enc.encode("x")]);
  const client2 = new MdpClient({ connect: wrong.factory, timeoutMs: 1000, retries: 1 });
  await assert.rejects(client2.request("echo", ["x"]), BadMessageError);
});

function asyncSetup(maxInFlight = 3) {
  const clock = new ManualClock();
  const sent: Frames[] = [];
  const results: MdpAsyncResult[] = [];
  const client = new MdpAsyncClient(
    { clock, log: createMemoryLogger(), send: (f) => void sent.push(f) },
    { timeoutMs: 1000, maxInFlight, onResult: (r) => results.push(r) },
  );
  return { clock, sent, results, client };
}

const reply = (service: string, ...body: string[]) => encodeClientRequest(service, body);

Deno.test("MdpAsyncClient: a window of requests, replies matched per service, oldest first", () => {
  const t = asyncSetup(3);
  assert.ok(t.client.send("a", ["1"]));
  t.clock.set(10);
  assert.ok(t.client.send("b", ["2"]));
  assert.ok(t.client.send("a", ["3"]));
  assert.equal(t.client.send("a", ["4"]), false); // window full
  assert.deepEqual(text(t.sent[0]), ["", "MDPC01", "a", "1"]);
  t.clock.set(50);
  t.client.onMessage(reply("a", "1"));
  assert.deepEqual(t.results[0], { ok: true, service: "a", body: [enc.encode("1")], rttMs: 50 });
  t.client.onMessage(reply("b", "2"));
  t.client.onMessage(reply("a", "3"));
  assert.ok(t.client.settled());
  t.client.onMessage(reply("a", "late"));
  assert.equal(t.client.stats().unmatched, 1);
});

Deno.test("MdpAsyncClient: outstanding requests time out; error replies are results too", () => {
  const t = asyncSetup();
  t.client.send("a", ["1"]);
  t.client.send("b", ["2"]);
  t.client.onMessage(
    encodeClientRequest(
      "b",
      errorReplyBody("504", "no worker").map((f) => new TextDecoder().decode(f)),
    ),
  );
  assert.equal(t.results[0].ok, false);
  t.clock.set(999);
  t.client.tick(999);
  assert.equal(t.client.inFlight, 1);
  t.clock.set(1000);
  t.client.tick(1000);
  assert.equal(t.client.inFlight, 0);
  assert.deepEqual(t.results[1], { ok: false, service: "a", error: "timeout", rttMs: 1000 });
  assert.deepEqual({ ...t.client.stats() }, {
    sent: 2,
    replies: 0,
    errors: 1,
    timeouts: 1,
    unmatched: 0,
    sendDropped: 0,
    badMessages: 0,
    inFlight: 0,
  });
  assert.throws(() => t.client.onMessage([enc.encode("MDPC01")]), BadMessageError);
});
