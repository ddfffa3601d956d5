import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { spawnRole, waitFor } from "@lib/testing/mod.ts";
import { deadline } from "@lib/async/mod.ts";
import { curveKeyPair, Dealer, Request } from "@lib/zmq/mod.ts";
import { encodeRequest } from "../internal/protocol.ts";
import { ask, startAgent } from "../testing.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("node_agent: answers every allow-listed command; ps includes the agent's own pid", async () => {
  await using agent = await spawnRole("03", "node_agent", ["--bind", "tcp://127.0.0.1:*"]);
  const { endpoint } = await agent.event("listening");
  const { pid } = await agent.event("started");
  const ep = String(endpoint);

  const ps = await ask(ep, [encodeRequest("ps", { sort: "pid", top: 10000 })]);
  assert.equal(ps.ok, true);
  const me = ps.data.processes.find((p: Any) => p.pid === pid);
  assert.ok(me, `agent pid ${pid} missing from ${ps.data.processes.length} processes`);
  assert.match(me.command, /node_agent\.ts/);
  assert.ok(me.rss > 0 && me.threads >= 1, JSON.stringify(me));
  const pids = ps.data.processes.map((p: Any) => p.pid);
  assert.deepEqual(pids, [...pids].sort((a: number, b: number) => a - b), "sorted by pid");

  const filtered = await ask(ep, [encodeRequest("ps", { filter: String(pid) })]);
  assert.deepEqual(filtered.data.processes.map((p: Any) => p.pid), [pid]);

  const info = await ask(ep, [encodeRequest("info")]);
  assert.equal(info.data.agent.pid, pid);
  assert.equal(info.data.host, Deno.hostname());
  assert.equal(info.data.load.length, 3);

  const mem = await ask(ep, [encodeRequest("mem")]);
  assert.ok(mem.data.total > 0 && mem.data.available <= mem.data.total, JSON.stringify(mem));

  const disk = await ask(ep, [encodeRequest("disk")]);
  assert.ok(disk.data.filesystems.some((f: Any) => f.mount === "/"), JSON.stringify(disk));

  const ping = await ask(ep, [encodeRequest("ping")]);
  assert.equal(ping.data.pong, true);
  assert.ok(Math.abs(ping.data.time - Date.now()) < 60_000);

  await agent.stop();
});

Deno.test("node_agent: unknown commands and bad arguments get structured errors", async () => {
  await using agent = await spawnRole("03", "node_agent", ["--bind", "tcp://127.0.0.1:*"]);
  const ep = String((await agent.event("listening")).endpoint);

  assert.deepEqual(await ask(ep, [encodeRequest("reboot", { now: true })]), {
    v: 1,
    ok: false,
    error: {
      code: "unknown_command",
      message: 'expected one of info, mem, ps, disk, ping, got "reboot"',
    },
  });
  await agent.event("request_failed", (e) => e.code === "unknown_command" && e.cmd === undefined);
  const badArgs = await ask(ep, [encodeRequest("ps", { top: -1 })]);
  assert.equal(badArgs.error.code, "bad_args");
  const version = await ask(ep, [encode({ v: 2, cmd: "ping", args: {} })]);
  assert.equal(version.error.code, "unsupported_version");
  await agent.stop();
});

Deno.test("node_agent: garbage, wrong frame counts and oversize input are logged and survived", async () => {
  await using agent = await spawnRole("03", "node_agent", ["--bind", "tcp://127.0.0.1:*"]);
  const ep = String((await agent.event("listening")).endpoint);

  // Wrong frame count: REP still owes a reply, and it is a structured error.
  const two = await ask(ep, [encodeRequest("ping"), encodeRequest("ping")]);
  assert.equal(two.error.code, "bad_message");
  assert.match(two.error.message, /expected 1 frame, got 2/);
  await agent.event("bad_message", (e) => e.frames === 2);

  // Not msgpack at all.
  const garbage = await ask(ep, [new TextEncoder().encode("\xc1GET / HTTP/1.0\r\n")]);
  assert.equal(garbage.error.code, "bad_message");
  // msgpack, but not the envelope.
  const shape = await ask(ep, [encode(["ping"])]);
  assert.equal(shape.error.code, "bad_message");
  // Over the request limit but under libzmq's limit: refused by the agent.
  const big = await ask(ep, [new Uint8Array(10_000)]);
  assert.match(big.error.message, /at most 4096 bytes, got 10000/);
  await agent.event("bad_message", (e) => e.bytes === 10_000);
  assert.equal(agent.eventCount("bad_message"), 4);

  // Over libzmq's maxMessageSize: the connection is dropped, no reply, no crash.
  await assert.rejects(ask(ep, [new Uint8Array(200_000)], 500), /EAGAIN|timed out/);
  // A DEALER without the REQ envelope: libzmq's REP discards it before the application.
  const dealer = new Dealer({ linger: 0 });
  try {
    dealer.connect(ep);
    await dealer.send(encodeRequest("ping"));
  } finally {
    dealer.close();
  }

  // Still serving.
  assert.equal((await ask(ep, [encodeRequest("ping")])).ok, true);
  assert.equal(agent.eventCount("fatal"), 0);
  await agent.stop();
  // The oversize message and the envelope-less one never reached the application.
  const served = await agent.event("served");
  assert.deepEqual([served.requests, served.errors, served.bad_messages], [5, 4, 4]);
  await agent.event("stopped");
});

Deno.test("node_agent: keygen prints a Z85 keypair; the agent logs the public key; bad keys exit 2", async () => {
  await using keygen = await spawnRole("03", "node_agent", ["keygen"]);
  const pub = await keygen.stdoutLine((l) => l.startsWith("public-key"));
  const sec = await keygen.stdoutLine((l) => l.startsWith("secret-key"));
  assert.equal((await keygen.wait()).code, 0);
  const publicKey = /"(.{40})"/.exec(pub)![1];
  const secretKey = /"(.{40})"/.exec(sec)![1];

  // Both options from the environment.
  await using agent = await spawnRole("03", "node_agent", [], {
    env: { NODE_AGENT_BIND: "tcp://127.0.0.1:*", NODE_AGENT_CURVE_SECRET: secretKey },
  });
  const listening = await agent.event("listening");
  assert.match(String(listening.endpoint), /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(listening.endpoint, "tcp://127.0.0.1:5531", "NODE_AGENT_BIND was used");
  assert.equal(listening.curve_public_key, publicKey);
  const started = await agent.event("started");
  assert.ok(!JSON.stringify(started).includes(secretKey), "the secret is not logged");
  await agent.stop();

  await using bad = await spawnRole("03", "node_agent", ["--curve-secret", "short"]);
  const { code } = await bad.wait();
  assert.equal(code, 2);
});

Deno.test("node_agent: --allow-key needs --curve-secret and valid keys (exit 2)", async () => {
  const key = curveKeyPair().publicKey;
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--allow-key", key], {}, /--allow-key needs --curve-secret/],
    [
      ["--curve-secret", curveKeyPair().secretKey],
      { NODE_AGENT_ALLOW_KEY: `${key},short` },
      /expected a 40-character Z85 CURVE key, got 5 characters/,
    ],
  ];
  for (const [args, env, message] of cases) {
    await using proc = await spawnRole(
      "03",
      "node_agent",
      ["--bind", "tcp://127.0.0.1:*", ...args],
      {
        env,
      },
    );
    const { code } = await proc.wait();
    assert.equal(code, 2, proc.tail());
    assert.equal(proc.rawStderr.length, 1, proc.rawStderr.join("\n"));
    assert.match(proc.rawStderr[0], /^node_agent: error: /);
    assert.match(proc.rawStderr[0], message);
  }
});

Deno.test("node_agent: ps hides credentials in other processes' command lines", async () => {
  await using agent = await spawnRole("03", "node_agent", ["--bind", "tcp://127.0.0.1:*"]);
  const ep = String((await agent.event("listening")).endpoint);
  // A process whose arguments carry credentials in the usual forms (`; :` keeps sh alive
  // instead of letting it exec sleep, so these stay its arguments).
  const secrets = ["two words", "hunter2", "pw-in-url", "s3cr3t-env", "curl-pw", "pass-x"];
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      "sleep 60; :",
      "sh",
      "--password",
      "two words",
      "-p",
      "hunter2",
      "postgres://admin:pw-in-url@db/app",
      "SECRET_ENV=s3cr3t-env",
      "-u",
      "admin:curl-pw",
      "--pass=pass-x",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const ps = await ask(ep, [encodeRequest("ps", { filter: String(child.pid) })]);
    assert.equal(ps.ok, true, JSON.stringify(ps));
    const [proc] = ps.data.processes;
    assert.equal(proc?.pid, child.pid, JSON.stringify(ps.data));
    assert.ok(
      proc.command.endsWith(
        "sh -c sleep 60; : sh --password *** -p *** postgres://admin:***@db/app " +
          "SECRET_ENV=*** -u admin:*** --pass=***",
      ),
      proc.command,
    );
    for (const secret of secrets) {
      assert.ok(!JSON.stringify(ps).includes(secret), `${secret} left the host`);
    }
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  await agent.stop();
});

/**
 * Connects REQ sockets with `keys` until 20 handshakes failed: one socket that libzmq
 * reconnects by itself (a wrong server key), or a new socket per failure where libzmq
 * stops after one (a ZAP refusal), as a client in a retry loop would.
 */
async function failHandshakes(
  endpoint: string,
  serverKey: string,
  reconnects: boolean,
): Promise<number> {
  const client = curveKeyPair();
  let failures = 0;
  while (failures < 20) {
    const req = new Request({
      linger: 0,
      curveServerKey: serverKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
    });
    const counting = (async () => {
      for await (const e of req.events) {
        if (e.type.startsWith("handshake:error")) {
          failures++;
          if (!reconnects) return;
        }
      }
    })();
    try {
      req.connect(endpoint);
      if (reconnects) {
        await waitFor("20 failed handshakes", () => failures >= 20, { timeoutMs: 30_000 });
      } else await deadline(counting, 10_000, { what: "a refused handshake" });
    } finally {
      req.close();
      await counting;
    }
  }
  return failures;
}

Deno.test("node_agent: one refused client's endless handshakes log a few lines, not one each", async () => {
  const server = curveKeyPair();
  const cases = [
    // A valid key that is not the agent's: the CURVE handshake fails, libzmq reconnects.
    { args: [], serverKey: curveKeyPair().publicKey, event: "handshake_failed", again: true },
    // The agent's key, but a client key its allow-list lacks: ZAP refuses it.
    {
      args: ["--allow-key", curveKeyPair().publicKey],
      serverKey: server.publicKey,
      event: "client_denied",
      again: false,
    },
  ];
  for (const c of cases) {
    const { agent, endpoint } = await startAgent(["--curve-secret", server.secretKey, ...c.args]);
    await using _ = agent;
    const failures = await failHandshakes(endpoint, c.serverKey, c.again);
    await agent.event(c.event);
    const started = Date.parse(String((await agent.event("listening")).ts));
    await agent.stop();
    const span = Date.parse(String(agent.events.at(-1)?.ts)) - started;
    for (const name of ["handshake_failed", "client_denied"]) {
      const lines = agent.events.filter((e) => e.event === name);
      // One line, then at most one per 5 s window carrying how many were held back.
      assert.ok(
        lines.length <= 1 + Math.ceil(span / 5000),
        `${c.event}: ${lines.length} ${name} lines in ${span} ms for ${failures} failures`,
      );
      for (const later of lines.slice(1)) assert.ok(Number(later.suppressed) > 0);
    }
    const first = agent.events.find((e) => e.event === c.event)!;
    assert.equal(first.reason, c.again ? "ZMTP_CRYPTOGRAPHIC" : "client key not allowed");
  }
});
