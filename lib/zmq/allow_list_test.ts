import assert from "node:assert/strict";
import { allowListAuthorizer } from "./allow_list.ts";
import { curveKeyPair } from "./mod.ts";

Deno.test("allow list: only listed CURVE keys pass, everything else is a 400", () => {
  const alice = curveKeyPair().publicKey;
  const mallory = curveKeyPair().publicKey;
  const decide = allowListAuthorizer([alice]);
  assert.deepEqual(decide({ mechanism: "CURVE", publicKey: alice }), {
    status: 200,
    userId: alice,
  });
  assert.deepEqual(decide({ mechanism: "CURVE", publicKey: mallory }), {
    status: 400,
    text: "client key not allowed",
  });
  assert.deepEqual(decide({ mechanism: "NULL" }), {
    status: 400,
    text: "expected CURVE, got NULL",
  });
});
