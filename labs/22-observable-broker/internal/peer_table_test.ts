import assert from "node:assert/strict";
import { identityLabel, PeerTable } from "./peer_table.ts";

const id = (s: string) => new TextEncoder().encode(s);

Deno.test("peer table: FIFO round trips per identity; unmatched replies counted", () => {
  const t = new PeerTable({ capacity: 4, maxPendingPerPeer: 8 });
  t.request(id("a"), 3, 0);
  t.request(id("a"), 3, 1);
  t.request(id("b"), 5, 2);
  assert.equal(t.pending, 3);
  assert.equal(t.reply(id("a"), 3, 10), 10);
  assert.equal(t.reply(id("a"), 3, 11), 10);
  assert.equal(t.reply(id("a"), 3, 12), -1);
  assert.equal(t.pending, 1);
  const [a, b] = t.top(2);
  assert.deepEqual(
    [a.peer, a.requests, a.replies, a.requestBytes, a.replyBytes, a.rttCount, a.rttSumMs],
    ["a", 2, 3, 6, 9, 2, 20],
  );
  assert.equal(b.peer, "b");
  assert.deepEqual(t.stats(), {
    peers: 2,
    evicted: 0,
    unmatched_replies: 1,
    forgotten_requests: 0,
    pending: 1,
  });
});

Deno.test("peer table: bounded; the least active peer is evicted and its count inherited", () => {
  const t = new PeerTable({ capacity: 2, maxPendingPerPeer: 1 });
  for (let i = 0; i < 5; i++) t.request(id("heavy"), 1, i);
  t.request(id("light"), 1, 5);
  t.request(id("new"), 1, 6); // replaces "light" (1 message)
  assert.equal(t.size, 2);
  const top = t.top(10);
  assert.deepEqual(top.map((p) => [p.peer, p.requests, p.overcount]), [
    ["heavy", 5, 0],
    ["new", 1, 1],
  ]);
  // maxPendingPerPeer 1: heavy remembers only its last request; "light"'s pending went with it
  assert.deepEqual(t.stats(), {
    peers: 2,
    evicted: 1,
    unmatched_replies: 0,
    forgotten_requests: 4,
    pending: 2,
  });
});

Deno.test("identityLabel: printable text as is, anything else as 0x hex", () => {
  assert.equal(identityLabel(id("client-1")), "client-1");
  assert.equal(identityLabel(new Uint8Array([0, 0x80, 0, 0, 1])), "0x0080000001");
  assert.equal(identityLabel(new Uint8Array()), "0x");
});
