import assert from "node:assert/strict";
import { Outbox } from "./outbox.ts";

Deno.test("the outbox holds messages until the peer subscribes, within the hold time and bounds", () => {
  let now = 0;
  const sent: string[] = [];
  const outbox = new Outbox({
    now: () => now,
    publish: (frames) => sent.push(new TextDecoder().decode(frames[0])),
    holdMs: 1000,
    maxHeldPerPeer: 2,
    maxPeers: 2,
  });
  const frame = (s: string) => [new TextEncoder().encode(s)];
  outbox.send("a", frame("a1"));
  outbox.send("a", frame("a2"));
  outbox.send("a", frame("a3")); // a1 dropped: at most 2 per peer
  outbox.send("b", frame("b1"));
  now = 1500;
  outbox.send("b", frame("b2"));
  outbox.subscribed("a"); // a2, a3 are too old by now
  assert.deepEqual(sent, []);
  outbox.subscribed("b");
  assert.deepEqual(sent, ["b2"]);
  outbox.send("a", frame("a4"));
  assert.deepEqual(sent, ["b2", "a4"]);
  assert.equal(outbox.dropped, 4);
  outbox.unsubscribed("a");
  outbox.send("a", frame("a5"));
  outbox.send("c", frame("c1"));
  outbox.send("d", frame("d1")); // a's held list goes: at most 2 peers wait
  assert.equal(outbox.held, 2);
  now = 3000;
  outbox.expire();
  assert.equal(outbox.held, 0);
});
