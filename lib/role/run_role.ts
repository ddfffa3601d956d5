/**
 * The role runtime: command line (commander) with env fallbacks, logging setup, signals,
 * graceful shutdown with a deadline, and fatal-error handling.
 *
 * Order of a run: options are parsed (each option parser checks its value: a bad one is
 * one line `<role>: error: ...` and exit 2), then `validate` checks them together (exit 2
 * the same way), then logging starts with `started`, then `run`. Every configuration
 * check belongs in an option parser or in `validate`, never in `run`: by the time `run`
 * starts, the role has logged `started` and may have opened sockets.
 *
 * Exit codes:
 * - 0: a clean stop (a signal, end of stdin with `ROLE_STOP_ON_STDIN_EOF=1`, or `run`
 *   returned), or `ctx.exitCode` when `run` set it;
 * - 1: a fatal error (`run` threw, an unhandled rejection, a socket error from
 *   `ctx.serve`, a port in use), or the shutdown outlived `--shutdown-timeout`;
 * - 2: a bad command line or configuration (option parsers, `validate`, a `ConfigError`);
 * - 130: forced quit: a stop request from a person during the shutdown (more than 1 s
 *   after the first, or the third).
 *
 * A fatal error prints one line `<role>: <message>` on stderr (no stack; Deno's "run again
 * with --allow-..." hints become words) and logs `fatal` {error, code?}; the stack is
 * logged only at `--log-level debug`.
 *
 * One Ctrl+C in a terminal reaches a role twice (the terminal signals the process group
 * and `deno task` forwards it): a second request within 1 s of the first is ignored.
 * With the environment variable `ROLE_STOP_ON_STDIN_EOF=1` (used on Windows, where a
 * child cannot be sent SIGTERM), the runtime reads stdin and takes its end as a stop
 * request (`stopping` {signal: "stdin_eof"}); the role must not read stdin itself then.
 *
 * @module
 */

import { Command, CommanderError, Help, InvalidArgumentError, Option } from "commander";
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
import { int, oneOf, type RepeatableParser, SecretArgumentError } from "./validators.ts";
import { describeError } from "./describe_error.ts";
import { drainBudget, drainWithin } from "./drain.ts";
import { logBadMessage, serveLoop, type ServeOptions } from "./serve.ts";
import { StopPolicy } from "./stop_policy.ts";
import { VERSION } from "./version.ts";

export type { ServeOptions } from "./serve.ts";

/**
 * Something that was bound: a socket with `lastEndpoint`, or the endpoint itself.
 *
 * @example
 * ```ts
 * import type { Bound } from "@lib/role/mod.ts";
 * const endpoint: Bound = "tcp://127.0.0.1:5555";
 * const socket: Bound = { lastEndpoint: "tcp://127.0.0.1:41234" };
 * ```
 */
export type Bound = string | { readonly lastEndpoint: string | null | undefined };

/**
 * What a role's `run` gets besides its options.
 *
 * @example
 * ```ts
 * import type { RoleContext } from "@lib/role/mod.ts";
 * async function work(ctx: RoleContext): Promise<void> {
 *   ctx.every(1000, () => ctx.log.info("stats"));
 *   await ctx.stopped;
 *   await ctx.drain(async (signal) => {
 *     if (!signal.aborted) ctx.log.info("flushed");
 *   }, { what: "outbox" });
 * }
 * ```
 */
export interface RoleContext {
  /** The role name (= executable name). */
  readonly role: string;
  /** Event logger (stderr). */
  readonly log: Logger;
  /**
   * Aborted on the first stop request (SIGINT/SIGTERM, or end of stdin with
   * `ROLE_STOP_ON_STDIN_EOF=1`) and when `run` returns.
   */
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
   * Logs `bad_message` {reason, ...fields} at warn, rate-limited: the first of a kind of
   * reason (quoted text and numbers a peer chose do not count), then at most one per 5 s
   * with a `suppressed` count, and at most 16 `bad_message` lines per 5 s in all. The one
   * way to report input that is dropped.
   */
  badMessage(reason: string, fields?: LogFields): void;
  /**
   * The one read loop: receives from `source` (a socket) and awaits `handler` for each
   * message, until the source ends (socket closed) or, unless `untilClosed`, the role is
   * asked to stop. A `BadMessageError` from the handler is logged by {@link badMessage}
   * (with `socket: name`); any other handler error as `handler_error` {socket, error}
   * (rate-limited) and serving goes on. An error of the source itself is logged once as
   * `socket_error` {socket, error} and rejects (a fatal error for the role, exit 1). With a
   * stop, a receive already waiting is abandoned: close the socket afterwards (the runtime
   * does), or its next message is dropped.
   */
  serve<M>(
    source: AsyncIterable<M>,
    handler: (message: M) => void | Promise<void>,
    options?: ServeOptions,
  ): Promise<void>;
  /**
   * Runs `fn` within the drain budget ({@link drainBudgetMs}): `fn`'s signal aborts when
   * the budget runs out. Resolves true when `fn` finished in time; false when the budget
   * ran out (logs `drain_timeout` {what, budget_ms}) or `fn` failed (logs `drain_failed`
   * {what, error}). Never rejects.
   */
  drain(fn: (signal: AbortSignal) => Promise<void>, options?: { what?: string }): Promise<boolean>;
  /**
   * The drain budget in ms now: `--shutdown-timeout`, less a reserve for cleanups and
   * lingering sends (a quarter of the timeout, at most 1 s), less the time since the stop
   * began (0 before a stop). With the default 5000: 4000 right at the stop.
   */
  drainBudgetMs(): number;
  /**
   * Exit code after a clean shutdown (default 0), e.g. 1 for a CLI whose check failed.
   * Cleanups, shutdown hooks and `stopped` still run.
   */
  exitCode: number;
}

/**
 * A (sub)command: its options and what it runs.
 *
 * @example
 * ```ts
 * import { type CommandSpec, runRole } from "@lib/role/mod.ts";
 * const verify: CommandSpec<{ file: string }> = {
 *   summary: "checks a file",
 *   configure: (cmd) => cmd.argument("<file>", "file to check"),
 *   run: (options, ctx) => ctx.print(`ok: ${options.file}`),
 * };
 * await runRole({ name: "archival_worker", summary: "Stores records", commands: { verify } });
 * ```
 */
export interface CommandSpec<O> {
  /** One line for --help. */
  summary: string;
  /** Adds options and arguments to the commander Command. */
  configure?: (cmd: Command) => Command | void;
  /**
   * Checks the parsed options together (e.g. `--min <= --max`) before anything runs (before
   * `started` is logged); throw (ideally a {@link ConfigError}) to print
   * `<role>: error: <message>` and exit 2. Every configuration check belongs here or in an
   * option parser (e.g. `readableFile`, `writableDir`), never in `run`.
   */
  validate?: (options: O) => void;
  /** The work; return (or resolve) to exit 0. Watch `ctx.signal` to stop. */
  run: (options: O, ctx: RoleContext, args: unknown[]) => void | Promise<void>;
}

/**
 * What {@link runRole} gets.
 *
 * @example
 * ```ts
 * import { type RoleSpec, runRole } from "@lib/role/mod.ts";
 * const spec: RoleSpec<Record<string, never>> = {
 *   name: "noop",
 *   summary: "Does nothing",
 *   run: () => {},
 * };
 * await runRole(spec);
 * ```
 */
export interface RoleSpec<O> extends Omit<CommandSpec<O>, "run"> {
  /** Role name = manifest role name = executable name. */
  name: string;
  /** Shown by --version and logged in `started` (default: the project {@link VERSION}). */
  version?: string;
  /** The default command; optional when `commands` are given. */
  run?: CommandSpec<O>["run"];
  /** Subcommands, e.g. `{ verify: { summary, configure, run } }`. */
  // deno-lint-ignore no-explicit-any
  commands?: Record<string, CommandSpec<any>>;
  /** Command line (default `Deno.args`). */
  argv?: string[];
}

/**
 * Options every role has.
 *
 * @example
 * ```ts
 * import type { CommonOptions } from "@lib/role/mod.ts";
 * const common: CommonOptions = { logLevel: "info", logFormat: "auto", shutdownTimeout: 5000 };
 * ```
 */
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
 * import { ConfigError } from "@lib/role/mod.ts";
 * const options = { min: 1, max: 5 };
 * if (options.min > options.max) {
 *   throw new ConfigError(`expected --min <= --max, got ${options.min} > ${options.max}`);
 * }
 * ```
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Exit code of a bad command line or configuration.
 *
 * @example
 * ```ts
 * import { EXIT_USAGE } from "@lib/role/mod.ts";
 * console.log(EXIT_USAGE); // 2
 * ```
 */
export const EXIT_USAGE = 2;
/**
 * Exit code of a forced quit (a person's second stop request during the shutdown).
 *
 * @example
 * ```ts
 * import { EXIT_FORCED } from "@lib/role/mod.ts";
 * console.log(EXIT_FORCED); // 130
 * ```
 */
export const EXIT_FORCED = 130;
/**
 * Exit code of a fatal error or a shutdown that outlived `--shutdown-timeout`.
 *
 * @example
 * ```ts
 * import { EXIT_FATAL } from "@lib/role/mod.ts";
 * console.log(EXIT_FATAL); // 1
 * ```
 */
export const EXIT_FATAL = 1;

/** A command-line error whose message is the whole line (after `<role>: error: `). */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The env fallback of an option: `<ROLE>_<FLAG>` in upper snake case.
 *
 * @example
 * ```ts
 * import { envVarName } from "@lib/role/mod.ts";
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
 * import { sanitizeOptions } from "@lib/role/mod.ts";
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

/**
 * Repeatable options say so in --help and show one default: the parser's `defaultText`,
 * else the default items (an empty list shows none).
 */
function describeRepeatable(option: Option): void {
  const parser = option.parseArg as Partial<RepeatableParser<unknown>> | undefined;
  if (!parser?.repeatable) return;
  if (!/repeat/i.test(option.description)) {
    option.description = `${option.description}${
      option.description ? "; " : ""
    }repeatable or comma-separated`;
  }
  if (parser.defaultText !== undefined) {
    if (option.defaultValue === undefined) option.defaultValue = [];
    option.defaultValueDescription = parser.defaultText;
  } else if (
    Array.isArray(option.defaultValue) && option.defaultValue.length > 0 &&
    option.defaultValueDescription === undefined
  ) {
    option.defaultValueDescription = option.defaultValue.join(",");
  }
}

/**
 * A bad value of a secret option (named like secret/password/key, or whose parser throws
 * `SecretArgumentError`) is reported without the value (commander would echo it).
 */
function guardSecretValue(cmd: Command, option: Option): void {
  const parse = option.parseArg;
  if (!parse) return;
  const hide = SECRET_RE.test(option.attributeName());
  let fromEnv = false;
  // Command is a node EventEmitter; its typings here do not say so.
  const emitter = cmd as unknown as { prependListener(event: string, fn: () => void): void };
  emitter.prependListener(`option:${option.name()}`, () => (fromEnv = false));
  emitter.prependListener(`optionEnv:${option.name()}`, () => (fromEnv = true));
  const guarded = (value: string, previous: unknown) => {
    try {
      return parse(value, previous);
    } catch (error) {
      if (
        error instanceof InvalidArgumentError && (hide || error instanceof SecretArgumentError)
      ) {
        const source = fromEnv ? `value from env '${option.envVar}'` : "argument";
        throw new UsageError(`option '${option.flags}' ${source} is invalid. ${error.message}`);
      }
      throw error;
    }
  };
  option.parseArg = Object.assign(guarded, parse);
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
      describeRepeatable(option);
      const result = addOption(option);
      guardSecretValue(cmd, option);
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
    .configureHelp({
      showGlobalOptions: true,
      sortOptions: false,
      optionDescription: (option) => {
        // An empty list default means "none": showing `default: []` beside a default the
        // description names would contradict it.
        if (
          Array.isArray(option.defaultValue) && option.defaultValue.length === 0 &&
          !option.defaultValueDescription
        ) {
          const shown = Object.assign(Object.create(Object.getPrototypeOf(option)), option, {
            defaultValue: undefined,
          });
          return new Help().optionDescription(shown);
        }
        return new Help().optionDescription(option);
      },
    })
    .configureOutput({
      writeOut: (str) => writeAllSync(Deno.stdout, str),
      writeErr: (str) => writeAllSync(Deno.stderr, str),
      outputError: (str, write) => write(`${role}: ${str.trim().replace(/\s*\n\s*/g, " ")}\n`),
    });
  program.version(`${role} ${spec.version ?? VERSION}`, "--version", "print the role and version");
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
 * Runs a role: parses the command line (every option by flag or `<ROLE>_<FLAG>` env var; a
 * leading `--` is ignored), checks it, configures logging, runs `run` with a context, and
 * exits the process: 0 after a clean stop, 1 on a fatal error or shutdown timeout, 2 on
 * bad configuration, 130 on a forced quit (see the module doc). Never returns.
 *
 * @example
 * ```ts
 * import { int, runRole } from "@lib/role/mod.ts";
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
  const usageLine = (error: unknown) => {
    const text = error instanceof ConfigError || error instanceof UsageError
      ? error.message
      : describeError(error).message;
    stderrLine(`${role}: error: ${text}`);
  };
  try {
    const program = buildProgram(spec as RoleSpec<unknown>, (s) => (selected = s));
    const argv = spec.argv ?? Deno.args;
    // `deno task x -- --flag` passes the `--` on: a leading one means nothing here.
    program.parse(argv[0] === "--" ? argv.slice(1) : argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      Deno.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    usageLine(error);
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
    usageLine(error);
    Deno.exit(EXIT_USAGE);
  }
  const common = options as unknown as CommonOptions;
  const level = parseLevel(String(common.logLevel)) ?? "info";
  configureLogging({ role, level, format: common.logFormat });
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
      exitNow(EXIT_FATAL);
    }, timeoutMs);
  };

  const fatal = async (error: unknown): Promise<never> => {
    const { message, code } = describeError(error);
    // One line for a person (stderr), one event for machines; the stack only when asked.
    stderrLine(`${role}: ${message}`);
    log.fatal("fatal", {
      error: message,
      ...(code !== undefined ? { code } : {}),
      ...(level === "debug" && error instanceof Error ? { stack: error.stack } : {}),
    });
    if (finishing) return exitNow(EXIT_FATAL);
    finishing = true;
    controller.abort();
    await Promise.race([
      runShutdownHooks().catch(() => {}),
      new Promise((r) => setTimeout(r, Math.min(1000, timeoutMs))),
    ]);
    return await exit(EXIT_FATAL);
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

  let stopRequestedAt: number | undefined;
  const drainBudgetMs = () =>
    drainBudget(
      timeoutMs,
      stopRequestedAt === undefined ? 0 : performance.now() - stopRequestedAt,
    );
  signal.addEventListener("abort", () => (stopRequestedAt ??= performance.now()), {
    once: true,
  });
  const badMessage = (reason: string, fields?: LogFields) => logBadMessage(log, reason, fields);
  const stoppedPromise = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });

  const stopPolicy = new StopPolicy();
  const onStopRequest = (source: string) => {
    const action = stopPolicy.request(performance.now(), finishing);
    if (action === "stop") {
      log.info("stopping", { signal: source });
      startDeadline();
      controller.abort();
    } else if (action === "force") {
      log.warn("forced_exit", { signal: source });
      exitNow(EXIT_FORCED);
    } else {
      log.debug("stop_request_ignored", { signal: source });
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, () => onStopRequest(name));
  if (stopOnStdinEof()) void watchStdinEof(() => onStopRequest("stdin_eof"));

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
    stopped: stoppedPromise,
    badMessage,
    serve: (source, handler, options) => serveLoop(source, handler, { log, signal }, options),
    drain: (fn, options) => drainWithin(fn, drainBudgetMs(), { log }, options),
    drainBudgetMs,
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
    version: spec.version ?? VERSION,
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
      log.error("cleanup_failed", { error: describeError(error).message });
    }
  }
  for (const error of await runShutdownHooks()) {
    log.error("shutdown_hook_failed", { error: describeError(error).message });
  }
  clearTimeout(deadline);
  const code = Number.isInteger(ctx.exitCode) ? ctx.exitCode : EXIT_FATAL;
  log.info("stopped", {
    uptime_ms: Math.round(performance.now() - startedAt),
    ...(code !== 0 ? { exit_code: code } : {}),
  });
  return await exit(code);
}

/** `ROLE_STOP_ON_STDIN_EOF=1` (or true/yes/on) in the environment, when env is readable. */
function stopOnStdinEof(): boolean {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: STDIN_EOF_VAR }).state !== "granted") {
      return false;
    }
    return /^(1|true|yes|on)$/i.test(Deno.env.get(STDIN_EOF_VAR) ?? "");
  } catch {
    return false;
  }
}

/** Reads (and discards) stdin; calls `onEof` when it ends or fails. */
async function watchStdinEof(onEof: () => void): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while ((await Deno.stdin.read(buffer)) !== null) {
      // input is not for the role: only its end means something
    }
  } catch {
    // a broken stdin ends like a closed one
  }
  onEof();
}

/**
 * The environment variable that makes end of stdin a stop request (see the module doc).
 *
 * @example
 * ```ts
 * import { STDIN_EOF_VAR } from "@lib/role/mod.ts";
 * const env = { [STDIN_EOF_VAR]: "1" }; // for a child whose stdin the parent closes to stop it
 * ```
 */
export const STDIN_EOF_VAR = "ROLE_STOP_ON_STDIN_EOF";
