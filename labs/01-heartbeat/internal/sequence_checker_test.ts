import assert from "node:assert/strict";
import { checkSequence } from "./sequence_checker.ts";

Deno.test("first, next, gap, stale and restart verdicts", () => {
  assert.deepEqual(checkSequence(undefined, "b1", 5), { kind: "first" });
  assert.deepEqual(checkSequence({ bootId: "b1", lastSeq: 5 }, "b1", 6), { kind: "next" });
  assert.deepEqual(checkSequence({ bootId: "b1", lastSeq: 5 }, "b1", 9), {
    kind: "gap",
    expected: 6,
    got: 9,
    missing: 3,
  });
  assert.deepEqual(checkSequence({ bootId: "b1", lastSeq: 5 }, "b1", 5), {
    kind: "stale",
    lastSeq: 5,
    got: 5,
  });
  assert.deepEqual(checkSequence({ bootId: "b1", lastSeq: 5 }, "b2", 0), {
    kind: "restart",
    previousBootId: "b1",
    previousSeq: 5,
  });
});

Deno.test("a restart with a high seq is not a gap", () => {
  assert.equal(checkSequence({ bootId: "b1", lastSeq: 900 }, "b2", 3).kind, "restart");
});
