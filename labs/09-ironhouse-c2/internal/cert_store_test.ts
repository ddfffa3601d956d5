import assert from "node:assert/strict";
import { tempDir } from "@lib/testing/mod.ts";
import {
  CertError,
  directorySignature,
  fingerprint,
  generateCert,
  loadCertDirectory,
  readPublicCert,
  readSecretCert,
} from "./cert_store.ts";

Deno.test("generateCert writes a 0600 secret and a public zcert that load back", async () => {
  await using dir = await tempDir();
  const publicKey = await generateCert(`${dir.path}/agent1.key_secret`);
  assert.equal((await Deno.stat(`${dir.path}/agent1.key_secret`)).mode! & 0o777, 0o600);
  assert.equal(await readPublicCert(`${dir.path}/agent1.key`), publicKey);
  const pair = readSecretCert(`${dir.path}/agent1.key_secret`);
  assert.equal(pair.publicKey, publicKey);
  const text = await Deno.readTextFile(`${dir.path}/agent1.key`);
  assert.match(text, /^metadata\n {4}name = "agent1"\ncurve\n {4}public-key = "/m);
  assert.ok(!text.includes("secret-key"), "the public certificate holds no secret");
  await assert.rejects(
    () => generateCert(`${dir.path}/agent1.key_secret`),
    Deno.errors.AlreadyExists,
    "an existing secret is never overwritten",
  );
});

Deno.test("a group/world readable secret is refused without quoting the key", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.key_secret`;
  await generateCert(path);
  const { secretKey } = readSecretCert(path);
  await Deno.chmod(path, 0o644);
  let error: Error | undefined;
  try {
    readSecretCert(path);
  } catch (e) {
    error = e as Error;
  }
  assert.ok(error instanceof CertError);
  assert.match(error.message, /expected mode 0600, got 0644/);
  assert.ok(!error.message.includes(secretKey));
});

Deno.test("a malformed secret key is reported without its text", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bad.key_secret`;
  const leaked = "S3cr3t~~not~z85~~but~forty~characters!!";
  await Deno.writeTextFile(path, `curve\n    secret-key = "${leaked}"\n`, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  let error: Error | undefined;
  try {
    readSecretCert(path);
  } catch (e) {
    error = e as Error;
  }
  assert.ok(error instanceof CertError);
  assert.ok(!error.message.includes(leaked), error.message);
});

Deno.test("loadCertDirectory reads *.key, skips secrets and reports bad files", async () => {
  await using dir = await tempDir();
  const a = await generateCert(`${dir.path}/a.key_secret`);
  await Deno.writeTextFile(`${dir.path}/broken.key`, 'curve\n    public-key = "short"\n');
  const before = await directorySignature(dir.path);
  const loaded = await loadCertDirectory(dir.path);
  assert.deepEqual([...loaded.keys], [[a, "a"]]);
  assert.deepEqual(loaded.problems.map((p) => p.file), ["broken.key"]);
  await Deno.remove(`${dir.path}/a.key`);
  assert.notEqual(await directorySignature(dir.path), before);
  assert.equal(fingerprint(a).length, 16);
});
