import assert from "node:assert/strict";
import { pythonWithZmq, tempDir } from "@lib/testing/mod.ts";
import { curveKeyPair } from "./curve.ts";
import {
  CertError,
  checkCertDirectory,
  directorySignature,
  fingerprint,
  formatCert,
  generateCert,
  loadCertDirectory,
  parseZpl,
  readCert,
  readPublicCert,
  readSecretCert,
  secretModeProblem,
} from "./zcert.ts";

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

Deno.test("formatCert writes czmq's zcert layout: banner, metadata then curve, quoted Z85", () => {
  const publicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const secretKey = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
  const generated = new Date("2026-12-02T13:00:00Z");
  assert.equal(
    formatCert({ publicKey, secretKey, metadata: { name: "s", site: "lab 19" }, generated }),
    [
      "#   ****  Generated on 2026-12-02 13:00:00 by zmq-labs  ****",
      "#   ZeroMQ CURVE **Secret** Certificate",
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
      "",
      "metadata",
      '    name = "s"',
      '    site = "lab 19"',
      "curve",
      `    public-key = "${publicKey}"`,
      `    secret-key = "${secretKey}"`,
      "",
    ].join("\n"),
  );
  assert.throws(() => formatCert({ publicKey, metadata: { "bad name": "x" } }), CertError);
  assert.throws(() => formatCert({ publicKey, metadata: { k: 'a"b' } }), CertError);
  assert.throws(() => formatCert({ publicKey: "short" }), CertError);
});

Deno.test("parseZpl: RFC 4 sections, quoted and bare values, comments; errors name lines only", () => {
  const root = parseZpl(
    [
      "# comment",
      "metadata",
      "    a = bare value   # trailing comment",
      "    b = 'single'",
      '    c = "double # not a comment"',
      "    d",
      "curve",
      '    public-key = "x"',
    ].join("\n"),
  );
  const metadata = root.children[0];
  assert.deepEqual(
    metadata.children.map((node) => [node.name, node.value]),
    [["a", "bare value"], ["b", "single"], ["c", "double # not a comment"], ["d", undefined]],
  );
  assert.equal(root.children[1].children[0].value, "x");
  assert.throws(() => parseZpl("  a = 1"), /line 1: indentation is not a multiple of 4/);
  assert.throws(() => parseZpl("a\n        b = 1"), /line 2: indented deeper/);
  assert.throws(() => parseZpl('a = "S3CRET'), (e: Error) => !e.message.includes("S3CRET"));
  assert.throws(() => parseZpl("\tsecret = 1"), /tabs/);
});

Deno.test("metadata round-trips through both files; readSecretCert checks the stated public key", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/dev.key_secret`;
  const publicKey = await generateCert(path, { metadata: { site: "plant-7", role: "sensor" } });
  const cert = await readCert(`${dir.path}/dev.key`);
  assert.deepEqual(cert, {
    publicKey,
    metadata: { name: "dev", site: "plant-7", role: "sensor" },
  });
  assert.deepEqual(readSecretCert(path).metadata, cert.metadata);
  // A secret file whose public-key line disagrees with its secret is refused.
  const other = curveKeyPair();
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace(publicKey, other.publicKey));
  assert.throws(() => readSecretCert(path), /does not match the one derived/);
  assert.equal(secretModeProblem(0o100640), "expected mode 0600, got 0640");
});

Deno.test("checkCertDirectory: good pairs pass; loose modes, mismatches and leaks are named", async () => {
  await using dir = await tempDir();
  await generateCert(`${dir.path}/good.key_secret`);
  await generateCert(`${dir.path}/loose.key_secret`);
  await Deno.chmod(`${dir.path}/loose.key_secret`, 0o640);
  await generateCert(`${dir.path}/orphan.key_secret`);
  await Deno.remove(`${dir.path}/orphan.key`);
  const leaked = curveKeyPair();
  await Deno.writeTextFile(
    `${dir.path}/leak.key`,
    formatCert({ publicKey: leaked.publicKey, secretKey: leaked.secretKey }),
  );
  const checks = await checkCertDirectory(dir.path);
  const verdict = Object.fromEntries(checks.map((c) => [c.file, c.problems.join("; ")]));
  assert.deepEqual(Object.keys(verdict).sort(), [
    "good.key",
    "good.key_secret",
    "leak.key",
    "loose.key",
    "loose.key_secret",
    "orphan.key_secret",
  ]);
  assert.equal(verdict["good.key"], "");
  assert.equal(verdict["good.key_secret"], "");
  assert.match(verdict["leak.key"], /holds a secret-key/);
  assert.match(verdict["loose.key_secret"], /expected mode 0600, got 0640/);
  assert.match(verdict["orphan.key_secret"], /no public certificate orphan.key/);
  for (const check of checks) assert.ok(!check.problems.join().includes(leaked.secretKey));
});

async function python(script: string, args: string[]): Promise<string> {
  const py = await pythonWithZmq();
  if (!py) throw new Error("unreachable");
  const out = await new Deno.Command(py, { args: ["-c", script, ...args], stdin: "null" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("interop: pyzmq's zmq.auth.load_certificate reads our files", async (t) => {
  if (!await pythonWithZmq()) {
    console.log("skipping: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  await using dir = await tempDir();
  const publicKey = await generateCert(`${dir.path}/ours.key_secret`, {
    metadata: { site: "lab" },
  });
  const { secretKey } = readSecretCert(`${dir.path}/ours.key_secret`);
  const out = await python(
    [
      "import sys, json, zmq.auth",
      "pub, sec = zmq.auth.load_certificate(sys.argv[1] + '/ours.key')",
      "pub2, sec2 = zmq.auth.load_certificate(sys.argv[1] + '/ours.key_secret')",
      "keys = zmq.auth.load_certificates(sys.argv[1])",
      "print(json.dumps([pub.decode(), sec, pub2.decode(), sec2.decode(), [k.decode() for k in keys]]))",
    ].join("\n"),
    [dir.path],
  );
  await t.step("public, secret and directory load", () => {
    assert.deepEqual(JSON.parse(out), [publicKey, null, publicKey, secretKey, [publicKey]]);
  });
});

Deno.test("interop: pyzmq's zmq.auth.create_certificates files load in ours", async () => {
  if (!await pythonWithZmq()) {
    console.log("skipping: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  await using dir = await tempDir();
  const out = await python(
    [
      "import sys, json, zmq.auth",
      "pub_file, sec_file = zmq.auth.create_certificates(sys.argv[1], 'py', {'site': 'plant 7'})",
      "pub, sec = zmq.auth.load_certificate(sec_file)",
      "print(json.dumps([pub.decode(), sec.decode()]))",
    ].join("\n"),
    [dir.path],
  );
  const [publicKey, secretKey] = JSON.parse(out);
  assert.equal(await readPublicCert(`${dir.path}/py.key`), publicKey);
  assert.deepEqual((await loadCertDirectory(dir.path)).keys, new Map([[publicKey, "py"]]));
  // pyzmq writes its secret file with the process umask (often 0644): refused until 0600.
  const path = `${dir.path}/py.key_secret`;
  await Deno.chmod(path, 0o644);
  assert.throws(() => readSecretCert(path), /expected mode 0600, got 0644/);
  await Deno.chmod(path, 0o600);
  const pair = readSecretCert(path);
  assert.deepEqual(pair, { publicKey, secretKey, metadata: { site: "plant 7" } });
});

Deno.test("metadata names pyzmq would read as keys are refused; NAME.key is never written through a symlink", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zcert-meta-" });
  try {
    await assert.rejects(
      generateCert(`${dir}/a.key_secret`, { metadata: { "public-keyz": "x" } }),
      /must not start with public-key or secret-key/,
    );
    await Deno.writeTextFile(`${dir}/target`, "untouched");
    await Deno.symlink(`${dir}/target`, `${dir}/b.key`);
    await generateCert(`${dir}/b.key_secret`);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "untouched");
    assert.equal((await Deno.lstat(`${dir}/b.key`)).isSymlink, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
