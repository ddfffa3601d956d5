/**
 * The role runtime: command line (commander) with env fallbacks, logging setup, signals,
 * graceful shutdown with a deadline, and fatal-error handling.
 *
 * @module
 */

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { runShutdownHooks } from "../lifecycle/shutdown_hooks.ts";
import {
  configureLogging,
  flushLogs,
  getRoleLogger,
  type LogFields,
  type Logger,
  type LogLevel,
  parseLevel,
  writeAllSync,
} from "./logger.ts";
import { int, oneOf } from "./validators.ts";

/** Something that was bound: a socket with `lastEndpoint`, or the endpoint itself. */
export type Bound = string | { readonly lastEndpoint: string | null | undefined };

/** What a role's `run` gets besides its options. */
export interface RoleContext {
  /** The role name (= executable name). */
  readonly role: string;
  /** Event logger (stderr). */
  readonly log: Logger;
  /** Aborted on the first SIGINT/SIGTERM (and when `run` returns). */
  readonly signal: AbortSignal;
  /** Positional arguments of the command (also merged into the options by name). */
  readonly args: unknown[];
  /** Waits `ms`; resolves early (never rejects) when `signal` aborts. */
  sleep(ms: number): Promise<void>;
  /**
   * Resolves (never rejects) when the role is asked to stop: `await ctx.stopped` is the
   * last line of a role whose work runs in loops it started.
   */
  readonly stopped: Promise<void>;
  /**
   * Runs `fn` every `ms` until `run` has returned (it keeps running while the role drains
   * after a stop signal; it is cleared before the cleanups run). `ms <= 0` runs nothing,
   * for options where 0 means "off".
   */
  every(ms: number, fn: () => void): void;
  /** Logs `listening` {endpoint, ...fields} with the real endpoint; returns it. */
  listening(bound: Bound, fields?: LogFields): string;
  /** Registers a cleanup run at shutdown, newest first. */
  defer(fn: () => void | Promise<void>): void;
  /** Writes one line of program output to stdout. */
  print(line: string): void;
  /**
   * Exit code after a clean shutdown (default 0), e.g. 1 for a CLI whose check failed.
   * Cleanups, shutdown hooks and `stopped` still run.
   */
  exitCode: number;
}

/** A (sub)command: its options and what it runs. */
export interface CommandSpec<O> {
  /** One line for --help. */
  summary: string;
  /** Adds options and arguments to the commander Command. */
  configure?: (cmd: Command) => Command | void;
  /**
   * Checks the parsed options together (e.g. `--min <= --max`) before anything runs;
   * throw (ideally a {@link ConfigError}) to print `<role>: error: <message>` and exit 2.
   */
  validate?: (options: O) => void;
  /** The work; return (or resolve) to exit 0. Watch `ctx.signal` to stop. */
  run: (options: O, ctx: RoleContext, args: unknown[]) => void | Promise<void>;
}

/** What {@link runRole} gets. */
export interface RoleSpec<O> extends Omit<CommandSpec<O>, "run"> {
  /** Role name = manifest role name = executable name. */
  name: string;
  /** Shown by --version and in `started` when given. */
  version?: string;
  /** The default command; optional when `commands` are given. */
  run?: CommandSpec<O>["run"];
  /** Subcommands, e.g. `{ verify: { summary, configure, run } }`. */
  // deno-lint-ignore no-explicit-any
  commands?: Record<string, CommandSpec<any>>;
  /** Command line (default `Deno.args`). */
  argv?: string[];
}

/** Options every role has. */
export interface CommonOptions {
  logLevel: LogLevel;
  logFormat: "auto" | "json" | "pretty";
  shutdownTimeout: number;
}

/**
 * Thrown by a role for a bad configuration that the option parsers cannot see (e.g. two
 * options that conflict). The runtime prints `<role>: error: <message>` and exits 2.
 *
 * @example
 * ```ts
 * if (options.min > options.max) throw new ConfigError(`expected --min <= --max, got ${options.min} > ${options.max}`);
 * ```
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Exit code of a bad command line or configuration. */
export const EXIT_USAGE = 2;
/** Exit code of a second signal during shutdown. */
export const EXIT_FORCED = 130;

/**
 * The env fallback of an option: `<ROLE>_<FLAG>` in upper snake case.
 *
 * @example
 * ```ts
 * envVarName("monitor_agent", "--interval"); // "MONITOR_AGENT_INTERVAL"
 * envVarName("log_parser", "--max-batch-size"); // "LOG_PARSER_MAX_BATCH_SIZE"
 * ```
 */
export function envVarName(role: string, flag: string): string {
  const name = flag.replace(/^-+/, "");
  return `${role}_${name}`.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}

const SECRET_RE = /secret|password|key/i;

/**
 * Options as logged in `started`: values of options named like secret/password/key are
 * replaced by "***".
 *
 * @example
 * ```ts
 * sanitizeOptions({ curveSecretKey: "abc", port: 1 }); // { curveSecretKey: "***", port: 1 }
 * ```
 */
export function sanitizeOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    out[key] = SECRET_RE.test(key) && value !== undefined && value !== false ? "***" : value;
  }
  return out;
}

function camel(name: string): string {
  return name.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

function envAllowed(): boolean {
  try {
    return Deno.permissions.querySync({ name: "env" }).state === "granted";
  } catch {
    return false;
  }
}

function isAbortError(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted &&
    (error === signal.reason || (error instanceof Error && error.name === "AbortError") ||
      (error instanceof DOMException && error.name === "AbortError"));
}

function stderrLine(text: string): void {
  writeAllSync(Deno.stderr, text.endsWith("\n") ? text : text + "\n");
}

interface Selected {
  name: string | null;
  // deno-lint-ignore no-explicit-any
  spec: CommandSpec<any>;
  command: Command;
}

function buildProgram(
  spec: RoleSpec<unknown>,
  onSelect: (selected: Selected) => void,
): Command {
  const role = spec.name;
  const withEnv = envAllowed();
  // Commander registers an option's env listener when the option is added, so the env
  // fallback is attached on the way in (options that already name an env var keep it).
  const withEnvFallbacks = (cmd: Command): Command => {
    const addOption = cmd.addOption.bind(cmd);
    cmd.addOption = (option: Option) => {
      if (!withEnv) option.envVar = undefined;
      else if (!option.envVar && option.long && option.long !== "--help") {
        option.env(envVarName(role, option.long));
      }
      const result = addOption(option);
      if (withEnv && option.envVar && !option.required && !option.optional) {
        // A boolean flag: commander only checks that its env var is set; make 0/false/no/off
        // (case-insensitive) mean "not set" instead of switching the flag on.
        const envVar = option.envVar;
        cmd.on(`optionEnv:${option.name()}`, () => {
          if (/^(0|false|no|off)$/i.test(Deno.env.get(envVar) ?? "")) {
            cmd.setOptionValueWithSource(option.attributeName(), option.negate, "env");
          }
        });
      }
      return result;
    };
    return cmd;
  };
  const program = withEnvFallbacks(new Command(role))
    .description(spec.summary)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortOptions: false })
    .configureOutput({
      writeOut: (str) => writeAllSync(Deno.stdout, str),
      writeErr: (str) => writeAllSync(Deno.stderr, str),
      outputError: (str, write) => write(`${role}: ${str.trim().replace(/\s*\n\s*/g, " ")}\n`),
    });
  if (spec.version) program.version(spec.version);
  program
    .addOption(
      new Option("--log-level <level>", "lowest log level written")
        .argParser(oneOf("debug", "info", "warn", "error", "fatal"))
        .default("info")
        .env("LOG_LEVEL"),
    )
    .addOption(
      new Option("--log-format <format>", "log format (auto = JSON Lines unless stdout is a TTY)")
        .argParser(oneOf("auto", "json", "pretty"))
        .default("auto")
        .env("LOG_FORMAT"),
    )
    .addOption(
      new Option("--shutdown-timeout <ms>", "deadline for a graceful shutdown")
        .argParser(int({ min: 0 }))
        .default(5000)
        .env("SHUTDOWN_TIMEOUT"),
    );
  spec.configure?.(program);
  if (spec.run) {
    const run = spec.run;
    program.action((...args: unknown[]) =>
      onSelect({ name: null, spec: { ...spec, run }, command: args.at(-1) as Command })
    );
  } else {
    program.action(() => {
      throw new InvalidArgumentError(
        `missing command: expected one of ${Object.keys(spec.commands ?? {}).join("|")}`,
      );
    });
  }
  for (const [name, sub] of Object.entries(spec.commands ?? {})) {
    const cmd = withEnvFallbacks(program.command(name)).description(sub.summary);
    sub.configure?.(cmd);
    cmd.action((...args: unknown[]) =>
      onSelect({ name, spec: sub, command: args.at(-1) as Command })
    );
  }
  if (!withEnv) {
    program.addHelpText(
      "after",
      "\nEnvironment fallbacks are off: this process has no --allow-env permission.",
    );
  } else {
    program.addHelpText(
      "after",
      `\nEvery option can also be set by its environment variable (env: ...); the command line wins.`,
    );
  }
  return program;
}

/**
 * Runs a role: parses the command line (every option by flag or `<ROLE>_<FLAG>` env var),
 * configures logging, runs `run` with a context, and exits the process: 0 after a clean
 * stop, 1 on a fatal error or shutdown timeout, 2 on bad configuration, 130 on a second
 * signal. Never returns.
 *
 * @example
 * ```ts
 * await runRole<{ interval: number }>({
 *   name: "ticker",
 *   summary: "Logs a tick every interval",
 *   configure: (cmd) => cmd.option("--interval <ms>", "tick interval", int({ min: 10 }), 1000),
 *   async run(options, ctx) {
 *     while (!ctx.signal.aborted) {
 *       ctx.log.info("tick");
 *       await ctx.sleep(options.interval);
 *     }
 *   },
 * });
 * ```
 */
export async function runRole<O>(spec: RoleSpec<O>): Promise<never> {
  const role = spec.name;
  let selected: Selected | undefined;
  const program = buildProgram(spec as RoleSpec<unknown>, (s) => (selected = s));
  try {
    program.parse(spec.argv ?? Deno.args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      Deno.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    stderrLine(`${role}: error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(EXIT_USAGE);
  }
  if (!selected) Deno.exit(0); // help command and similar
  const { command, spec: cmdSpec, name: commandName } = selected;
  const options: Record<string, unknown> = command.optsWithGlobals();
  const args = command.processedArgs as unknown[];
  command.registeredArguments.forEach((arg, i) => {
    const key = camel(arg.name());
    if (!(key in options)) options[key] = args[i];
  });
  try {
    cmdSpec.validate?.(options);
  } catch (error) {
    stderrLine(`${role}: error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(EXIT_USAGE);
  }
  const common = options as unknown as CommonOptions;
  configureLogging({
    role,
    level: parseLevel(String(common.logLevel)) ?? "info",
    format: common.logFormat,
  });
  const log = getRoleLogger();
  const controller = new AbortController();
  const signal = controller.signal;
  const cleanups: (() => void | Promise<void>)[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  const timeoutMs = common.shutdownTimeout;
  const startedAt = performance.now();
  let finishing = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;

  const exit = async (code: number): Promise<never> => {
    await Promise.race([flushLogs(true), new Promise((r) => setTimeout(r, 200))]);
    Deno.exit(code);
  };
  const exitNow = (code: number): never => {
    try {
      void flushLogs(true);
    } catch {
      // logging is sync; nothing to lose
    }
    Deno.exit(code);
  };
  const startDeadline = () => {
    if (deadline !== undefined) return;
    deadline = setTimeout(() => {
      log.error("shutdown_timeout", { timeout_ms: timeoutMs });
      exitNow(1);
    }, timeoutMs);
  };

  const fatal = async (error: unknown): Promise<never> => {
    log.fatal("fatal", {
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    if (finishing) return exitNow(1);
    finishing = true;
    controller.abort();
    await Promise.race([
      runShutdownHooks().catch(() => {}),
      new Promise((r) => setTimeout(r, Math.min(1000, timeoutMs))),
    ]);
    return await exit(1);
  };

  const usage = async (error: ConfigError): Promise<never> => {
    stderrLine(`${role}: error: ${error.message}`);
    finishing = true;
    controller.abort();
    await Promise.race([
      runShutdownHooks().catch(() => {}),
      new Promise((r) => setTimeout(r, Math.min(1000, timeoutMs))),
    ]);
    return await exit(EXIT_USAGE);
  };

  let signalCount = 0;
  const onSignal = (name: Deno.Signal) => {
    signalCount++;
    if (signalCount === 1 && !finishing) {
      log.info("stopping", { signal: name });
      startDeadline();
      controller.abort();
      return;
    }
    if (signalCount === 1) return; // already shutting down by itself: first signal is ignored
    log.warn("forced_exit", { signal: name });
    exitNow(EXIT_FORCED);
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, () => onSignal(name));

  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    void fatal(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    void fatal(event.error ?? event.message);
  });

  const ctx: RoleContext = {
    role,
    log,
    signal,
    args,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
      }),
    stopped: new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    }),
    every: (ms, fn) => {
      if (ms > 0) timers.push(setInterval(fn, ms));
    },
    listening: (bound, fields) => {
      const endpoint = typeof bound === "string" ? bound : String(bound.lastEndpoint ?? "");
      log.info("listening", { endpoint, ...fields });
      return endpoint;
    },
    defer: (fn) => void cleanups.push(fn),
    print: (line) => writeAllSync(Deno.stdout, line + "\n"),
    exitCode: 0,
  };

  log.info("started", {
    ...(spec.version ? { version: spec.version } : {}),
    ...(commandName ? { command: commandName } : {}),
    options: sanitizeOptions(options),
  });

  try {
    await cmdSpec.run(options, ctx, args);
  } catch (error) {
    if (error instanceof ConfigError) return await usage(error);
    if (!isAbortError(error, signal)) return await fatal(error);
  }
  if (finishing) return await new Promise<never>(() => {}); // fatal path owns the exit
  finishing = true;
  startDeadline();
  controller.abort();
  for (const timer of timers.splice(0)) clearInterval(timer);
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (error) {
      log.error("cleanup_failed", { error });
    }
  }
  for (const error of await runShutdownHooks()) log.error("shutdown_hook_failed", { error });
  clearTimeout(deadline);
  const code = Number.isInteger(ctx.exitCode) ? ctx.exitCode : 1;
  log.info("stopped", {
    uptime_ms: Math.round(performance.now() - startedAt),
    ...(code !== 0 ? { exit_code: code } : {}),
  });
  return await exit(code);
}
