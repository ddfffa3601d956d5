import assert from "node:assert/strict";
import { alertLevel, nodeName, rackName, repeatable, safeNodeName } from "./options.ts";

Deno.test("repeatable options accumulate and split commas", () => {
  const parse = repeatable(rackName);
  assert.deepEqual(parse("B", parse("A", [])), ["A", "B"]);
  assert.deepEqual(parse("A, C"), ["A", "C"]);
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
