/**
 * Process tests of Lab 19: the real roles, run with the manifest's permissions on
 * ephemeral ports, observed through their JSON log events and output.
 */
import assert from "node:assert/strict";
import {
  pythonWithZmq,
  type RoleProcess,
  runOnce,
  spawnPython,
  spawnRole,
  tempDir,
} from "@lib/testing/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import { Publisher, Subscriber } from "@lib/zmq/mod.ts";
import { fingerprint, generateCert, readPublicCert, readSecretCert } from "@lib/zmq/zcert.ts";
import { encodeReading } from "./internal/protocol.ts";
import { captureLoopback, makeCerts, startClient, startServer, tsharkMissing } from "./testing.ts";

const LONG = { timeout: 30_000 };
const here = new URL(".", import.meta.url).pathname;

/** Everything a process wrote (events, stderr, stdout), to search for leaks. */
function everything(proc: RoleProcess): string {
  return [...proc.events.map((e) => JSON.stringify(e)), ...proc.rawStderr, ...proc.stdoutLines]
    .join("\n");
}

Deno.test("keygen writes a zcert pair (0600 secret, metadata), show/check/public never print the secret", async () => {
  await using dir = await tempDir();
  const made = await runOnce("19", "keygen", [
    "--name",
    "sensor7",
    "--dir",
    `${dir.path}/certs`,
    "--meta",
    "site=plant 7",
    "--meta",
    "role=sensor",
    "--json",
  ]);
  assert.equal(made.code, 0, made.stderr);
  const result = JSON.parse(made.stdout);
  const secretPath = `${dir.path}/certs/sensor7.key_secret`;
  const publicPath = `${dir.path}/certs/sensor7.key`;
  assert.equal((await Deno.stat(secretPath)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(publicPath)).mode! & 0o777, 0o644);
  const { secretKey, publicKey, metadata } = readSecretCert(secretPath);
  assert.equal(result.public_key, publicKey);
  assert.deepEqual(metadata, { name: "sensor7", site: "plant 7", role: "sensor" });
  assert.equal(await readPublicCert(publicPath), publicKey);

  const again = await runOnce("19", "keygen", ["--name", "sensor7", "--dir", `${dir.path}/certs`]);
  assert.equal(again.code, 1, "an existing secret is never overwritten");

  const show = await runOnce("19", "keygen", ["show", secretPath]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(
    show.stdout,
    new RegExp(`public-key: +${publicKey.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`),
  );
  assert.match(show.stdout, /site = plant 7/);
  assert.match(show.stdout, /mode 0600/);

  const derived = await runOnce("19", "keygen", ["public", secretPath]);
  assert.equal(derived.stdout.trim(), publicKey);
  const fromStdin = await runOnce("19", "keygen", ["public", "--stdin"], {
    stdin: `${secretKey}\n`,
  });
  assert.equal(fromStdin.stdout.trim(), publicKey, fromStdin.stderr);
  await Deno.remove(publicPath);
  const restored = await runOnce("19", "keygen", ["public", secretPath, "--write"]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(await readPublicCert(publicPath), publicKey);

  const ok = await runOnce("19", "keygen", ["check", `${dir.path}/certs`]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /2 file\(s\), 0 with problems/);
  await Deno.chmod(secretPath, 0o644);
  const loose = await runOnce("19", "keygen", ["check", `${dir.path}/certs`]);
  assert.equal(loose.code, 1);
  assert.match(loose.stdout, /BAD +sensor7\.key_secret .*expected mode 0600, got 0644/);
  const refused = await runOnce("19", "keygen", ["show", secretPath]);
  assert.equal(refused.code, 1);
  for (const run of [made, again, show, derived, fromStdin, restored, ok, loose, refused]) {
    assert.ok(!(run.stdout + run.stderr).includes(secretKey), "no secret in any output");
  }
});

Deno.test("an enrolled client streams; an unknown key, NULL and a wrong server key are refused with reasons on both sides", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  await using other = await tempDir();
  await generateCert(`${other.path}/impostor.key_secret`);
  const server = await startServer(certs);
  await using _s = server.proc;
  await using client = await startClient(server.endpoint, certs.serverPublic, certs.clientSecret);
  await client.event("connected", undefined, LONG);
  const started = await client.event("stream_started", undefined, LONG);
  assert.equal(started.label, "lab19");
  await server.proc.event("client_allowed", (e) => e.client === "client1", LONG);

  // An unknown client key: ZAP says 400; the client says so and gives up (exit 1).
  await using intruder = await startClient(
    server.endpoint,
    certs.serverPublic,
    certs.intruderSecret,
    ["--give-up", "1500"],
  );
  const denied = await intruder.event("handshake_denied", undefined, LONG);
  assert.equal(denied.status, 400);
  const intruderFp = fingerprint(readSecretCert(certs.intruderSecret).publicKey);
  await server.proc.event("client_denied", (e) => e.fingerprint === intruderFp, LONG);
  const gaveUp = await intruder.event("gave_up", undefined, LONG);
  assert.match(String(gaveUp.reason), /unknown or revoked/);
  assert.equal((await intruder.wait()).code, 1);
  assert.equal(intruder.eventCount("stream_started"), 0);

  // A client that pinned another server key: the server drops the handshake.
  await using misled = await startClient(
    server.endpoint,
    `${other.path}/impostor.key`,
    certs.clientSecret,
    ["--give-up", "1500"],
  );
  const failed = await misled.event("gave_up", undefined, LONG);
  assert.match(String(failed.reason), /wrong server key/);
  assert.equal((await misled.wait()).code, 1);
  assert.equal(misled.eventCount("stream_started"), 0);
  await server.proc.event(
    "handshake_failed",
    (e) => e.reason === "ZMTP_CRYPTOGRAPHIC",
    LONG,
  );

  // NULL (no CURVE at all) gets nothing: a mechanism mismatch ends the handshake.
  await using plain = new Subscriber({ linger: 0, receiveTimeout: 1500 });
  plain.subscribe();
  plain.connect(server.endpoint);
  await assert.rejects(plain.receive(), /timed out/);

  assert.equal((await client.stop()).code, 0);
  assert.equal((await server.proc.stop()).code, 0);
  for (const proc of [server.proc, client, intruder, misled]) {
    const text = everything(proc);
    for (const secret of certs.secrets) assert.ok(!text.includes(secret), `${proc.name} leaked`);
  }
});

Deno.test("key rotation: a new client key is enrolled beside the old, the old one is revoked mid-stream", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _s = server.proc;
  await using old = await startClient(server.endpoint, certs.serverPublic, certs.clientSecret, [
    "--give-up",
    "2000",
  ]);
  await old.event("stream_started", undefined, LONG);

  // 1. keygen the new pair outside the allow-list, then enrol its public certificate.
  const made = await runOnce("19", "keygen", [
    "--name",
    "client1-v2",
    "--dir",
    `${dir.path}/staging`,
    "--meta",
    "replaces=client1",
  ]);
  assert.equal(made.code, 0, made.stderr);
  await Deno.copyFile(`${dir.path}/staging/client1-v2.key`, `${certs.clients}/client1-v2.key`);
  await server.proc.event("allow_list_loaded", (e) => e.keys === 2, LONG);
  await using fresh = await startClient(
    server.endpoint,
    certs.serverPublic,
    `${dir.path}/staging/client1-v2.key_secret`,
  );
  await fresh.event("stream_started", undefined, LONG);
  assert.equal(fresh.eventCount("connected"), 1);

  // 2. Revoke the old key: its live session is closed and its next handshake refused.
  await Deno.remove(`${certs.clients}/client1.key`);
  const oldFp = fingerprint(readSecretCert(certs.clientSecret).publicKey);
  await server.proc.event("key_revoked", (e) => e.fingerprint === oldFp, LONG);
  await server.proc.event("socket_recycled", undefined, LONG);
  await old.event("handshake_denied", (e) => e.status === 400, LONG);
  await old.event("gave_up", undefined, LONG);
  assert.equal((await old.wait()).code, 1);

  // 3. The new key reconnects by itself and keeps streaming.
  await fresh.event("connected", () => fresh.eventCount("connected") >= 2, LONG);
  const stats = await fresh.event(
    "stream_stats",
    (e) => e.link === "secure" && Number(e.rate) > 0 && fresh.eventCount("connected") >= 2,
    LONG,
  );
  assert.ok(Number(stats.received) > 0);
  assert.equal((await fresh.stop()).code, 0);
});

Deno.test("ZMQ_CURVE_SERVER is about the handshake, not the socket direction: the server dials a binding client (env config)", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  await using client = await spawnRole("19", "secure_client", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--server-key-file",
    certs.serverPublic,
    "--cert",
    certs.clientSecret,
    "--view",
    "none",
    "--count",
    "20",
  ]);
  const { endpoint } = await client.event("listening", undefined, LONG);
  // Configured by environment only, as a docker-compose file would (SECURE_SERVER_<FLAG>).
  await using server = await spawnRole("19", "secure_server", [], {
    env: {
      SECURE_SERVER_CONNECT: String(endpoint),
      SECURE_SERVER_CERT: certs.serverSecret,
      SECURE_SERVER_CLIENTS: certs.clients,
      SECURE_SERVER_RATE: "100",
    },
  });
  await server.event("client_allowed", undefined, LONG);
  await client.event("count_reached", undefined, LONG);
  assert.equal((await client.wait()).code, 0);
  assert.equal((await server.stop()).code, 0);
});

Deno.test("interop: pyzmq loads keygen's certificates and streams from secure_server; pyzmq's own certificates work in our roles", async () => {
  const python = await pythonWithZmq();
  if (!python) {
    console.log("skipping: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  await using dir = await tempDir();
  const keygen = (name: string, sub: string) =>
    runOnce("19", "keygen", ["--name", name, "--dir", `${dir.path}/${sub}`]);
  assert.equal((await keygen("server", "server")).code, 0);
  assert.equal((await keygen("pyclient", "clients")).code, 0);
  // pyzmq writes the other client's pair (its secret with the umask's mode: we demand 0600).
  const created = await new Deno.Command(python, {
    args: [
      "-c",
      "import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], 'pyzmq_made', {'by': 'pyzmq'})",
      `${dir.path}/clients`,
    ],
  }).output();
  assert.ok(created.success, new TextDecoder().decode(created.stderr));
  const pySecret = `${dir.path}/clients/pyzmq_made.key_secret`;
  await Deno.chmod(pySecret, 0o644);
  const certs = {
    serverSecret: `${dir.path}/server/server.key_secret`,
    serverPublic: `${dir.path}/server/server.key`,
    clients: `${dir.path}/clients`,
  };
  const server = await startServer({
    ...certs,
    dir: dir.path,
    clientSecret: "",
    intruderSecret: "",
    secrets: [],
  });
  await using _s = server.proc;
  // Our keygen's certificates, loaded by zmq.auth.load_certificate, in a pyzmq client.
  await using peer = spawnPython(python, `${here}testdata/py_subscriber.py`, [
    server.endpoint,
    certs.serverPublic,
    `${dir.path}/clients/pyclient.key_secret`,
    "10",
  ]);
  const line = await peer.stdoutLine(/^(OK|TIMEOUT)/, LONG);
  assert.match(line, /^OK 10 reading\.s\d+$/);
  // pyzmq's certificate in our client: refused while group/world readable, then it works.
  const loose = await runOnce("19", "secure_client", [
    "--connect",
    server.endpoint,
    "--server-key-file",
    certs.serverPublic,
    "--cert",
    pySecret,
  ]);
  assert.equal(loose.code, 2);
  assert.match(loose.stderr, /expected mode 0600, got 0644/);
  await Deno.chmod(pySecret, 0o600);
  await using client = await startClient(server.endpoint, certs.serverPublic, pySecret, [
    "--count",
    "5",
  ]);
  await client.event("count_reached", undefined, LONG);
  assert.equal((await client.wait()).code, 0);
  await server.proc.event("client_allowed", (e) => e.client === "pyzmq_made", LONG);
});

Deno.test("bad input on the stream is logged as bad_message and dropped; readings go on", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = readSecretCert(certs.serverSecret);
  // The test plays the server (no ZAP handler in this process: any client key gets in).
  await using pub = new Publisher({ curveServer: true, curveSecretKey: server.secretKey });
  await pub.bind("tcp://127.0.0.1:*");
  await using client = await startClient(pub.lastEndpoint!, certs.serverPublic, certs.clientSecret);
  await client.event("connected", undefined, LONG);
  const reading = { seq: 1, boot: "t", ts: 0, sensor: "s1", value: 1, label: "x" };
  const deadlineAt = Date.now() + 30_000;
  // Until both showed: the subscription may reach the test's PUB between two sends.
  while (
    (client.eventCount("stream_started") === 0 || client.eventCount("bad_message") === 0) &&
    Date.now() < deadlineAt
  ) {
    await pub.send(["reading.s1", encode({ nonsense: true })]);
    await pub.send(["reading.s1"]);
    await pub.send(encodeReading({ ...reading, seq: reading.seq++ }));
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.event("bad_message", undefined, LONG);
  await client.event("stream_started", undefined, LONG);
  assert.equal((await client.stop()).code, 0);
});

Deno.test("secrets are never in argv, environment, logs or errors; a loose secret file is refused", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _s = server.proc;
  await using client = await startClient(server.endpoint, certs.serverPublic, certs.clientSecret);
  await client.event("stream_started", undefined, LONG);
  for (const proc of [server.proc, client]) {
    // What `ps` shows (argv) and the environment: paths only, never a key.
    const cmdline = await Deno.readTextFile(`/proc/${proc.pid}/cmdline`);
    const environ = await Deno.readTextFile(`/proc/${proc.pid}/environ`);
    for (const secret of certs.secrets) {
      assert.ok(!cmdline.includes(secret) && !environ.includes(secret), proc.name);
    }
  }
  await Deno.chmod(certs.clientSecret, 0o640);
  const refused = await runOnce("19", "secure_client", [
    "--server-key-file",
    certs.serverPublic,
    "--cert",
    certs.clientSecret,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refusing a secret certificate that group\/others can access/);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  await client.stop();
  await server.proc.stop();
  for (
    const text of [everything(server.proc), everything(client), refused.stdout + refused.stderr]
  ) {
    for (const secret of certs.secrets) assert.ok(!text.includes(secret));
  }
});

Deno.test("tshark on the stream's port sees ciphertext only: the label every reading carries never shows", async () => {
  const missing = await tsharkMissing();
  if (missing) {
    console.log(`skipping: ${missing}`);
    return;
  }
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const label = `TOP-SECRET-${crypto.randomUUID()}`;
  const server = await startServer(certs, ["--label", label]);
  await using _s = server.proc;
  await using capture = await captureLoopback(server.port);
  await using client = await startClient(server.endpoint, certs.serverPublic, certs.clientSecret);
  const started = await client.event("stream_started", undefined, LONG);
  assert.equal(started.label, label, "the label really crossed the wire");
  await client.event("stream_stats", (e) => Number(e.received) >= 50, LONG);
  const { hits, packets } = await capture.finish(label);
  assert.ok(packets > 10, `captured ${packets} segments`);
  assert.equal(hits, 0, "plaintext label on the wire");
  assert.equal((await client.stop()).code, 0);
});

Deno.test("--help works on every role and a bad option is one line, exit 2", async () => {
  for (const role of ["keygen", "secure_server", "secure_client"]) {
    const help = await runOnce("19", role, ["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage:/);
  }
  const bad = await runOnce("19", "secure_server", [
    "--rate",
    "fast",
    "--cert",
    "x",
    "--clients",
    "y",
  ]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
});

Deno.test("keygen refuses metadata that would inject keys and a `public` without input; odd values stay loadable by pyzmq", async () => {
  await using dir = await tempDir();
  // `public` with neither FILE nor --stdin: one line, exit 2 (it used to read "undefined").
  const none = await runOnce("19", "keygen", ["public"]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /expected exactly one of FILE or --stdin/);
  // pyzmq reads any line starting with public-key / secret-key as the key, even in metadata.
  const injected = await runOnce("19", "keygen", [
    "--name",
    "evil",
    "--dir",
    dir.path,
    "--meta",
    `public-keyz=${"0".repeat(40)}`,
  ]);
  assert.equal(injected.code, 2, injected.stderr);
  assert.match(injected.stderr, /public-key or secret-key/);
  await assert.rejects(Deno.stat(`${dir.path}/evil.key_secret`));
  // Values with ZPL's special characters are quoted: our parser and pyzmq read the real keys.
  const odd = await runOnce("19", "keygen", [
    "--name",
    "odd",
    "--dir",
    dir.path,
    "--meta",
    "note=it's #1 = public-key 'x'",
  ]);
  assert.equal(odd.code, 0, odd.stderr);
  const cert = readSecretCert(`${dir.path}/odd.key_secret`);
  assert.equal(cert.metadata.note, "it's #1 = public-key 'x'");
  const python = await pythonWithZmq();
  if (!python) {
    console.log("skipping the pyzmq half: no python3 with zmq (apt-get install python3-zmq)");
    return;
  }
  const loaded = await new Deno.Command(python, {
    args: [
      "-c",
      "import sys, zmq.auth; p, s = zmq.auth.load_certificate(sys.argv[1]); print(p.decode()); print(s.decode())",
      `${dir.path}/odd.key_secret`,
    ],
  }).output();
  assert.ok(loaded.success, new TextDecoder().decode(loaded.stderr));
  assert.deepEqual(new TextDecoder().decode(loaded.stdout).trim().split("\n"), [
    cert.publicKey,
    cert.secretKey,
  ]);
});

Deno.test("a client directory full of junk (FIFO, /dev/zero link, garbage) is skipped without a log flood", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  for (let i = 0; i < 60; i++) await Deno.writeTextFile(`${certs.clients}/junk${i}.key`, "junk\n");
  await Deno.symlink("/dev/zero", `${certs.clients}/zero.key`);
  await new Deno.Command("mkfifo", { args: [`${certs.clients}/fifo.key`] }).output();
  const server = await startServer(certs);
  await using _server = server.proc;
  const summary = await server.proc.event("certificates_skipped", undefined, LONG);
  assert.equal(summary.count, 61, "60 garbage files and the /dev/zero link (a FIFO is not listed)");
  assert.ok(server.proc.eventCount("certificate_skipped") <= 10, "the first few, then a count");
  // The enrolled client still gets in.
  await using client = await startClient(server.endpoint, certs.serverPublic, certs.clientSecret);
  await client.event("stream_started", undefined, LONG);
  await client.stop();
  await server.proc.stop();
});

Deno.test("secure_server: an oversize --label and a --clients file are bad config (exit 2), also with --generate-missing", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const label = await runOnce("19", "secure_server", [
    "--cert",
    certs.serverSecret,
    "--clients",
    certs.clients,
    "--label",
    "x".repeat(100_000),
  ]);
  assert.equal(label.code, 2, label.stderr);
  assert.match(label.stderr, /--label: expected at most 256 characters/);
  const file = await runOnce("19", "secure_server", [
    "--cert",
    certs.serverSecret,
    "--clients",
    certs.serverPublic,
    "--generate-missing",
  ]);
  assert.equal(file.code, 2, file.stderr);
  assert.match(file.stderr, /--clients: expected a directory/);
  assert.doesNotMatch(file.stderr, /fatal|EEXIST/);
});
