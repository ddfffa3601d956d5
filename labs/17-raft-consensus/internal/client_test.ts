import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { ClientSession, type Transport } from "./client.ts";
import type { ClientRequest } from "./protocol.ts";

Deno.test("client: follows a redirect, retries the same (client, seq) after a lost reply", async () => {
  const clock = new ManualClock();
  const seen: [string, ClientRequest][] = [];
  let lost = 1;
  const transport: Transport = (endpoint, request) => {
    seen.push([endpoint, request]);
    if (endpoint === "a") {
      return Promise.resolve({ kind: "redirect", rid: request.rid, leader: "n2", endpoint: "b" });
    }
    if (lost-- > 0) return Promise.resolve(null); // the reply was lost
    return Promise.resolve({
      kind: "ok",
      rid: request.rid,
      value: null,
      index: 7,
      duplicate: true,
    });
  };
  const session = new ClientSession({
    nodes: ["a", "b", "c"],
    client: "c1",
    transport,
    clock,
    attemptTimeoutMs: 100,
    deadlineMs: 5000,
  });
  const out = await session.run({ kind: "put", key: "x", value: "1" });
  assert.equal(out.status, "ok");
  assert.equal(out.duplicate, true);
  // a (redirect) -> b (lost) -> c? no: a timeout moves on to the next node in the list.
  const writes = seen.map(([, r]) => r).filter((r) => r.kind === "put");
  assert.ok(writes.every((r) => r.kind === "put" && r.client === "c1" && r.seq === 1));
  assert.equal(
    new Set(writes.map((r) => r.rid)).size,
    writes.length,
    "every attempt has its own rid",
  );
  const next = await session.run({ kind: "put", key: "x", value: "2" });
  assert.equal(next.status, "ok");
  assert.equal(seen.at(-1)![1].kind === "put" && (seen.at(-1)![1] as { seq: number }).seq, 2);
});

Deno.test("client: a write past its deadline is unknown, a read failed", async () => {
  const clock = new ManualClock();
  const transport: Transport = async (_e, _r, timeout) => {
    await clock.advance(timeout);
    return null;
  };
  const session = new ClientSession({
    nodes: ["a", "b"],
    client: "c1",
    transport,
    clock,
    attemptTimeoutMs: 100,
    deadlineMs: 450,
  });
  const w = await session.run({ kind: "put", key: "x", value: "1" });
  assert.equal(w.status, "unknown");
  assert.equal(w.attempts, 5);
  assert.equal((await session.run({ kind: "get", key: "x" })).status, "failed");
});
