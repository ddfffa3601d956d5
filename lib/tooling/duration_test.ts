import assert from "node:assert/strict";
import { parseDuration } from "./duration.ts";

Deno.test("parseDuration accepts ms, s, m, h and bare seconds", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("10"), 10_000);
});

Deno.test("parseDuration rejects anything else, saying what it expected", () => {
  for (const bad of ["", "soon", "-1s", "5 d", "1e3"]) {
    assert.throws(() => parseDuration(bad), /expected a duration like 30s, 500ms, 2m or 1h, got/);
  }
});
