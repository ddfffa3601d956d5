import assert from "node:assert/strict";
import { BadMessageError } from "../codec/mod.ts";
import { badMessageKey, logBadMessage, serveLoop } from "./serve.ts";
import { createMemoryLogger } from "./logger.ts";

/** A source the test feeds by hand; `fail(error)` makes the pending receive reject. */
class Feed<M> implements AsyncIterable<M> {
  #queue: M[] = [];
  #waiting: { resolve: (r: IteratorResult<M>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  push(message: M) {
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w.resolve({ value: message, done: false });
    } else this.#queue.push(message);
  }
  end() {
    this.#ended = true;
    this.#waiting?.resolve({ value: undefined, done: true });
  }
  fail(error: unknown) {
    this.#waiting?.reject(error);
  }
  get waiting(): boolean {
    return this.#waiting !== undefined;
  }
  [Symbol.asyncIterator](): AsyncIterator<M> {
    return {
      next: () => {
        if (this.#queue.length > 0) {
          return Promise.resolve({ value: this.#queue.shift()!, done: false });
        }
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
      },
    };
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(check(), "condition not reached");
}

Deno.test("serveLoop: handles every message until the source ends", async () => {
  const log = createMemoryLogger();
  const feed = new Feed<string>();
  const seen: string[] = [];
  const done = serveLoop(feed, async (m) => {
    await Promise.resolve();
    seen.push(m);
  }, { log, signal: new AbortController().signal });
  feed.push("a");
  feed.push("b");
  await until(() => seen.length === 2);
  feed.end();
  await done;
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(log.records.length, 0);
});

Deno.test("serveLoop: a handler error is logged once per window and serving goes on", async () => {
  const log = createMemoryLogger();
  const feed = new Feed<string>();
  const seen: string[] = [];
  const done = serveLoop(
    feed,
    (m) => {
      if (m === "boom") throw new Error("handler blew up");
      seen.push(m);
    },
    { log, signal: new AbortController().signal },
    { name: "frontend" },
  );
  for (let i = 0; i < 50; i++) feed.push("boom");
  feed.push("ok");
  await until(() => seen.length === 1);
  feed.end();
  await done;
  const errors = log.events("handler_error");
  assert.equal(errors.length, 1);
  assert.deepEqual(errors[0].fields, { socket: "frontend", error: "handler blew up" });
  assert.equal(errors[0].level, "error");
});

Deno.test("serveLoop: BadMessageError -> bad_message, rate-limited across varied values", async () => {
  let t = 0;
  const log = createMemoryLogger({ limiter: { windowMs: 5000, now: () => t } });
  const feed = new Feed<string>();
  const done = serveLoop(
    feed,
    (m) => {
      throw new BadMessageError(`seq: expected int, got "${m}"`);
    },
    { log, signal: new AbortController().signal },
    { name: "sub" },
  );
  for (let i = 0; i < 30; i++) feed.push(`x${i}`);
  await until(() => !feed.waiting ? false : true);
  t = 5000;
  feed.push("late");
  await until(() => log.events("bad_message").length === 2);
  feed.end();
  await done;
  const [first, second] = log.events("bad_message");
  assert.deepEqual(first.fields, { reason: 'seq: expected int, got "x0"', socket: "sub" });
  assert.equal(first.level, "warn");
  assert.deepEqual(second.fields, {
    reason: 'seq: expected int, got "late"',
    socket: "sub",
    suppressed: 29,
  });
});

Deno.test("serveLoop: a source error is logged once as socket_error and rejects", async () => {
  const log = createMemoryLogger();
  const feed = new Feed<string>();
  const done = serveLoop(feed, () => {}, { log, signal: new AbortController().signal }, {
    name: "backend",
  });
  await until(() => feed.waiting);
  feed.fail(new Error("EFSM"));
  await assert.rejects(done, /EFSM/);
  assert.deepEqual(log.events("socket_error").map((r) => r.fields), [
    { socket: "backend", error: "EFSM" },
  ]);
});

Deno.test("serveLoop: a closed socket (ENOTSOCK) just ends the loop", async () => {
  const log = createMemoryLogger();
  const feed = new Feed<string>();
  const done = serveLoop(feed, () => {}, { log, signal: new AbortController().signal });
  await until(() => feed.waiting);
  feed.fail(Object.assign(new Error("closed"), { code: "ENOTSOCK" }));
  await done;
  assert.equal(log.records.length, 0);
});

Deno.test("serveLoop: the stop signal ends a pending receive; untilClosed keeps serving", async () => {
  const log = createMemoryLogger();
  const stop = new AbortController();
  const feed = new Feed<string>();
  const done = serveLoop(feed, () => {}, { log, signal: stop.signal });
  await until(() => feed.waiting);
  stop.abort();
  await done; // returns although the receive is still pending

  const drainStop = new AbortController();
  const acks = new Feed<string>();
  const seen: string[] = [];
  const draining = serveLoop(acks, (m) => void seen.push(m), { log, signal: drainStop.signal }, {
    untilClosed: true,
  });
  drainStop.abort();
  acks.push("ack-1");
  await until(() => seen.length === 1);
  acks.end();
  await draining;
  assert.deepEqual(seen, ["ack-1"]);
});

Deno.test("serveLoop: a stop during the handler ends the loop after it", async () => {
  const log = createMemoryLogger();
  const stop = new AbortController();
  const feed = new Feed<string>();
  const seen: string[] = [];
  const done = serveLoop(feed, (m) => {
    seen.push(m);
    stop.abort();
  }, { log, signal: stop.signal });
  feed.push("a");
  feed.push("b");
  await done;
  assert.deepEqual(seen, ["a"]);
});

Deno.test("badMessageKey / logBadMessage: peer-chosen text does not make new keys", () => {
  assert.equal(badMessageKey('seq: expected int, got "x17"'), "seq: expected int, got _");
  assert.equal(badMessageKey("expected 3 frames, got 5"), "expected # frames, got #");
  assert.equal(badMessageKey("got 'a\"b'"), "got _");
  const log = createMemoryLogger();
  for (let frames = 1; frames < 100; frames++) {
    logBadMessage(log, `expected 3 frames, got ${frames}`, { socket: "router" });
  }
  logBadMessage(log, "expected 3 frames, got 1", { socket: "dealer" });
  assert.deepEqual(log.events("bad_message").map((r) => r.fields.socket), ["router", "dealer"]);
  for (let i = 0; i < 100; i++) logBadMessage(log, `kind-${String.fromCharCode(97 + (i % 26))}x`);
  assert.ok(log.events("bad_message").length <= 16, "at most 16 bad_message lines per window");
});
