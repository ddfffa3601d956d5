import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { Dispatcher, type DispatchPort } from "./dispatcher.ts";
import { TitanicStore } from "./store.ts";

const e = new TextEncoder();
const uuid = (i: number) => i.toString(16).padStart(32, "0");

/** A dispatcher over an in-memory store and a fake broker. */
function setup(services: Record<string, (body: Uint8Array[]) => Promise<Uint8Array[]>>, lanes = 2) {
  const clock = new ManualClock();
  let wall = 1_000;
  const store = new TitanicStore(":memory:");
  let concurrent = 0;
  let maxConcurrent = 0;
  const port: DispatchPort = {
    clock,
    wallNow: () => wall,
    log: createMemoryLogger(),
    due: (limit, exclude) => Promise.resolve(store.due(wall, limit, new Set(exclude))),
    mmi: (_lane, service) => Promise.resolve(service in services ? "200" : "404"),
    request: async (_lane, service, body) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        return await services[service](body);
      } finally {
        concurrent--;
      }
    },
    storeReply: (id, body) => Promise.resolve(void store.putReply(id, body)),
    storeFailure: (id, reason, retryAt) => Promise.resolve(void store.fail(id, reason, retryAt)),
  };
  const dispatcher = new Dispatcher(port, {
    lanes,
    maxAttempts: 3,
    backoff: { initialMs: 100, maxMs: 400, jitter: "none" },
  });
  return {
    store,
    dispatcher,
    advanceWall: (ms: number) => wall += ms,
    maxConcurrent: () => maxConcurrent,
  };
}

Deno.test("Dispatcher: every due request answered, at most `lanes` at once", async () => {
  const { store, dispatcher, maxConcurrent } = setup({
    echo: async (body) => {
      await Promise.resolve();
      return body;
    },
  }, 3);
  for (let i = 0; i < 20; i++) store.putRequest(uuid(i), "echo", [e.encode(`b${i}`)], 0);
  await dispatcher.poll();
  await dispatcher.whenSettled();
  // Lanes pull more as they free up; poll until nothing is left.
  for (let round = 0; round < 20 && store.counts().pending > 0; round++) {
    await dispatcher.poll();
    await dispatcher.whenSettled();
  }
  assert.deepEqual(store.counts(), { pending: 0, done: 20, dead: 0 });
  assert.deepEqual(store.lookup(uuid(7)), { state: "done", body: [e.encode("b7")] });
  assert.ok(maxConcurrent() <= 3, `expected at most 3 at once, got ${maxConcurrent()}`);
  assert.equal(dispatcher.stats().completed, 20);
});

Deno.test("Dispatcher: offline service retried after capped backoff, then dead-lettered with the reason", async () => {
  const { store, dispatcher, advanceWall } = setup({});
  store.putRequest(uuid(1), "nobody", [e.encode("x")], 0);
  await dispatcher.poll();
  await dispatcher.whenSettled();
  assert.deepEqual(store.lookup(uuid(1)), { state: "pending", attempts: 1 });
  await dispatcher.poll(); // not due yet (100 ms backoff)
  await dispatcher.whenSettled();
  assert.deepEqual(store.lookup(uuid(1)), { state: "pending", attempts: 1 });
  advanceWall(100);
  await dispatcher.poll();
  await dispatcher.whenSettled();
  assert.deepEqual(store.lookup(uuid(1)), { state: "pending", attempts: 2 });
  advanceWall(200);
  await dispatcher.poll();
  await dispatcher.whenSettled();
  const dead = store.lookup(uuid(1));
  assert.equal(dead.state, "dead");
  assert.match(dead.state === "dead" ? dead.reason : "", /service "nobody" has no workers/);
  assert.equal(dispatcher.stats().deadLettered, 1);
});

Deno.test("Dispatcher: a failed request stays pending with its attempt counted; stop takes no more work", async () => {
  const { store, dispatcher } = setup({ flaky: () => Promise.reject(new Error("no reply")) });
  store.putRequest(uuid(2), "flaky", [e.encode("x")], 0);
  await dispatcher.poll();
  await dispatcher.whenSettled();
  assert.deepEqual(store.lookup(uuid(2)), { state: "pending", attempts: 1 });
  dispatcher.stop();
  store.putRequest(uuid(3), "flaky", [e.encode("y")], 0);
  await dispatcher.poll();
  assert.equal(dispatcher.stats().dispatched, 1);
});
