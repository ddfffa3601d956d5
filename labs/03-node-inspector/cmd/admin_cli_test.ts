import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { spawnRole } from "@lib/testing/mod.ts";
import { cli, lastJson, startAgent } from "../testing.ts";
import { curveKeyPair, Reply } from "@lib/zmq/mod.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("admin_cli: --json data for scripts and tables for people", async () => {
  const { agent, endpoint } = await startAgent();
  await using _ = agent;
  const pid = (await agent.event("started")).pid;

  const ps = await cli(["--connect", endpoint, "--json", "ps", "--filter", String(pid)]);
  assert.equal(ps.code, 0);
  assert.deepEqual(lastJson(ps.stdout).processes.map((p: Any) => p.pid), [pid]);

  const table = await cli(["ps", "--connect", endpoint, "--top", "3", "--sort", "mem"]);
  assert.equal(table.code, 0, table.stdout.join("\n"));
  assert.match(table.stdout[0], /^\s*PID\s+PPID\s+USER\s+S\s+%CPU\s+%MEM\s+RSS\s+THR\s+COMMAND$/);
  assert.equal(table.stdout.length, 1 + 3 + 1, table.stdout.join("\n"));
  assert.match(table.stdout.at(-1)!, /^3 shown of \d+ matching \(\d+ processes\), by mem$/);

  const info = await cli(["--connect", endpoint, "info"]);
  assert.equal(info.code, 0);
  assert.ok(info.stdout.some((l) => l.includes(Deno.hostname())), info.stdout.join("\n"));

  const mem = await cli(["--connect", endpoint, "mem"]);
  assert.match(mem.stdout[1], /^mem\s+\d/);

  const disk = await cli(["--connect", endpoint, "disk"]);
  assert.ok(disk.stdout.some((l) => /\s\/$/.test(l)), disk.stdout.join("\n"));

  const ping = await cli(["--connect", endpoint, "ping"]);
  assert.match(ping.stdout[0], new RegExp(`^pong from ${endpoint} in [\\d.]+ ms`));

  // Options from the environment; the whole process list, one long JSON line, arrives
  // complete (parsable, every process) before the CLI exits.
  const all = await cli(["ps"], { env: { ADMIN_CLI_CONNECT: endpoint, ADMIN_CLI_JSON: "1" } });
  assert.equal(all.code, 0, all.stderr.join("\n"));
  assert.equal(all.stdout.length, 1, "one JSON line");
  const list = JSON.parse(all.stdout[0]);
  assert.equal(list.processes.length, list.matched);
  assert.ok(list.processes.some((p: Any) => p.pid === pid), "the agent is in the full list");
  await agent.stop();
});

Deno.test("admin_cli: a reply that is not the protocol is bad_reply, exit 1, logged bad_message", async () => {
  // A stand-in agent: a raw REP that answers anything with a msgpack string.
  await using rep = new Reply({ linger: 0 });
  await rep.bind("tcp://127.0.0.1:*");
  const served = (async () => {
    await rep.receive();
    await rep.send(encode("pong"));
  })();
  const r = await cli(["--connect", rep.lastEndpoint!, "--timeout", "5000", "--json", "ping"]);
  await served;
  assert.equal(r.code, 1);
  assert.equal(lastJson(r.stdout).error.code, "bad_reply");
  assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
  assert.match(r.stderr[0], /^admin_cli: error: bad reply from tcp:\/\/127\.0\.0\.1:\d+: /);
  const bad = r.events.find((e) => e.event === "bad_message");
  assert.ok(bad, "bad_message logged");
  assert.match(String(bad.reason), /expected object/);
});

Deno.test("admin_cli: --help exits 0 with the usage on stdout", async () => {
  const top = await cli(["--help"]);
  assert.equal(top.code, 0);
  assert.ok(top.stdout.some((l) => /^Usage: admin_cli/.test(l)), top.stdout.join("\n"));
  assert.ok(top.stdout.some((l) => l.includes("--retries <n>")));
  const ps = await cli(["ps", "--help"]);
  assert.equal(ps.code, 0);
  assert.ok(ps.stdout.some((l) => l.includes("--sort <key>")), ps.stdout.join("\n"));
});

Deno.test("admin_cli: an unknown command returns the agent's structured error, exit 1", async () => {
  const { agent, endpoint } = await startAgent();
  await using _ = agent;
  const r = await cli(["--connect", endpoint, "raw", "reboot", '{"now":true}']);
  assert.equal(r.code, 1);
  assert.deepEqual(lastJson(r.stdout), {
    error: {
      code: "unknown_command",
      message: 'expected one of info, mem, ps, disk, ping, got "reboot"',
    },
  });
  await agent.event("request_failed", (e) => e.code === "unknown_command");
  await agent.stop();
});

Deno.test("admin_cli: bad usage exits 2", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["ps", "--top", "0"],
      /'--top <n>' argument '0' is invalid. expected an integer in \[1, 10000\]/,
    ],
    [["ps", "--sort", "name"], /'--sort <key>' argument 'name' is invalid/],
    [["--timeout", "x", "ping"], /'--timeout <ms>' argument 'x' is invalid/],
    [
      ["--server-key", "not-a-key", "ping"],
      /expected a 40-character Z85 CURVE key, got 9 characters/,
    ],
    [
      ["--connect", "localhost:1", "ping"],
      /'--connect <endpoint>' argument 'localhost:1' is invalid/,
    ],
    [["reboot"], /reboot/],
    [[], /missing command: expected one of info\|mem\|ps\|disk\|ping\|raw/],
    [["raw", "ping", "[1]"], /expected a JSON object, got "\[1\]"/],
    [
      ["--client-secret", "0".repeat(40), "ping"],
      /--client-secret needs --server-key: it is a CURVE key/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `admin_cli ${args.join(" ")}: exit ${r.code}`);
    assert.equal(r.stderr.length, 1, `one line: ${r.stderr.join("\n")}`);
    assert.match(r.stderr[0], /^admin_cli: error: /);
    assert.match(r.stderr[0], message);
  }
});

Deno.test("admin_cli: a killed agent makes the CLI fail within timeout x retries", async () => {
  const { agent, endpoint } = await startAgent();
  await agent.kill();
  await agent.wait();
  // Long enough that a loaded box's timer lateness is small beside one attempt; the upper
  // bound (less than one more attempt) still catches an extra attempt or a doubled wait.
  const timeout = 600;
  const retries = 3;
  const r = await cli([
    "--connect",
    endpoint,
    "--timeout",
    String(timeout),
    "--retries",
    String(retries),
    "--json",
    "--log-level",
    "info",
    "ping",
  ]);
  assert.equal(r.code, 1);
  assert.deepEqual(lastJson(r.stdout).error.code, "unreachable");
  assert.match(
    lastJson(r.stdout).error.message,
    new RegExp(`no reply from ${endpoint} after 3 attempts of ${timeout} ms each`),
  );
  assert.deepEqual(r.stderr, [
    `admin_cli: error: no reply from ${endpoint} after 3 attempts of ${timeout} ms each: ` +
    "is node_agent running there?",
  ], "exactly one clear line besides the JSON events");
  const sent = r.events.filter((e) => e.event === "request_sent");
  assert.deepEqual(sent.map((e) => e.attempt), [1, 2, 3]);
  const retried = r.events.filter((e) => e.event === "retry");
  assert.deepEqual(retried.map((e) => e.attempt), [1, 2], "two retries after the first attempt");
  const gaveUp = r.events.find((e) => e.event === "unreachable");
  assert.ok(gaveUp, "the CLI logs unreachable");
  // Timed from the CLI's own log timestamps (ms), not from the client's self-reported figure.
  const at = (e: Any) => Date.parse(String(e.ts));
  for (let i = 1; i < sent.length; i++) {
    const gap = at(sent[i]) - at(sent[i - 1]);
    assert.ok(gap >= timeout - 20, `attempt ${i + 1} sent ${gap} ms after the one before`);
  }
  const waited = at(gaveUp) - at(sent[0]);
  assert.ok(
    waited >= timeout * retries - 20 && waited < timeout * (retries + 1),
    `gave up ${waited} ms after the first send, expected ${timeout * retries} ms ` +
      `(less than one more attempt late)`,
  );
  // Exit 1 through the runtime's clean shutdown (ctx.exitCode), not a crash.
  assert.equal(r.events.find((e) => e.event === "stopped")?.exit_code, 1);
  assert.equal(r.events.filter((e) => e.event === "fatal").length, 0);
  // Whole process, start-up and shutdown included: no hang after giving up.
  assert.ok(r.ms < timeout * retries + 15_000, `CLI ran ${r.ms} ms`);
});

Deno.test("admin_cli: an agent restarted mid-retry on the same endpoint is reached", async () => {
  const first = await startAgent();
  const endpoint = first.endpoint;
  await first.agent.kill();
  await first.agent.wait();

  await using proc = await spawnRole("03", "admin_cli", [
    "--connect",
    endpoint,
    "--timeout",
    "1000",
    "--retries",
    "10",
    "--json",
    "ping",
  ]);
  await proc.event("retry", (e) => e.attempt === 1, { timeout: 15_000 });
  const { agent } = await startAgent([], endpoint);
  await using _ = agent;
  const { code } = await proc.wait();
  assert.equal(code, 0);
  assert.equal(lastJson([...proc.stdoutLines]).pong, true);
  assert.ok(proc.eventCount("retry") >= 1);
  await agent.stop();
});

Deno.test("admin_cli: CURVE with the right key works, a wrong or missing key fails cleanly", async () => {
  await using keygen = await spawnRole("03", "node_agent", ["keygen"]);
  const secret = /"(.{40})"/.exec(await keygen.stdoutLine((l) => l.startsWith("secret-key")))![1];
  await keygen.wait();
  const { agent, endpoint } = await startAgent(["--curve-secret", secret]);
  await using _ = agent;
  const publicKey = String((await agent.event("listening")).curve_public_key);

  const ok = await cli(["--connect", endpoint, "--server-key", publicKey, "--json", "ping"]);
  assert.equal(ok.code, 0, ok.stderr.join("\n"));
  assert.equal(lastJson(ok.stdout).pong, true);

  // The agent's own command line carries its secret: ps shows it redacted.
  const agentPid = String((await agent.event("started")).pid);
  const ps = await cli([
    "--connect",
    endpoint,
    "--server-key",
    publicKey,
    "--json",
    "ps",
    "--filter",
    agentPid,
  ]);
  assert.equal(ps.code, 0);
  const [self] = lastJson(ps.stdout).processes;
  assert.match(self.command, /--curve-secret \*\*\*/, JSON.stringify(self));
  assert.ok(!ps.stdout.join("\n").includes(secret), "the secret never leaves the agent");

  // A valid key that is not the agent's: the handshake fails, the CLI says so and exits 1
  // at once: no retry, well before even one attempt's timeout.
  const timeout = 10_000;
  const wrongKey = publicKey.startsWith("0") ? `1${publicKey.slice(1)}` : `0${publicKey.slice(1)}`;
  const wrong = await cli([
    "--connect",
    endpoint,
    "--server-key",
    wrongKey,
    "--timeout",
    String(timeout),
    "--retries",
    "3",
    "--log-level",
    "info",
    "--json",
    "ping",
  ]);
  assert.equal(wrong.code, 1);
  assert.equal(lastJson(wrong.stdout).error.code, "handshake_failed");
  assert.match(
    lastJson(wrong.stdout).error.message,
    /expected --server-key to be the agent's public key/,
  );
  assert.equal(wrong.stderr.length, 1, wrong.stderr.join("\n"));
  assert.match(
    wrong.stderr[0],
    /^admin_cli: error: CURVE handshake with tcp:\/\/127\.0\.0\.1:\d+ failed/,
  );
  assert.deepEqual(
    wrong.events.filter((e) => e.event === "request_sent").map((e) => e.attempt),
    [1],
    "a failed handshake is not retried",
  );
  assert.equal(wrong.events.filter((e) => e.event === "retry").length, 0);
  assert.ok(wrong.ms < timeout, `failed fast, not by timeout: ${wrong.ms} ms`);
  await agent.event("handshake_failed");

  const plain = await cli([
    "--connect",
    endpoint,
    "--timeout",
    String(timeout),
    "--log-level",
    "debug",
    "--json",
    "ping",
  ]);
  assert.equal(plain.code, 1);
  assert.equal(lastJson(plain.stdout).error.code, "handshake_failed");
  assert.match(
    lastJson(plain.stdout).error.message,
    /security mechanism mismatch: the agent requires CURVE and this client uses NULL/,
  );
  assert.equal(plain.stderr.length, 1, plain.stderr.join("\n"));
  assert.ok(
    plain.ms < timeout,
    `failed fast, not by timeout: ${plain.ms} ms; ${JSON.stringify(plain.events)}`,
  );

  // The failed handshakes did not disturb the agent: the right key still works.
  const again = await cli(["--connect", endpoint, "--server-key", publicKey, "--json", "ping"]);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  assert.equal(lastJson(again.stdout).pong, true);
  await agent.stop();
});

Deno.test("admin_cli: an agent with --allow-key serves listed client keys only (ZAP)", async () => {
  const server = curveKeyPair();
  const alice = curveKeyPair();
  const mallory = curveKeyPair();
  const { agent, endpoint } = await startAgent([
    "--curve-secret",
    server.secretKey,
    "--allow-key",
    alice.publicKey,
    // The flag repeats (or takes a comma-separated list).
    "--allow-key",
    curveKeyPair().publicKey,
  ]);
  await using _ = agent;
  assert.equal((await agent.event("listening")).allowed_keys, 2);
  const timeout = 10_000;
  const ask = (extra: string[]) =>
    cli([
      "--connect",
      endpoint,
      "--server-key",
      server.publicKey,
      "--timeout",
      String(timeout),
      ...extra,
      "--json",
      "ping",
    ]);

  const allowed = await ask(["--client-secret", alice.secretKey]);
  assert.equal(allowed.code, 0, allowed.stderr.join("\n"));
  assert.equal(lastJson(allowed.stdout).pong, true);
  await agent.event("client_allowed", (e) => e.public_key === alice.publicKey);

  // A key that is not listed, and the default ephemeral key: refused at the handshake, at
  // once (long before one attempt's timeout), with one line that says why.
  for (
    const [who, extra] of [["mallory", ["--client-secret", mallory.secretKey]], [
      "ephemeral key",
      [],
    ]] as const
  ) {
    const denied = await ask([...extra, "--log-level", "debug"]);
    assert.equal(denied.code, 1, `${who}: exit ${denied.code}`);
    assert.equal(lastJson(denied.stdout).error.code, "handshake_failed");
    assert.equal(denied.stderr.length, 1, denied.stderr.join("\n"));
    assert.match(denied.stderr[0], /does not allow this client's key/);
    assert.ok(
      denied.ms < timeout,
      `refused fast, not by timeout: ${denied.ms} ms; ${JSON.stringify(denied.events)}`,
    );
  }
  await agent.event("client_denied", (e) => e.public_key === mallory.publicKey);
  assert.equal(agent.eventCount("client_denied"), 2);
  assert.equal(agent.eventCount("request_failed") + agent.eventCount("bad_message"), 0);

  // Still serving the listed client.
  const again = await ask(["--client-secret", alice.secretKey]);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  await agent.stop();
  const served = await agent.event("served");
  assert.equal(served.requests, 2, "only the allowed client's requests reached the agent");
});

Deno.test("admin_cli: SIGTERM while waiting for a reply exits 0", async () => {
  const { agent, endpoint } = await startAgent();
  await agent.kill();
  await agent.wait();
  await using proc = await spawnRole("03", "admin_cli", [
    "--connect",
    endpoint,
    "--timeout",
    "60000",
    "--log-level",
    "info",
    "ping",
  ]);
  await proc.event("request_sent");
  await proc.stop({ timeout: 10_000 });
  assert.equal(proc.eventCount("interrupted"), 1);
  assert.deepEqual(proc.stdoutLines, [], "nothing printed for an interrupted request");
});

Deno.test("admin_cli: --server-key against an agent without CURVE names the mechanism mismatch", async () => {
  const { agent, endpoint } = await startAgent();
  await using _ = agent;
  const timeout = 10_000;
  const r = await cli([
    "--connect",
    endpoint,
    "--server-key",
    curveKeyPair().publicKey,
    "--timeout",
    String(timeout),
    "--json",
    "ping",
  ]);
  assert.equal(r.code, 1);
  assert.equal(lastJson(r.stdout).error.code, "handshake_failed");
  assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
  assert.match(
    r.stderr[0],
    /^admin_cli: error: handshake with tcp:\/\/127\.0\.0\.1:\d+ failed: security mechanism mismatch: this client uses CURVE \(--server-key\) and the agent uses NULL: expected an agent started with --curve-secret/,
  );
  assert.doesNotMatch(r.stderr[0], /expected --server-key to be the agent's public key/);
  assert.ok(r.ms < timeout, `failed fast, not by timeout: ${r.ms} ms`);
  await agent.event("handshake_failed");
  await agent.stop();
});
