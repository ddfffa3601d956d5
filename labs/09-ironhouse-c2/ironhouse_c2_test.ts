/**
 * Lab 09 process tests: the real c2_server and secure_agent on ephemeral ports.
 */
import assert from "node:assert/strict";
import { runOnce, spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Dealer, Router } from "@lib/zmq/mod.ts";
import { decode, encode } from "@lib/codec/mod.ts";
import { deadline } from "@lib/async/mod.ts";
import { AgentMessage } from "./internal/protocol.ts";
import { fingerprint, generateCert, readPublicCert, readSecretCert } from "@lib/zmq/zcert.ts";
import { captureLoopback, makeCerts, startAgent, startServer, tsharkMissing } from "./testing.ts";

function noSecretsIn(lines: string[], secrets: string[]): void {
  for (const line of lines) {
    for (const secret of secrets) assert.ok(!line.includes(secret), `secret key in: ${line}`);
  }
}

Deno.test("an allowed agent runs commands; an intruder key is denied (400) on both sides", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const audit = `${dir.path}/audit.ndjson`;
  const server = await startServer(certs, ["--audit-log", audit]);
  await using _server = server.proc;
  await using agent = await startAgent(server.endpoint, certs.serverPublic, certs.agentSecret, [
    "--name",
    "agent1",
  ]);
  await using intruder = await startAgent(
    server.endpoint,
    certs.serverPublic,
    certs.intruderSecret,
    ["--name", "intruder"],
  );
  const agentKey = await readPublicCert(`${certs.allowDir}/agent1.key`);
  const intruderKey = (readSecretCert(certs.intruderSecret)).publicKey;

  // Works: numbered commands come back as results, with the agent's fingerprint.
  await server.proc.event("result", (e) => e.op === "health" && e.ok === true, { timeout: 15_000 });
  await agent.event("command", (e) => e.op === "facts");

  // Denied, observably, on both sides.
  await intruder.event("handshake_denied", (e) => e.status === 400, { timeout: 15_000 });
  await server.proc.event(
    "client_denied",
    (e) => e.status === 400 && e.fingerprint === fingerprint(intruderKey),
  );
  await server.proc.event("handshake_failed", (e) => e.status === 400);

  await agent.stop();
  await intruder.stop();
  await server.proc.stop();
  assert.equal(intruder.eventCount("command"), 0, "the intruder was never sent a command");
  assert.equal(server.proc.eventCount("session_opened", (e) => e.agent === "intruder"), 0);

  const records = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  const commands = records.filter((r) => r.event === "command");
  const results = records.filter((r) => r.event === "result");
  assert.ok(commands.length >= 2 && results.length >= 2, "commands and results audited");
  for (const r of [...commands, ...results]) {
    assert.equal(r.fingerprint, fingerprint(agentKey));
    assert.equal(typeof r.seq, "number");
  }
  for (const r of results) {
    assert.ok(commands.some((c) => c.seq === r.seq), `result ${r.seq} had a command`);
  }
  const all = [
    ...[server.proc, agent, intruder].flatMap((p) => [
      ...p.events.map((e) => JSON.stringify(e)),
      ...p.rawStderr,
      ...p.stdoutLines,
    ]),
    await Deno.readTextFile(audit),
  ];
  noSecretsIn(all, certs.secrets);
});

Deno.test("CVE-2020-11651 lesson: NULL, PLAIN and unknown-key peers reach nothing", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _server = server.proc;
  const nullPeer = new Dealer({ linger: 0, routingId: "null-peer" });
  const plainPeer = new Dealer({ linger: 0, plainUsername: "admin", plainPassword: "admin" });
  const intruderKey = readSecretCert(certs.intruderSecret);
  const wrongKey = new Dealer({
    linger: 0,
    curveServerKey: await readPublicCert(certs.serverPublic),
    curvePublicKey: intruderKey.publicKey,
    curveSecretKey: intruderKey.secretKey,
    // Even claiming an allowed agent's identity gets it nothing: ZAP decides by key.
    routingId: await readPublicCert(`${certs.allowDir}/agent1.key`),
  });
  try {
    const denied = wrongKey.events.consumer();
    for (const peer of [nullPeer, plainPeer, wrongKey]) {
      peer.connect(server.endpoint);
      // What a Salt-style attacker does first: call methods without authenticating.
      void peer.send(encode({ type: "hello", name: "attacker" })).catch(() => {});
      void peer.send(encode({ type: "result", seq: 1, op: "facts", ok: true })).catch(() => {});
    }
    // A NULL or PLAIN greeting to a CURVE server is a mechanism mismatch: libzmq reports it
    // as a protocol error, or as EPIPE ("other") when the peer's side closed first (load).
    await server.proc.event(
      "handshake_failed",
      (e) => e.type === "handshake:error:protocol" || e.type === "handshake:error:other",
      { timeout: 30_000 },
    );
    await server.proc.event("client_denied", (e) => e.status === 400, { timeout: 30_000 });
    const status = await deadline(
      (async () => {
        for await (const event of denied) {
          if (event.type === "handshake:error:auth") return event.status;
        }
      })(),
      30_000,
      { what: "the wrong-key peer's handshake:error:auth event" },
    );
    assert.equal(status, 400);
    // After the failed handshakes libzmq has closed those connections: nothing can pass.
    for (const peer of [nullPeer, plainPeer, wrongKey]) peer.receiveTimeout = 300;
    for (const peer of [nullPeer, plainPeer, wrongKey]) {
      await assert.rejects(peer.receive(), (e: Error & { code?: string }) => e.code === "EAGAIN");
    }
    for (const event of ["session_opened", "result", "bad_message", "message_from_unlisted_key"]) {
      assert.equal(server.proc.eventCount(event), 0, `${event} must not happen before auth`);
    }
  } finally {
    nullPeer.close();
    plainPeer.close();
    wrongKey.close();
  }
  await server.proc.stop();
});

Deno.test("revoking a key mid-session drops the session and refuses the next handshake", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _server = server.proc;
  await using agent = await startAgent(server.endpoint, certs.serverPublic, certs.agentSecret);
  await server.proc.event("result", undefined, { timeout: 15_000 });
  const before = agent.eventCount("command");
  await Deno.remove(`${certs.allowDir}/agent1.key`);
  await server.proc.event("session_revoked", undefined, { timeout: 10_000 });
  await server.proc.event("socket_recycled");
  await agent.event("disconnected", undefined, { timeout: 10_000 });
  await agent.event("handshake_denied", (e) => e.status === 400, { timeout: 10_000 });
  await server.proc.event("client_denied", (e) => e.status === 400);
  // Re-enrolling lets it back in: the allow-list is read live.
  await Deno.writeTextFile(
    `${certs.allowDir}/agent1.key`,
    `curve\n    public-key = "${(readSecretCert(certs.agentSecret)).publicKey}"\n`,
  );
  await waitFor("commands after re-enrolment", () => agent.eventCount("command") > before + 1, {
    timeoutMs: 15_000,
  });
  await agent.stop();
  await server.proc.stop();
});

Deno.test("the agent refuses a replayed command number and unknown operations", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = readSecretCert(certs.serverSecret);
  // A stand-in server with the pinned key (no ZAP here: the agent is under test).
  const router = new Router({
    linger: 0,
    curveServer: true,
    curveSecretKey: server.secretKey,
    curvePublicKey: server.publicKey,
  });
  try {
    await router.bind("tcp://127.0.0.1:*");
    await using agent = await startAgent(
      router.lastEndpoint!,
      certs.serverPublic,
      certs.agentSecret,
    );
    const [id] = await router.receive(); // its hello
    const ask = async (seq: number, op: string, args: Record<string, string> = {}) => {
      await router.send([id, encode({ type: "command", seq, op, args })]);
      for (;;) {
        const [, body] = await router.receive();
        const message = decode(body, AgentMessage) as AgentMessage;
        if (message.type === "result" && message.seq === seq) return message;
      }
    };
    assert.equal((await ask(10, "facts")).ok, true);
    const replay = await ask(10, "facts");
    assert.equal(replay.ok, false);
    assert.match(
      replay.type === "result" ? replay.error! : "",
      /replayed command number: expected > 10, got 10/,
    );
    assert.equal((await ask(9, "health", { check: "clock" })).ok, false);
    const unknown = await ask(11, "shell", { cmd: "id" });
    assert.equal(unknown.ok, false);
    assert.equal((await ask(12, "health", { check: "clock" })).ok, true);
    await agent.event("command_refused", (e) => String(e.reason).startsWith("replay"));
    await agent.stop();
  } finally {
    router.close();
  }
});

Deno.test("secret files: group-readable refused, never echoed, not on the command line", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const { secretKey } = readSecretCert(certs.agentSecret);
  await Deno.chmod(certs.agentSecret, 0o640);
  const refused = await runOnce("09", "secure_agent", [
    "--server-key-file",
    certs.serverPublic,
    "--secret-key-file",
    certs.agentSecret,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /expected mode 0600, got 0640/);
  assert.ok(!refused.stderr.includes(secretKey) && !refused.stdout.includes(secretKey));
  await Deno.chmod(certs.agentSecret, 0o600);

  await Deno.chmod(certs.serverSecret, 0o604);
  const server = await runOnce("09", "c2_server", [
    "--secret-key-file",
    certs.serverSecret,
    "--allow-dir",
    certs.allowDir,
  ]);
  assert.equal(server.code, 2);
  assert.match(server.stderr, /expected mode 0600, got 0604/);
  await Deno.chmod(certs.serverSecret, 0o600);

  // ps shows paths only.
  const running = await startServer(certs);
  await using _server = running.proc;
  const cmdline = await Deno.readTextFile(`/proc/${running.proc.pid}/cmdline`);
  assert.ok(cmdline.includes(certs.serverSecret));
  noSecretsIn([cmdline], certs.secrets);
  await running.proc.stop();
});

Deno.test("keygen writes a 0600 secret and a public zcert", async () => {
  await using dir = await tempDir();
  const out = await runOnce("09", "c2_server", ["keygen", "--dir", dir.path, "--name", "ops"]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal((await Deno.stat(`${dir.path}/ops.key_secret`)).mode! & 0o777, 0o600);
  const key = await readPublicCert(`${dir.path}/ops.key`);
  assert.ok(out.stdout.includes(key));
  assert.ok(!out.stdout.includes((readSecretCert(`${dir.path}/ops.key_secret`)).secretKey));
});

Deno.test("tshark: no plaintext on the CURVE wire; the same string is seen over NULL", async (t) => {
  const missing = await tsharkMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const secret = `TOPSECRET-${crypto.randomUUID().slice(0, 8)}`;

  await t.step("CURVE: zero hits", async () => {
    const server = await startServer(certs);
    await using _server = server.proc;
    await using capture = await captureLoopback(server.port);
    // The name travels in every hello; results carry host facts.
    await using agent = await startAgent(server.endpoint, certs.serverPublic, certs.agentSecret, [
      "--name",
      secret,
    ]);
    await server.proc.event("session_opened", (e) => e.agent === secret, { timeout: 15_000 });
    await server.proc.event("result", undefined, { timeout: 15_000 });
    const { hits, packets } = await capture.finish(secret);
    await agent.stop();
    await server.proc.stop();
    assert.ok(packets > 4, `expected traffic in the capture, got ${packets} packets`);
    assert.equal(hits, 0, "the secret string crossed the wire in plaintext");
  });

  await t.step("NULL control: the string is found, so the check can fail", async () => {
    const router = new Router({ linger: 0 });
    const dealer = new Dealer({ linger: 0 });
    try {
      await router.bind("tcp://127.0.0.1:*");
      const port = Number(router.lastEndpoint!.split(":").at(-1));
      await using capture = await captureLoopback(port);
      dealer.connect(router.lastEndpoint!);
      await dealer.send(encode({ type: "hello", name: secret }));
      await router.receive();
      const { hits } = await capture.finish(secret);
      assert.ok(hits >= 1, `expected the plaintext string on a NULL socket, got ${hits} hits`);
    } finally {
      dealer.close();
      router.close();
    }
  });
});

Deno.test("--help works on both roles", async () => {
  for (const role of ["c2_server", "secure_agent"]) {
    const out = await runOnce("09", role, ["--help"]);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /--secret-key-file/);
  }
  const spawned = await spawnRole("09", "secure_agent", ["--version"]);
  assert.equal((await spawned.wait()).code, 0);
});

Deno.test("an agent pinned to another server key never gets in and says why", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _server = server.proc;
  // The intruder's public certificate stands in for a wrong (e.g. impostor's) server key.
  await using agent = await startAgent(
    server.endpoint,
    certs.intruderSecret.replace(/_secret$/, ""),
    certs.agentSecret,
  );
  await agent.event("handshake_failed", undefined, { timeout: 15_000 });
  await server.proc.event("handshake_failed", (e) => e.type === "handshake:error:protocol");
  assert.equal(agent.eventCount("connected"), 0);
  assert.equal(server.proc.eventCount("session_opened"), 0);
  await agent.stop();
  await server.proc.stop();
});

Deno.test("bad input from an admitted agent is logged once and dropped; serving goes on", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = await startServer(certs);
  await using _server = server.proc;
  const agentKey = readSecretCert(certs.agentSecret);
  const peer = new Dealer({
    linger: 0,
    routingId: agentKey.publicKey,
    curveServerKey: await readPublicCert(certs.serverPublic),
    curvePublicKey: agentKey.publicKey,
    curveSecretKey: agentKey.secretKey,
  });
  try {
    peer.connect(server.endpoint);
    for (let i = 0; i < 20; i++) await peer.send(new Uint8Array([0xc1, i]));
    await peer.send([encode({ type: "hello", name: "x" }), "extra frame"]);
    await peer.send(encode({ type: "hello", name: "agent1" }));
    await server.proc.event("session_opened", (e) => e.agent === "agent1", { timeout: 15_000 });
    await server.proc.event("bad_message");
    assert.ok(server.proc.eventCount("bad_message") <= 4, "bad_message is rate-limited per kind");
  } finally {
    peer.close();
  }
  await server.proc.stop();
});

Deno.test("the ROUTER routing id is bound to the ZAP User-Id: an admitted agent cannot speak for another", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  // agent2 is enrolled too: it gets through ZAP with its own key, then claims agent1's.
  await generateCert(`${certs.allowDir}/agent2.key_secret`);
  const agent2 = readSecretCert(`${certs.allowDir}/agent2.key_secret`);
  const agent1Key = await readPublicCert(`${certs.allowDir}/agent1.key`);
  const audit = `${dir.path}/audit.ndjson`;
  const server = await startServer(certs, ["--audit-log", audit]);
  await using _server = server.proc;
  const serverKey = await readPublicCert(certs.serverPublic);
  await using impostor = new Dealer({
    linger: 0,
    curveServerKey: serverKey,
    curvePublicKey: agent2.publicKey,
    curveSecretKey: agent2.secretKey,
    routingId: agent1Key,
  });
  impostor.connect(server.endpoint);
  await impostor.send(encode({ type: "hello", name: "agent1" }));
  await impostor.send(encode({ type: "result", seq: 1, op: "facts", ok: true, result: {} }));
  const mismatch = await server.proc.event("identity_mismatch", undefined, { timeout: 15_000 });
  assert.equal(mismatch.claimed, fingerprint(agent1Key));
  assert.equal(mismatch.authenticated, fingerprint(agent2.publicKey));
  assert.equal(server.proc.eventCount("session_opened"), 0, "no session for the claimed key");
  impostor.close({ linger: 0 });
  // The real agent1 is served as usual.
  await using agent = await startAgent(server.endpoint, certs.serverPublic, certs.agentSecret);
  await server.proc.event(
    "session_opened",
    (e) => e.fingerprint === fingerprint(agent1Key),
    { timeout: 15_000 },
  );
  await agent.event("command", undefined, { timeout: 15_000 });
  await agent.stop();
  await server.proc.stop();
  const records = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(records.some((r) => r.event === "identity_mismatch"));
  assert.ok(
    !records.some((r) =>
      r.event === "result" && r.fingerprint === fingerprint(agent1Key) && r.seq === 1
    ),
    "the impostor's result was never attributed to agent1",
  );
});

Deno.test("rotate_key: the agent's new key is enrolled over its authenticated session, the old one revoked", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  // A realistic layout: the agent's secret outside the allow-list, its public cert copied in.
  const agentSecret = `${dir.path}/agent/agent7.key_secret`;
  const oldKey = await generateCert(agentSecret);
  const old = readSecretCert(agentSecret);
  await Deno.copyFile(`${dir.path}/agent/agent7.key`, `${certs.allowDir}/agent7.key`);
  const audit = `${dir.path}/audit.ndjson`;
  const server = await startServer(certs, [
    "--audit-log",
    audit,
    "--rotate-every",
    "600",
    "--commands",
    "facts",
  ]);
  await using _server = server.proc;
  await using agent = await startAgent(server.endpoint, certs.serverPublic, agentSecret, [
    "--name",
    "agent7",
  ]);
  const rotated = await server.proc.event("key_rotated", undefined, { timeout: 30_000 });
  assert.equal(rotated.fingerprint, fingerprint(oldKey));
  const newFp = String(rotated.new_fingerprint);
  await agent.event("key_rotated", (e) => e.fingerprint === newFp, { timeout: 15_000 });
  // The old key is revoked: its next handshake is refused (400).
  await server.proc.event("session_revoked", (e) => e.fingerprint === fingerprint(oldKey), {
    timeout: 15_000,
  });
  await using ghost = new Dealer({
    linger: 0,
    curveServerKey: await readPublicCert(certs.serverPublic),
    curvePublicKey: old.publicKey,
    curveSecretKey: old.secretKey,
  });
  using events = ghost.events.consumer();
  ghost.connect(server.endpoint);
  void ghost.send(encode({ type: "hello", name: "ghost" })).catch(() => {});
  await deadline(
    (async () => {
      for await (const event of events) {
        if (event.type === "handshake:error:auth") return event;
      }
    })(),
    15_000,
    { what: "the old key refused" },
  );
  ghost.close({ linger: 0 });
  // The agent carries on with the new key.
  await server.proc.event("session_opened", (e) => e.fingerprint === newFp, { timeout: 15_000 });
  const before = agent.eventCount("command", (e) => e.op === "facts");
  await waitFor(
    "commands with the new key",
    () => agent.eventCount("command", (e) => e.op === "facts") > before,
    { timeoutMs: 15_000 },
  );
  const current = readSecretCert(agentSecret);
  assert.notEqual(current.publicKey, oldKey);
  assert.equal((await Deno.stat(agentSecret)).mode! & 0o777, 0o600);
  await agent.stop();
  await server.proc.stop();
  const records = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  const started = records.find((r) => r.event === "key_rotation_started");
  assert.equal(started?.fingerprint, fingerprint(oldKey));
  assert.equal(started?.new_fingerprint, newFp);
  assert.ok(records.some((r) => r.event === "key_rotated" && r.new_fingerprint === newFp));
  const all = [server.proc, agent].flatMap((p) => [...p.rawStderr, ...p.stdoutLines]);
  noSecretsIn([...all, await Deno.readTextFile(audit)], [old.secretKey, current.secretKey]);
});

Deno.test("the agent's replay memory survives a restart: an old command number stays refused", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const server = readSecretCert(certs.serverSecret);
  const state = `${dir.path}/agent1.replay`;
  const router = new Router({
    linger: 0,
    curveServer: true,
    curveSecretKey: server.secretKey,
    curvePublicKey: server.publicKey,
  });
  try {
    await router.bind("tcp://127.0.0.1:*");
    const session = async () => {
      const agent = await startAgent(router.lastEndpoint!, certs.serverPublic, certs.agentSecret, [
        "--state-file",
        state,
      ]);
      const [id] = await deadline(router.receive(), 15_000, { what: "hello" });
      const ask = async (seq: number) => {
        await router.send([id, encode({ type: "command", seq, op: "facts", args: {} })]);
        for (;;) {
          const [, body] = await deadline(router.receive(), 15_000, { what: `result ${seq}` });
          const message = decode(body, AgentMessage) as AgentMessage;
          if (message.type === "result" && message.seq === seq) return message;
        }
      };
      return { agent, ask };
    };
    const first = await session();
    assert.equal((await first.ask(500)).ok, true);
    assert.equal((await first.agent.stop()).code, 0);
    await first.agent[Symbol.asyncDispose]();
    assert.deepEqual(JSON.parse(await Deno.readTextFile(state)), { last_seq: 500 });
    const second = await session();
    await using _agent = second.agent;
    await second.agent.event("replay_state_loaded", (e) => e.last_seq === 500);
    const replay = await second.ask(500);
    assert.equal(replay.ok, false);
    assert.match(replay.type === "result" ? replay.error! : "", /expected > 500, got 500/);
    assert.equal((await second.ask(501)).ok, true);
    await second.agent.stop();
    // A corrupt state is refused at start (one line, exit 2), never silently reset.
    await Deno.writeTextFile(state, "garbage");
    const refused = await runOnce("09", "secure_agent", [
      "--server-key-file",
      certs.serverPublic,
      "--secret-key-file",
      certs.agentSecret,
      "--state-file",
      state,
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /expected replay state/);
  } finally {
    router.close();
  }
});

Deno.test("an admitted agent's made-up results are dropped: not audited, no key rotation started", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const audit = `${dir.path}/audit.ndjson`;
  // --interval 0: the server sends nothing, so every result below is unsolicited.
  const server = await startServer(certs, ["--interval", "0", "--audit-log", audit]);
  await using _server = server.proc;
  const agentKey = readSecretCert(certs.agentSecret);
  await using peer = new Dealer({
    linger: 0,
    routingId: agentKey.publicKey,
    curveServerKey: await readPublicCert(certs.serverPublic),
    curvePublicKey: agentKey.publicKey,
    curveSecretKey: agentKey.secretKey,
  });
  peer.connect(server.endpoint);
  await peer.send(encode({ type: "hello", name: "agent1" }));
  await server.proc.event("session_opened", (e) => e.agent === "agent1", { timeout: 15_000 });
  // Before the fix this enrolled a key of the agent's choosing as agent1's successor.
  const chosen = await generateCert(`${dir.path}/chosen/chosen.key_secret`);
  await peer.send(encode({
    type: "result",
    seq: 1,
    op: "rotate_key",
    ok: true,
    result: { public_key: chosen },
  }));
  await server.proc.event(
    "bad_message",
    (e) => String(e.reason).includes("not sent to this agent"),
    { timeout: 15_000 },
  );
  assert.equal(server.proc.eventCount("key_rotation_started"), 0);
  assert.equal(server.proc.eventCount("result"), 0);
  await server.proc.stop();
  const records = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(!records.some((r) => r.event === "result" || r.event === "key_rotation_started"));
  assert.ok(
    !(await Array.fromAsync(Deno.readDir(certs.allowDir))).some((e) => e.name.includes("rotating")),
  );
});

Deno.test("an impostor holding another agent's routing id gets none of its commands", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  await generateCert(`${certs.allowDir}/agent2.key_secret`);
  const agent2 = readSecretCert(`${certs.allowDir}/agent2.key_secret`);
  const agent1 = readSecretCert(certs.agentSecret);
  const server = await startServer(certs, ["--interval", "200", "--session-timeout", "30000"]);
  await using _server = server.proc;
  const serverKey = await readPublicCert(certs.serverPublic);
  // agent1 opens a session, then goes away (the session lives on until its timeout).
  const victim = new Dealer({
    linger: 0,
    routingId: agent1.publicKey,
    curveServerKey: serverKey,
    curvePublicKey: agent1.publicKey,
    curveSecretKey: agent1.secretKey,
  });
  victim.connect(server.endpoint);
  await victim.send(encode({ type: "hello", name: "agent1" }));
  await server.proc.event("session_opened", (e) => e.agent === "agent1", { timeout: 15_000 });
  victim.close({ linger: 0 });
  // agent2, admitted with its own key, takes agent1's routing id.
  await using impostor = new Dealer({
    linger: 0,
    routingId: agent1.publicKey,
    curveServerKey: serverKey,
    curvePublicKey: agent2.publicKey,
    curveSecretKey: agent2.secretKey,
  });
  impostor.connect(server.endpoint);
  await waitFor("the hijacked session to be dropped", async () => {
    await impostor.send(encode({ type: "hello", name: "agent1" }));
    return server.proc.eventCount("session_dropped") > 0;
  }, { timeoutMs: 15_000, intervalMs: 200 });
  const dropped = await server.proc.event("session_dropped");
  assert.equal(dropped.fingerprint, fingerprint(agent1.publicKey));
  // Commands already in flight may arrive; then, over 10 command intervals, none.
  const receiveWithin = (ms: number) =>
    Promise.race([
      impostor.receive().then(() => true, () => false),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), ms)),
    ]);
  while (await receiveWithin(500)) { /* drain in-flight commands */ }
  let late = 0;
  const until = Date.now() + 2000;
  while (Date.now() < until) if (await receiveWithin(until - Date.now())) late++;
  assert.equal(late, 0, "commands for agent1 kept reaching the impostor");
  impostor.close({ linger: 0 });
  await server.proc.stop();
});

Deno.test("an allow-list directory full of junk is skipped without a log flood", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  for (let i = 0; i < 60; i++) await Deno.writeTextFile(`${certs.allowDir}/junk${i}.key`, "junk\n");
  await Deno.symlink("/dev/zero", `${certs.allowDir}/zero.key`);
  const server = await startServer(certs);
  await using _server = server.proc;
  const summary = await server.proc.event("certificates_skipped", undefined, { timeout: 15_000 });
  assert.equal(summary.count, 61);
  assert.ok(server.proc.eventCount("certificate_skipped") <= 10, "the first few, then a count");
  const loaded = await server.proc.event("allow_list_loaded");
  assert.equal(loaded.keys, 1, "the valid certificate is still loaded");
  await server.proc.stop();
});

Deno.test("bad config: an --allow-dir that is a file (also with --generate-missing), a --state-file of /dev/zero", async () => {
  await using dir = await tempDir();
  const certs = await makeCerts(dir.path);
  const file = await runOnce("09", "c2_server", [
    "--secret-key-file",
    certs.serverSecret,
    "--allow-dir",
    certs.serverPublic,
    "--generate-missing",
  ]);
  assert.equal(file.code, 2, file.stderr);
  assert.match(file.stderr, /--allow-dir: expected a directory/);
  // Before the fix the agent read /dev/zero for ever and never started or exited.
  const zero = await runOnce("09", "secure_agent", [
    "--secret-key-file",
    certs.agentSecret,
    "--server-key-file",
    certs.serverPublic,
    "--state-file",
    "/dev/zero",
  ]);
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--state-file: .*not a regular file/);
});
