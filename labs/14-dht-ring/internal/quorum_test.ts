import assert from "node:assert/strict";
import { checkQuorums, Quorum, required } from "./quorum.ts";

Deno.test("quorum: met at need, failed once it cannot be met", () => {
  const q = new Quorum(3, 2);
  assert.equal(q.ok(), "pending");
  assert.equal(q.ok(), "met");
  const f = new Quorum(3, 2);
  assert.equal(f.fail(), "pending");
  assert.equal(f.fail(), "failed");
  assert.equal(f.settled, false);
  f.ok();
  assert.equal(f.settled, true);
});

Deno.test("consistency levels and R + W > N", () => {
  assert.equal(required("one", 2, 3), 1);
  assert.equal(required("quorum", 2, 3), 2);
  assert.equal(required("all", 2, 3), 3);
  assert.equal(checkQuorums(3, 2, 2), undefined);
  assert.equal(checkQuorums(3, 1, 3), undefined);
  assert.match(checkQuorums(3, 1, 2)!, /R \+ W > N/);
  assert.match(checkQuorums(3, 4, 2)!, /<= --n/);
});
