import assert from "node:assert/strict";
import { canonicalJson } from "./canonical_json.ts";

Deno.test("canonicalJson sorts keys at every depth and drops whitespace", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, "x"], c: null } }),
    '{"a":{"c":null,"d":[1,"x"]},"b":1}',
  );
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
});

Deno.test("canonicalJson rejects what JSON cannot carry, naming the path", () => {
  assert.throws(() => canonicalJson({ a: [NaN] }), /finite number at \$\.a\[0\]/);
  assert.throws(() => canonicalJson({ a: new Uint8Array(2) }), /plain object at \$\.a/);
  assert.throws(() => canonicalJson({ a: undefined }), /JSON value at \$\.a, got undefined/);
});
