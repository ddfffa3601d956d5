import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { waitFor } from "@lib/testing/mod.ts";
import { decode, encode, s } from "@lib/codec/mod.ts";
import type { StoredAck, StoreItem } from "./chain_store.ts";
import { encodeRequest, WORKER_HEADER } from "./protocol.ts";
import { WorkerSession } from "./worker_session.ts";

const te = new TextEncoder();

function harness(config: Partial<ConstructorParameters<typeof WorkerSession>[0]> = {}) {
  const clock = new ManualClock();
  const sent: { command: string; body?: unknown }[] = [];
  const batches: StoreItem[][] = [];
  let seq = 0;
  const session = new WorkerSession({
    capacity: 4,
    batchMax: 3,
    heartbeatMs: 100,
    gatewayTimeoutMs: 300,
    delayMs: 0,
    ...config,
  }, {
    clock,
    log: createMemoryLogger(),
    send: (frames) => {
      const [header, command, body] = frames;
      assert.equal(header, WORKER_HEADER);
      sent.push({
        command: String(command),
        ...(body ? { body: decode(body as Uint8Array, s.unknown()) } : {}),
      });
    },
    append: (items) => {
      batches.push(items);
      return Promise.resolve(
        items.map((item): StoredAck => ({
          id: item.id,
          seq: ++seq,
          hash: `h${seq}`,
          duplicate: false,
        })),
      );
    },
  });
  const rec = (id: string) =>
    session.onMessage([
      te.encode(WORKER_HEADER),
      te.encode("REC"),
      encodeRequest({ id, record: { id } }),
    ]);
  const cmd = (c: string) => session.onMessage([te.encode(WORKER_HEADER), te.encode(c)]);
  return { session, sent, batches, rec, cmd, advance: (ms: number) => clock.set(clock.now() + ms) };
}

async function until(cond: () => boolean): Promise<void> {
  await waitFor("the session to get there", cond, { timeoutMs: 5000, intervalMs: 1 });
}

Deno.test("worker registers with its credit, stores in batches and acks each record", async () => {
  const h = harness();
  h.session.start();
  assert.deepEqual(h.sent[0], { command: "READY", body: { capacity: 4 } });
  const ac = new AbortController();
  const running = h.session.run(ac.signal).then(() => h.session.finish(100));
  for (const id of ["a", "b", "c", "d"]) h.rec(id);
  await until(() => h.sent.filter((m) => m.command === "ACK").length >= 2);
  assert.deepEqual(h.batches.map((b) => b.map((i) => i.id)), [["a", "b", "c"], ["d"]]);
  const acked = h.sent.filter((m) => m.command === "ACK").flatMap((m) =>
    m.body as { id: string }[]
  );
  assert.deepEqual(acked.map((a) => a.id), ["a", "b", "c", "d"]);
  ac.abort();
  await until(() => h.sent.at(-1)?.command === "BYE");
  h.cmd("BYE_OK");
  await running;
});

Deno.test("records beyond twice the credit are handed back with NACK", () => {
  const h = harness({ capacity: 1 });
  h.rec("a");
  h.rec("b");
  h.rec("c");
  assert.deepEqual(h.sent, [{ command: "NACK", body: ["c"] }]);
});

Deno.test("worker heartbeats when idle and registers again after gateway silence", () => {
  const h = harness();
  h.session.start();
  h.advance(100);
  h.session.tick();
  assert.equal(h.sent.at(-1)?.command, "HB");
  h.advance(250);
  h.session.tick();
  assert.equal(h.sent.at(-1)?.command, "READY");
  h.cmd("RESET");
  assert.equal(h.sent.at(-1)?.command, "READY");
});

Deno.test("on stop the worker says BYE, then stores what arrived before BYE_OK", async () => {
  const h = harness();
  const ac = new AbortController();
  ac.abort();
  const running = h.session.run(ac.signal).then(() => h.session.finish(5000));
  await until(() => h.sent.at(-1)?.command === "BYE");
  h.rec("late"); // sent by the gateway before it saw BYE
  h.cmd("BYE_OK");
  await running;
  assert.deepEqual(h.batches.flat().map((i) => i.id), ["late"]);
  h.rec("after");
  assert.deepEqual(h.sent.at(-1), { command: "NACK", body: ["after"] });
});

Deno.test("garbage from the gateway is counted and dropped", () => {
  const h = harness();
  h.session.onMessage([te.encode("x")]);
  h.session.onMessage([te.encode(WORKER_HEADER), te.encode("REC"), encode({ nope: 1 })]);
  assert.equal(h.session.stats.badMessages, 2);
});
