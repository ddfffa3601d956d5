import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { AbortedError, type ReqChannel } from "@lib/patterns/mod.ts";
import { FailoverClient, type FailoverInfo, GaveUpError } from "./failover_client.ts";

/** Lets queued promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A fake server: answers (echo) while `up`, otherwise swallows requests. */
class FakeServer {
  up = true;
  received: string[] = [];
  sockets = 0;
  channel(): ReqChannel {
    this.sockets++;
    let answer: Uint8Array[] | undefined;
    let closed = false;
    return {
      send: (frames) => {
        if (closed) return Promise.reject(new Error("ENOTSOCK"));
        this.received.push(new TextDecoder().decode(frames[0]));
        answer = this.up ? frames : undefined;
        return Promise.resolve();
      },
      // A silent server never answers: the Lazy Pirate timer decides.
      receive: () => answer ? Promise.resolve(answer) : new Promise(() => {}),
      close: () => {
        closed = true;
      },
    };
  }
}

function setup(maxFailovers = 4) {
  const clock = new ManualClock();
  const servers: Record<string, FakeServer> = { a: new FakeServer(), b: new FakeServer() };
  const failovers: FailoverInfo[] = [];
  const stop = new AbortController();
  const client = new FailoverClient({
    servers: ["a", "b"],
    connect: (server) => () => servers[server].channel(),
    timeoutMs: 1000,
    retries: 2,
    settleMs: 2000,
    maxFailovers,
    clock,
    signal: stop.signal,
    onFailover: (info) => failovers.push(info),
  });
  return { clock, servers, failovers, client, stop };
}

const req = (s: string) => [new TextEncoder().encode(s)];

Deno.test("FailoverClient: the first server answers, no failover", async () => {
  const { client, servers } = setup();
  const { reply, server, failovers } = await client.request(req("1"));
  assert.equal(new TextDecoder().decode(reply[0]), "1");
  assert.equal(server, "a");
  assert.equal(failovers, 0);
  assert.deepEqual(servers.b.received, []);
  client.close();
});

Deno.test("FailoverClient: retries on one server, then fails over after the settle delay and sticks", async () => {
  const { client, servers, clock, failovers } = setup();
  servers.a.up = false;
  const done = client.request(req("7"));
  await flush();
  await clock.advance(1000); // attempt 1 on a timed out
  await flush();
  assert.deepEqual(servers.a.received, ["7", "7"], "the Lazy Pirate retry on the same server");
  await clock.advance(1000); // attempt 2 timed out: fail over
  await flush();
  assert.equal(failovers.length, 1);
  assert.deepEqual({ from: failovers[0].from, to: failovers[0].to }, { from: "a", to: "b" });
  assert.deepEqual(servers.b.received, [], "nothing sent before the settle delay");
  await clock.advance(1999);
  await flush();
  assert.deepEqual(servers.b.received, []);
  await clock.advance(1);
  const { server, failovers: n } = await done;
  assert.equal(server, "b");
  assert.equal(n, 1);
  // The next request goes to b directly.
  const next = await client.request(req("8"));
  assert.equal(next.server, "b");
  assert.deepEqual(client.stats(), {
    requests: 2,
    replies: 2,
    failovers: 1,
    gaveUp: 0,
    retries: 1,
    socketsOpened: 3,
  });
  client.close();
});

Deno.test("FailoverClient: gives up after maxFailovers with both servers silent", async () => {
  const { client, servers, clock } = setup(1);
  servers.a.up = false;
  servers.b.up = false;
  const done = client.request(req("1"));
  done.catch(() => {});
  for (let i = 0; i < 10; i++) {
    await flush();
    await clock.advance(1000);
  }
  await assert.rejects(done, (e) => e instanceof GaveUpError && e.failovers === 1);
  assert.equal(client.stats().gaveUp, 1);
  client.close();
});

Deno.test("FailoverClient: abort during the settle delay rejects with AbortedError", async () => {
  const { client, servers, clock, stop } = setup();
  servers.a.up = false;
  const done = client.request(req("1"));
  done.catch(() => {});
  await flush();
  await clock.advance(1000);
  await flush();
  await clock.advance(1000);
  await flush();
  stop.abort();
  await assert.rejects(done, AbortedError);
  client.close();
});

Deno.test("FailoverClient: options are checked", () => {
  const base = {
    connect: () => () => new FakeServer().channel(),
    timeoutMs: 1,
    retries: 1,
    settleMs: 0,
    maxFailovers: 0,
    clock: new ManualClock(),
  };
  assert.throws(() => new FailoverClient({ ...base, servers: [] }), /at least one/);
  assert.throws(() => new FailoverClient({ ...base, servers: ["a"], settleMs: -1 }), RangeError);
});
