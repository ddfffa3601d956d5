import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { PEER_LIVENESS_TABLE, PeerLiveness } from "./peer_liveness.ts";
import { tableMarkdown, validateTable } from "./fsm.ts";

const I = 100; // interval in ms

function setup(rise = 2) {
  const clock = new ManualClock();
  const peers = new PeerLiveness<string>({
    clock,
    intervalMs: I,
    suspectAfter: 2,
    deadAfter: 3,
    rise,
  });
  const at = (t: number) => {
    clock.set(t);
    return peers;
  };
  return { clock, peers, at };
}

Deno.test("a new peer is unknown until two timely messages make it alive", () => {
  const { peers, at } = setup();
  assert.equal(peers.state("n"), "unknown");
  assert.equal(at(0).heard("n"), undefined);
  assert.equal(peers.state("n"), "unknown");
  assert.deepEqual(at(100).heard("n"), {
    peer: "n",
    from: "unknown",
    to: "alive",
    silentMs: 100,
    missed: 1,
  });
});

Deno.test("one late message within the suspect limit does not flap", () => {
  const { peers, at } = setup();
  at(0).heard("n");
  at(100).heard("n");
  assert.deepEqual(at(150).tick(), []);
  assert.deepEqual(at(290).tick(), []);
  assert.equal(at(290).heard("n"), undefined);
  assert.equal(peers.state("n"), "alive");
});

Deno.test("silence: suspect after 2 intervals, dead after 3, each reported once", () => {
  const { at } = setup();
  at(0).heard("n");
  at(100).heard("n");
  assert.deepEqual(at(300).tick(), []); // exactly 2 intervals: not yet
  assert.deepEqual(at(301).tick(), [{
    peer: "n",
    from: "alive",
    to: "suspect",
    silentMs: 201,
    missed: 2,
  }]);
  assert.deepEqual(at(350).tick(), []);
  assert.deepEqual(at(401).tick(), [{
    peer: "n",
    from: "suspect",
    to: "dead",
    silentMs: 301,
    missed: 3,
  }]);
  assert.deepEqual(at(900).tick(), []);
});

Deno.test("a long pause goes straight from alive to dead", () => {
  const { at } = setup();
  at(0).heard("n");
  at(100).heard("n");
  assert.deepEqual(at(1000).tick().map((c) => [c.from, c.to]), [["alive", "dead"]]);
});

Deno.test("a suspect peer needs two timely messages to be alive again", () => {
  const { peers, at } = setup();
  at(0).heard("n");
  at(100).heard("n");
  at(350).tick();
  assert.equal(peers.state("n"), "suspect");
  assert.equal(at(360).heard("n"), undefined); // late: the streak restarts at 1
  assert.equal(peers.state("n"), "suspect");
  assert.equal(at(460).heard("n")?.to, "alive");
});

Deno.test("a dead peer that speaks again is suspect, then alive", () => {
  const { at } = setup();
  at(0).heard("n");
  at(100).heard("n");
  at(1000).tick();
  assert.deepEqual(at(1000).heard("n"), {
    peer: "n",
    from: "dead",
    to: "suspect",
    silentMs: 900,
    missed: 9,
  });
  assert.equal(at(1100).heard("n")?.to, "alive");
});

Deno.test("a peer heard once goes suspect then dead without ever being alive", () => {
  const { at } = setup();
  at(0).heard("n");
  assert.deepEqual(at(201).tick().map((c) => c.to), ["suspect"]);
  assert.deepEqual(at(301).tick().map((c) => c.to), ["dead"]);
});

Deno.test("rise 1: the first message makes a peer alive, a dead one alive at once", () => {
  const { at } = setup(1);
  assert.equal(at(0).heard("n")?.to, "alive");
  at(1000).tick();
  assert.equal(at(1000).heard("n")?.to, "alive");
});

Deno.test("silence is whole ms on the injected clock; stats and forget", () => {
  const { peers, at } = setup();
  at(0.25).heard("a");
  at(10).heard("b");
  at(100.5).heard("a");
  assert.equal(peers.silentMs("a", 309.9), 209);
  const [a, b] = at(301.2).tick();
  assert.deepEqual(a, { peer: "a", from: "alive", to: "suspect", silentMs: 201, missed: 2 });
  assert.deepEqual(b, { peer: "b", from: "unknown", to: "suspect", silentMs: 291, missed: 2 });
  assert.deepEqual(peers.stats(), { peers: 2, alive: 0, suspect: 2, dead: 0, unknown: 0 });
  assert.equal(peers.forget("b"), true);
  assert.equal(peers.size, 1);
  assert.equal(peers.state("b"), "unknown");
  assert.equal(peers.silentMs("b"), undefined);
});

Deno.test("thresholds are validated", () => {
  const clock = new ManualClock();
  assert.throws(() => new PeerLiveness({ clock, intervalMs: 0 }), /intervalMs: expected > 0/);
  assert.throws(
    () => new PeerLiveness({ clock, intervalMs: 10, suspectAfter: 3, deadAfter: 3 }),
    /suspectAfter < deadAfter, got suspectAfter=3 deadAfter=3/,
  );
  assert.throws(() => new PeerLiveness({ clock, intervalMs: 10, rise: 0 }), /rise: expected/);
});

Deno.test("the table is valid and prints every state", () => {
  validateTable(PEER_LIVENESS_TABLE);
  const md = tableMarkdown(PEER_LIVENESS_TABLE);
  for (const s of PEER_LIVENESS_TABLE.states) assert.match(md, new RegExp(`\\| \\**${s}\\**`));
  assert.match(md, /\[risen\] alive; else suspect/);
});
