import assert from "node:assert/strict";
import { replaceTopLevelKey, stringifyJson } from "./json_text.ts";

Deno.test("stringifyJson: objects expanded, short scalar arrays inline, long ones expanded", () => {
  assert.equal(stringifyJson({ a: [1, "x"], b: {} }), '{\n  "a": [1, "x"],\n  "b": {}\n}');
  const long = Array.from({ length: 12 }, (_, i) => `--allow-something-${i}`);
  assert.ok(stringifyJson({ k: long }).includes('[\n    "--allow-something-0",\n'));
  assert.equal(stringifyJson({ a: undefined, b: null }), '{\n  "b": null\n}');
  assert.deepEqual(JSON.parse(stringifyJson({ x: [{ y: [1] }] })), { x: [{ y: [1] }] });
});

Deno.test("replaceTopLevelKey replaces only that key's value, whatever it holds", () => {
  const text =
    '{\n  "a": { "tasks": 1 },\n  "s": "}{,\\"",\n  "tasks": { "x": [1, 2] },\n  "z": 3\n}\n';
  const out = replaceTopLevelKey(text, "tasks", '{ "y": 2 }');
  assert.equal(
    out,
    '{\n  "a": { "tasks": 1 },\n  "s": "}{,\\"",\n  "tasks": { "y": 2 },\n  "z": 3\n}\n',
  );
  assert.equal(replaceTopLevelKey('{ "z": 3 }', "z", "4"), '{ "z": 4 }');
});

Deno.test("replaceTopLevelKey appends a missing key", () => {
  const out = replaceTopLevelKey('{\n  "a": 1\n}\n', "tasks", "{}");
  assert.deepEqual(JSON.parse(out), { a: 1, tasks: {} });
  assert.deepEqual(JSON.parse(replaceTopLevelKey("{}", "tasks", "{}")), { tasks: {} });
  assert.throws(() => replaceTopLevelKey("[]", "tasks", "{}"), /expected a JSON object/);
});
