import assert from "node:assert/strict";
import { LivenessTracker } from "./liveness_tracker.ts";

const I = 100; // interval in ms

function tracker() {
  return new LivenessTracker<string>({ intervalMs: I, suspectAfter: 2, deadAfter: 3, rise: 2 });
}

Deno.test("a new node is unknown until two timely beats make it alive", () => {
  const t = tracker();
  assert.equal(t.state("n"), "unknown");
  assert.equal(t.beat("n", 0), undefined);
  assert.equal(t.state("n"), "unknown");
  const change = t.beat("n", 100);
  assert.deepEqual(change, { key: "n", from: "unknown", to: "alive", silentMs: 100, missed: 1 });
});

Deno.test("one late beat within the suspect limit does not flap", () => {
  const t = tracker();
  t.beat("n", 0);
  t.beat("n", 100);
  // next beat is 90 ms late (1.9 intervals): nothing changes while we wait or when it comes
  assert.deepEqual(t.tick(150), []);
  assert.deepEqual(t.tick(290), []);
  assert.equal(t.beat("n", 290), undefined);
  assert.equal(t.state("n"), "alive");
});

Deno.test("silence makes a node suspect after 2 intervals and dead after 3", () => {
  const t = tracker();
  t.beat("n", 0);
  t.beat("n", 100);
  assert.deepEqual(t.tick(300), []); // exactly 2 intervals: not yet
  assert.deepEqual(t.tick(301), [{
    key: "n",
    from: "alive",
    to: "suspect",
    silentMs: 201,
    missed: 2,
  }]);
  assert.deepEqual(t.tick(350), []);
  assert.deepEqual(t.tick(401), [{
    key: "n",
    from: "suspect",
    to: "dead",
    silentMs: 301,
    missed: 3,
  }]);
  assert.deepEqual(t.tick(900), []); // reported once
});

Deno.test("a suspect node needs two timely beats to be alive again", () => {
  const t = tracker();
  t.beat("n", 0);
  t.beat("n", 100);
  t.tick(350);
  assert.equal(t.state("n"), "suspect");
  assert.equal(t.beat("n", 360), undefined); // late beat: streak restarts at 1
  assert.equal(t.state("n"), "suspect");
  assert.equal(t.beat("n", 460)?.to, "alive");
});

Deno.test("a dead node that beats again is suspect, then alive", () => {
  const t = tracker();
  t.beat("n", 0);
  t.beat("n", 100);
  t.tick(1000);
  assert.equal(t.state("n"), "dead");
  assert.deepEqual(t.beat("n", 1000), {
    key: "n",
    from: "dead",
    to: "suspect",
    silentMs: 900,
    missed: 9,
  });
  assert.equal(t.beat("n", 1100)?.to, "alive");
});

Deno.test("a node seen once goes suspect then dead without ever being alive", () => {
  const t = tracker();
  t.beat("n", 0);
  assert.deepEqual(t.tick(201).map((c) => c.to), ["suspect"]);
  assert.deepEqual(t.tick(301).map((c) => c.to), ["dead"]);
});

Deno.test("rise 1 makes the first beat alive", () => {
  const t = new LivenessTracker<string>({ intervalMs: I, rise: 1 });
  assert.equal(t.beat("n", 0)?.to, "alive");
});

Deno.test("thresholds are validated", () => {
  assert.throws(() => new LivenessTracker({ intervalMs: 0 }), /intervalMs/);
  assert.throws(
    () => new LivenessTracker({ intervalMs: 10, suspectAfter: 3, deadAfter: 3 }),
    /suspectAfter < deadAfter/,
  );
});
