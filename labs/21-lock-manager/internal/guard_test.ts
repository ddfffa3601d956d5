import assert from "node:assert/strict";
import { FencedCounter } from "./guard.ts";

Deno.test("fencing: a write with a token lower than the highest seen is rejected", () => {
  const c = new FencedCounter({ fencing: true });
  assert.equal(c.handle({ kind: "read", req: 1, token: 1 }).kind, "value");
  assert.equal(c.handle({ kind: "read", req: 2, token: 2 }).kind, "value"); // a newer holder reads
  const stale = c.handle({ kind: "write", req: 3, token: 1, value: 1 });
  assert.deepEqual(stale, {
    kind: "rejected",
    req: 3,
    reason: "stale_token",
    token: 1,
    highest: 2,
  });
  assert.equal(c.handle({ kind: "write", req: 4, token: 2, value: 1 }).kind, "written");
  assert.equal(
    c.handle({ kind: "write", req: 5, token: 2, value: 2 }).kind,
    "written",
    "same holder again",
  );
  assert.deepEqual(c.stats(), { value: 2, highest: 2, reads: 2, writes: 2, rejected: 1 });
});

Deno.test("without fencing every write lands, stale or not", () => {
  const c = new FencedCounter({ fencing: false });
  c.handle({ kind: "write", req: 1, token: 5, value: 10 });
  assert.equal(c.handle({ kind: "write", req: 2, token: 1, value: 3 }).kind, "written");
  assert.equal(c.value, 3);
});
