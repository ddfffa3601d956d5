import assert from "node:assert/strict";
import { decode, s } from "@lib/codec/mod.ts";
import { type LoopLog, type RepChannel, serveRequests } from "./agent_loop.ts";
import { Inspector } from "./inspector.ts";
import { encodeRequest } from "./protocol.ts";
import type { SystemProbe } from "./system_probe.ts";

/** A fake REP socket fed by the test. */
class FakeRep implements RepChannel {
  sent: Uint8Array[] = [];
  closed = false;
  #inbox: Uint8Array[][] = [];
  #waiting?: { resolve: (f: Uint8Array[]) => void; reject: (e: Error) => void };
  #onSend?: () => void;
  #onIdle?: () => void;
  push(frames: Uint8Array[]): void {
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w.resolve(frames);
    } else this.#inbox.push(frames);
  }
  receive(): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new Error("ENOTSOCK"));
    const next = this.#inbox.shift();
    if (next) return Promise.resolve(next);
    const pending = new Promise<Uint8Array[]>((
      resolve,
      reject,
    ) => (this.#waiting = { resolve, reject }));
    this.#onIdle?.();
    return pending;
  }
  /** Resolves once the loop waits in receive() with nothing to read. */
  idle(): Promise<void> {
    if (this.#waiting) return Promise.resolve();
    return new Promise((r) => (this.#onIdle = r));
  }
  send(frame: Uint8Array): Promise<void> {
    this.sent.push(frame);
    this.#onSend?.();
    return Promise.resolve();
  }
  nextSend(): Promise<void> {
    return new Promise((r) => (this.#onSend = r));
  }
  close(): void {
    this.closed = true;
    this.#waiting?.reject(new Error("ENOTSOCK"));
  }
}

function memoryLog(): LoopLog & { lines: [string, string, Record<string, unknown>][] } {
  const lines: [string, string, Record<string, unknown>][] = [];
  return {
    lines,
    debug: (e, f = {}) => lines.push(["debug", e, f]),
    info: (e, f = {}) => lines.push(["info", e, f]),
    warn: (e, f = {}) => lines.push(["warn", e, f]),
  };
}

const probe = (disks: SystemProbe["disks"]): SystemProbe => ({
  info: () => Promise.reject(new Error("unused")),
  mem: () => Promise.reject(new Error("unused")),
  processes: () => Promise.resolve([]),
  disks,
});

Deno.test("agent loop: replies to each request in order, logs bad_message, stops on abort", async () => {
  const rep = new FakeRep();
  const log = memoryLog();
  const stop = new AbortController();
  const done = serveRequests(
    rep,
    new Inspector(probe(() => Promise.resolve([]))),
    log,
    stop.signal,
  );
  rep.push([encodeRequest("ping")]);
  rep.push([new Uint8Array([1, 2, 3]), new Uint8Array()]);
  rep.push([encodeRequest("nope")]);
  while (rep.sent.length < 3) await rep.nextSend();
  // deno-lint-ignore no-explicit-any
  const replies = rep.sent.map((b) => decode(b, s.unknown()) as any);
  assert.deepEqual(replies.map((r) => r.ok), [true, false, false]);
  assert.deepEqual(replies.slice(1).map((r) => r.error.code), ["bad_message", "unknown_command"]);
  assert.deepEqual(log.lines.find(([, e]) => e === "bad_message"), [
    "warn",
    "bad_message",
    { reason: "expected 1 frame, got 2", frames: 2, bytes: 3 },
  ]);
  assert.ok(
    log.lines.some(([l, e, f]) =>
      l === "info" && e === "request_failed" && f.code === "unknown_command"
    ),
  );
  await rep.idle(); // the loop is back in receive()
  stop.abort();
  const stats = await done;
  assert.deepEqual(stats, { requests: 3, errors: 2, badMessages: 1 });
  assert.equal(rep.closed, true, "an idle loop closes its socket to end the wait");
});

Deno.test("agent loop: a stop during a request still sends that reply", async () => {
  const rep = new FakeRep();
  const stop = new AbortController();
  let release!: () => void;
  let asked!: () => void;
  const handling = new Promise<void>((r) => (asked = r));
  const slowDisks = () =>
    new Promise<never[]>((r) => {
      release = () => r([]);
      asked();
    });
  const done = serveRequests(rep, new Inspector(probe(slowDisks)), memoryLog(), stop.signal);
  rep.push([encodeRequest("disk")]);
  await handling; // the request is being answered
  stop.abort();
  assert.equal(rep.closed, false, "busy: the socket stays open for the reply");
  release();
  await done;
  assert.equal(rep.sent.length, 1);
  // deno-lint-ignore no-explicit-any
  assert.deepEqual((decode(rep.sent[0], s.unknown()) as any).data, { filesystems: [] });
});
