import assert from "node:assert/strict";
import { fingerprint, generateCert, readPublicCert, readSecretCert } from "@lib/zmq/zcert.ts";
import { tempDir } from "@lib/testing/mod.ts";
import {
  isPublicKey,
  promoteStagedKey,
  Rotations,
  stagedPath,
  stageNewKey,
} from "./key_rotation.ts";

Deno.test("agent side: stage a 0600 secret only, then promote it over the old pair", async () => {
  await using dir = await tempDir();
  const secret = `${dir.path}/agent1.key_secret`;
  const old = await generateCert(secret);
  const next = stageNewKey(secret, { name: "agent1" });
  assert.notEqual(next, old);
  assert.equal((await Deno.stat(stagedPath(secret))).mode! & 0o777, 0o600);
  assert.equal(
    await Deno.stat(`${dir.path}/agent1.next.key`).then(() => true, () => false),
    false,
    "no public file is staged (it could land in an allow-list directory)",
  );
  assert.equal(readSecretCert(secret).publicKey, old, "nothing changes before the commit");
  assert.throws(
    () => promoteStagedKey(secret, fingerprint(old)),
    /not the one the server enrolled/,
  );
  const promoted = promoteStagedKey(secret, fingerprint(next));
  assert.equal(promoted.publicKey, next);
  assert.equal(readSecretCert(secret).publicKey, next);
  assert.equal((await Deno.stat(secret)).mode! & 0o777, 0o600);
  assert.equal(await readPublicCert(`${dir.path}/agent1.key`), next);
  assert.throws(() => promoteStagedKey(secret, fingerprint(next)), /no staged key/);
  assert.ok(isPublicKey(next) && !isPublicKey("short") && !isPublicKey(42));
});

Deno.test("server side: due after everyMs, one rotation per key, finished by the new key, expired", () => {
  const rotations = new Rotations({ everyMs: 1000, timeoutMs: 5000, max: 10 });
  assert.equal(rotations.due("old", 0), false);
  assert.equal(rotations.due("old", 999), false);
  assert.equal(rotations.due("old", 1000), true);
  const inUse = (key: string) => key === "taken";
  assert.deepEqual(rotations.start("old", "taken", "a1", 1000, inUse), {
    ok: false,
    reason: "the new key is already in use",
  });
  const started = rotations.start("old", "new", "a1", 1000, inUse);
  assert.ok(started.ok);
  assert.equal(rotations.due("old", 5000), false, "not twice at once");
  assert.equal(rotations.start("old", "new2", "a1", 1001, inUse).ok, false);
  assert.equal(rotations.finish("unknown", 2000), undefined);
  assert.equal(rotations.finish("new", 2000)?.oldKey, "old");
  assert.equal(rotations.size, 0);
  assert.equal(rotations.due("new", 2999), false);
  assert.equal(rotations.due("new", 3000), true);
  assert.ok(rotations.start("new", "newer", "a1", 3000, inUse).ok);
  assert.deepEqual(rotations.expire(7999), []);
  assert.deepEqual(rotations.expire(8000).map((r) => r.newKey), ["newer"]);
  assert.equal(new Rotations({ everyMs: 0, timeoutMs: 1, max: 1 }).due("k", 1e9), false);
});
