import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { StorageClient, StorageError } from "./storage_client.ts";
import { decodeStorageRequest, encodeStorage } from "./storage_protocol.ts";

const U = "d".repeat(32);

function setup(maxPending?: number) {
  const clock = new ManualClock();
  const sent: Uint8Array[][] = [];
  const client = new StorageClient(
    { clock, log: createMemoryLogger(), send: (frames) => void sent.push(frames) },
    { timeoutMs: 1000, maxPending },
  );
  return { clock, sent, client };
}

Deno.test("StorageClient: answers matched by id, out of order", async () => {
  const { sent, client } = setup();
  const a = client.call({ op: "get", uuid: U });
  const b = client.call({ op: "remove", uuid: U });
  const [ra, rb] = sent.map((f) => decodeStorageRequest(f[0]));
  client.onMessage([encodeStorage({ id: rb.id, ok: true })]);
  client.onMessage([encodeStorage({ id: ra.id, ok: true, lookup: { state: "unknown" } })]);
  assert.deepEqual((await a).lookup, { state: "unknown" });
  assert.equal((await b).ok, true);
  assert.equal(client.settled(), true);
});

Deno.test("StorageClient: timeouts, the store's errors, a full window, late and bad answers", async () => {
  const { clock, sent, client } = setup(1);
  const a = client.call({ op: "get", uuid: U });
  await assert.rejects(client.call({ op: "get", uuid: U }), /1 calls already pending/);
  clock.set(1000);
  client.tick(clock.now());
  await assert.rejects(
    a,
    (e) => e instanceof StorageError && /no answer within 1000 ms/.test(e.message),
  );
  // Late answer: counted, ignored.
  client.onMessage([encodeStorage({ id: decodeStorageRequest(sent[0][0]).id, ok: true })]);
  assert.equal(client.stats().unmatched, 1);
  const b = client.call({ op: "remove", uuid: U });
  client.onMessage([
    encodeStorage({ id: decodeStorageRequest(sent[1][0]).id, ok: false, error: "disk full" }),
  ]);
  await assert.rejects(b, /storage remove: disk full/);
  assert.throws(() => client.onMessage([]), BadMessageError);
  assert.throws(() => client.onMessage([Uint8Array.of(0xc1)]), BadMessageError);
});
