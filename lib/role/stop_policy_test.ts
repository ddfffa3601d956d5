import assert from "node:assert/strict";
import { StopPolicy } from "./stop_policy.ts";

Deno.test("StopPolicy: one Ctrl+C through deno task (two signals within ms) only stops", () => {
  const policy = new StopPolicy();
  assert.equal(policy.request(1000), "stop");
  assert.equal(policy.request(1004), "ignore");
});

Deno.test("StopPolicy: a person's second request (over 1 s later) forces quit", () => {
  const policy = new StopPolicy();
  assert.equal(policy.request(0), "stop");
  assert.equal(policy.request(1000), "ignore", "1 s is still the echo window");
  assert.equal(policy.request(1001), "force");
});

Deno.test("StopPolicy: a third request forces quit even inside the window", () => {
  const policy = new StopPolicy();
  assert.deepEqual([policy.request(0), policy.request(5), policy.request(300)], [
    "stop",
    "ignore",
    "force",
  ]);
});

Deno.test("StopPolicy: a role already stopping by itself ignores the first request", () => {
  const policy = new StopPolicy({ echoWindowMs: 500, forceAt: 4 });
  assert.equal(policy.request(0, true), "ignore");
  assert.equal(policy.request(100, true), "ignore");
  assert.equal(policy.request(200, true), "ignore");
  assert.equal(policy.request(300, true), "force", "the fourth");
  const late = new StopPolicy({ echoWindowMs: 500 });
  late.request(0, true);
  assert.equal(late.request(501, true), "force");
});
