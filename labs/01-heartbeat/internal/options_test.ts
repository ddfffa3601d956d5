import assert from "node:assert/strict";
import { repeatable } from "@lib/role/mod.ts";
import { alertLevel, nodeName, rackName, safeNodeName } from "./options.ts";

Deno.test("repeatable rack names accumulate, split commas and are each checked", () => {
  const parse = repeatable(rackName);
  assert.deepEqual(parse("B", parse("A", [])), ["A", "B"]);
  assert.deepEqual(parse("A, C"), ["A", "C"]);
  assert.throws(() => parse("A,B.C"), /rack name/);
});

Deno.test("names and levels are validated with expected/got messages", () => {
  assert.throws(() => rackName("A.B"), /expected a rack name matching .*, got "A.B"/);
  assert.throws(() => rackName(""), /rack name/);
  assert.equal(nodeName("web-01.example"), "web-01.example");
  assert.throws(() => nodeName("a b"), /node name/);
  assert.equal(alertLevel("warning"), "warning");
  assert.throws(() => alertLevel("ok"), /expected one of warning\|critical, got "ok"/);
  assert.equal(safeNodeName("my host"), "my-host");
  assert.equal(safeNodeName(""), "localhost");
});
