import assert from "node:assert/strict";
import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { shellWords, taskCommands } from "./testing.ts";

const here = new URL(".", import.meta.url);

Deno.test("testing: shell words and task commands are read as a shell would", () => {
  assert.deepEqual(shellWords(`a 'b c' "d"e # f`), ["a", "b c", "de"]);
  assert.deepEqual(
    taskCommands("x\n```sh\nA='1 2' deno task lab03:cli -- --json mem # c\nls\n```\n"),
    [{
      line: "A='1 2' deno task lab03:cli -- --json mem # c",
      env: { A: "1 2" },
      task: "lab03:cli",
      args: ["--", "--json", "mem"],
    }],
  );
});

Deno.test("SUMMARY: every deno task lab03 command works as pasted, with its --", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", here)));
  const roleOf = new Map<string, string>(
    manifest.roles.map((r: { name: string; alias: string }) => [`lab03:${r.alias}`, r.name]),
  );
  const summary = await Deno.readTextFile(new URL("SUMMARY.md", here));
  const server = curveKeyPair();
  const client = curveKeyPair();
  const placeholders: Record<string, string> = {
    "<secret>": server.secretKey,
    "<public>": server.publicKey,
    "<client public>": client.publicKey,
    "<other>": curveKeyPair().publicKey,
    "<client secret>": client.secretKey,
  };
  const fill = (text: string) =>
    text.replace(/<[a-z ]+>/g, (name) => {
      const value = placeholders[name];
      if (!value) throw new Error(`SUMMARY placeholder ${name} has no test value`);
      return value;
    });
  // The lab runner (`deno task lab03`) binds the demo's fixed ports: not run here.
  const commands = taskCommands(summary).filter((c) => c.task !== "lab03");
  assert.ok(commands.length >= 9, `found only ${commands.length} commands in SUMMARY.md`);

  const agents: { kind: string; proc: RoleProcess; endpoint: string }[] = [];
  try {
    // Agents first (each stays up), then every CLI command against the one it needs.
    for (const c of commands.filter((c) => roleOf.get(c.task) === "node_agent")) {
      const env: Record<string, string> = {
        NODE_AGENT_BIND: "tcp://127.0.0.1:*",
        ...mapValues(c.env, fill),
      };
      const proc = await spawnRole("03", "node_agent", c.args.map(fill), { env });
      if (c.args.includes("keygen")) {
        const { code } = await proc.wait();
        assert.equal(code, 0, `${c.line}: exit ${code}\n${proc.tail()}`);
        assert.match(proc.stdoutLines.join("\n"), /^public-key = "/m, c.line);
        continue;
      }
      const listening = await proc.event("listening");
      const kind = c.args.some((a) => a.startsWith("--allow-key"))
        ? "allow-list"
        : env.NODE_AGENT_CURVE_SECRET
        ? "curve"
        : "plain";
      if (kind !== "plain") assert.equal(listening.curve_public_key, server.publicKey, c.line);
      agents.push({ kind, proc, endpoint: String(listening.endpoint) });
    }
    assert.deepEqual(agents.map((a) => a.kind).sort(), ["allow-list", "curve", "plain"]);

    let cliRuns = 0;
    for (const c of commands.filter((c) => roleOf.get(c.task) === "admin_cli")) {
      const env = mapValues(c.env, fill);
      const args = c.args.map(fill);
      const kind = env.ADMIN_CLI_CLIENT_SECRET
        ? "allow-list"
        : args.includes("--server-key")
        ? "curve"
        : "plain";
      const agent = agents.find((a) => a.kind === kind)!;
      await using proc = await spawnRole("03", "admin_cli", args, {
        env: { ADMIN_CLI_CONNECT: agent.endpoint, ...env },
      });
      const { code } = await proc.wait();
      // `raw reboot` is there to show the agent's structured error: exit 1 by design.
      const expected = args.includes("raw") ? 1 : 0;
      assert.equal(code, expected, `${c.line}: exit ${code}\n${proc.tail()}`);
      assert.ok(proc.stdoutLines.length > 0, `${c.line}: printed nothing`);
      if (expected === 1) {
        assert.match(proc.rawStderr.join("\n"), /agent replied unknown_command/, c.line);
      }
      cliRuns++;
    }
    assert.ok(cliRuns >= 5, `ran ${cliRuns} CLI commands`);
    assert.ok(
      commands.some((c) => c.args[0] === "--" && roleOf.get(c.task) === "admin_cli"),
      "the `--` form is among them",
    );
  } finally {
    for (const { proc } of agents) await proc.stop();
  }
});

function mapValues(
  record: Record<string, string>,
  fn: (value: string) => string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
