import assert from "node:assert/strict";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { TrustList } from "./trust.ts";

Deno.test("apply reports added and removed keys; decide admits only listed CURVE keys", () => {
  const [a, b, c] = [curveKeyPair(), curveKeyPair(), curveKeyPair()].map((p) => p.publicKey);
  const trust = new TrustList();
  assert.deepEqual(trust.apply(new Map([[a, "a"], [b, "b"]])), { added: [a, b], removed: [] });
  assert.deepEqual(trust.decide({ mechanism: "CURVE", publicKey: a }), {
    status: 200,
    userId: a,
  });
  assert.equal(trust.decide({ mechanism: "CURVE", publicKey: c }).status, 400);
  assert.equal(trust.decide({ mechanism: "NULL" }).status, 400);
  assert.equal(trust.decide({ mechanism: "PLAIN" }).status, 400);
  // Rotation: b's new key c replaces b.
  assert.deepEqual(trust.apply(new Map([[a, "a"], [c, "b"]])), { added: [c], removed: [b] });
  assert.equal(trust.decide({ mechanism: "CURVE", publicKey: b }).status, 400);
  assert.equal(trust.name(c), "b");
  assert.equal(trust.size, 2);
});
