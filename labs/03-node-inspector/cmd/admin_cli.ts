/**
 * admin_cli: asks a node_agent for info, mem, ps, disk or ping over REQ-REP with Lazy
 * Pirate retries; tables for people, `--json` for scripts. Exit codes: 0 ok, 1 remote
 * error or agent unreachable, 2 bad usage.
 *
 * @module
 */

import {
  type Command,
  ConfigError,
  endpoint,
  int,
  InvalidArgumentError,
  oneOf,
  type RoleContext,
  runRole,
  z85Key,
} from "@lib/role/mod.ts";
import { type AdminOptions, EXIT_OK, runAdminCommand } from "../internal/admin_command.ts";
import { PS_SORT_KEYS } from "../internal/process_query.ts";
import { DEFAULT_ENDPOINT, PS_MAX_FILTER, PS_MAX_TOP } from "../internal/protocol.ts";

interface PsOptions extends AdminOptions {
  top?: number;
  sort: string;
  filter?: string;
}

interface RawOptions extends AdminOptions {
  cmd: string;
  args?: Record<string, unknown>;
}

/** Runs one command; the role exits with its code after a clean shutdown. */
async function invoke(
  cmd: string,
  args: Record<string, unknown>,
  options: AdminOptions,
  ctx: RoleContext,
): Promise<void> {
  const code = await runAdminCommand(cmd, args, options, {
    print: (line) => ctx.print(line),
    error: (line) => console.error(`admin_cli: error: ${line}`),
    log: ctx.log,
    signal: ctx.signal,
  });
  if (code !== EXIT_OK) ctx.exitCode = code;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`expected a JSON object, got ${JSON.stringify(value)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`expected a JSON object, got ${JSON.stringify(value)}`);
  }
  return parsed as Record<string, unknown>;
}

function text(max: number) {
  return (value: string): string => {
    if (value.length > max) {
      throw new InvalidArgumentError(`expected at most ${max} characters, got ${value.length}`);
    }
    return value;
  };
}

/** Checks the global options together (every subcommand's `validate`). */
function validate(options: AdminOptions): void {
  if (options.clientSecret && !options.serverKey) {
    throw new ConfigError("--client-secret needs --server-key: it is a CURVE key");
  }
}

const simple = (cmd: string, summary: string) => ({
  summary,
  validate,
  run: (options: AdminOptions, ctx: RoleContext) => invoke(cmd, {}, options, ctx),
});

await runRole<AdminOptions>({
  name: "admin_cli",
  summary: "Inspects a node_agent: info, mem, ps, disk, ping (tables, or --json for scripts)",
  configure: (cmd: Command) => {
    // A CLI: only warnings (retries) and errors on stderr unless asked (--log-level info).
    cmd.options.find((o) => o.long === "--log-level")?.default("warn");
    cmd.setOptionValueWithSource("logLevel", "warn", "default");
    return cmd
      .option("--connect <endpoint>", "node_agent endpoint", endpoint, DEFAULT_ENDPOINT)
      .option("--timeout <ms>", "ms to wait for each reply", int({ min: 1 }), 2500)
      .option(
        "--retries <n>",
        "attempts before giving up (Lazy Pirate; 1 = no retry); total wait <= timeout x retries",
        int({ min: 1, max: 100 }),
        3,
      )
      .option("--server-key <z85>", "agent's CURVE public key (enables CURVE)", z85Key)
      .option(
        "--client-secret <z85>",
        "this client's CURVE secret key, for an agent with --allow-key (default: ephemeral)",
        z85Key,
      )
      .option("--json", "print the reply data as JSON (one line) for scripts", false);
  },
  run() {
    throw new ConfigError("missing command: expected one of info|mem|ps|disk|ping|raw");
  },
  commands: {
    info: simple("info", "host name, OS, uptime, load, CPUs"),
    mem: simple("mem", "memory and swap"),
    disk: simple("disk", "mounted file systems and their use"),
    ping: simple("ping", "round trip to the agent"),
    ps: {
      summary: "process list with top-N, sort and filter",
      validate,
      configure: (cmd: Command) =>
        cmd
          .option("--top <n>", "show the first N", int({ min: 1, max: PS_MAX_TOP }))
          .option(
            "--sort <key>",
            `sort by ${PS_SORT_KEYS.join("|")}`,
            oneOf(...PS_SORT_KEYS),
            "cpu",
          )
          .option(
            "--filter <text>",
            "a pid (all digits), or a substring of name, command line or user",
            text(PS_MAX_FILTER),
          ),
      run: (o: PsOptions, ctx: RoleContext) =>
        invoke(
          "ps",
          {
            sort: o.sort,
            ...(o.top !== undefined ? { top: o.top } : {}),
            ...(o.filter !== undefined ? { filter: o.filter } : {}),
          },
          o,
          ctx,
        ),
    },
    raw: {
      summary: "send any command name with JSON args, print the raw reply (for debugging)",
      validate,
      configure: (cmd: Command) =>
        cmd
          .argument("<cmd>", "command name, sent as is")
          .argument("[args]", "arguments as a JSON object", jsonObject),
      run: (o: RawOptions, ctx: RoleContext) =>
        invoke(o.cmd, o.args ?? {}, { ...o, json: true }, ctx),
    },
  },
});
