import assert from "node:assert/strict";
import { repeatable } from "@lib/role/mod.ts";
import { sourcePrefix, topicPrefix } from "./options.ts";

Deno.test("repeatable prefixes: repeated or comma-separated (one semantics in every lab)", () => {
  const parse = repeatable(topicPrefix);
  assert.deepEqual(parse("b", parse("a", [])), ["a", "b"]);
  assert.deepEqual(parse("a/,b/"), ["a/", "b/"]);
});

Deno.test("topicPrefix bounds the size; sourcePrefix the characters", () => {
  assert.equal(topicPrefix("x".repeat(256)), "x".repeat(256));
  assert.throws(
    () => topicPrefix("x".repeat(257)),
    /expected a topic prefix of at most 256 bytes, got 257/,
  );
  assert.equal(sourcePrefix("plant-a/line_1.x"), "plant-a/line_1.x");
  assert.throws(() => sourcePrefix("a b"), /expected 1\.\.64 characters/);
  assert.throws(() => sourcePrefix(""), /got ""/);
});
