/**
 * The role runtime shared by every lab executable: command line with env fallbacks,
 * event logging, lifecycle (signals, graceful shutdown, fatal errors) and option
 * validators.
 *
 * @example
 * ```ts
 * import { endpoint, int, runRole } from "@lib/role/mod.ts";
 *
 * await runRole<{ bind: string; interval: number }>({
 *   name: "monitor_agent",
 *   summary: "Publishes this host's health as heartbeats",
 *   configure: (cmd) =>
 *     cmd
 *       .option("--bind <endpoint>", "PUB endpoint to bind", endpoint, "tcp://127.0.0.1:5501")
 *       .option("--interval <ms>", "heartbeat interval", int({ min: 10 }), 1000),
 *   async run(options, ctx) {
 *     while (!ctx.signal.aborted) await ctx.sleep(options.interval);
 *   },
 * });
 * ```
 *
 * @module
 */

export {
  type Bound,
  type CommandSpec,
  type CommonOptions,
  ConfigError,
  envVarName,
  EXIT_FATAL,
  EXIT_FORCED,
  EXIT_USAGE,
  type RoleContext,
  type RoleSpec,
  runRole,
  sanitizeOptions,
  type ServeOptions,
  STDIN_EOF_VAR,
} from "./run_role.ts";
export { type StopAction, StopPolicy, type StopPolicyOptions } from "./stop_policy.ts";
export { VERSION } from "./version.ts";
export { LOG_LIMITS, type LogLimits } from "./log_bounds.ts";
export { type RateDecision, RateLimiter, type RateLimiterOptions } from "./rate_limit.ts";
export {
  configureLogging,
  createLogger,
  type CreateLoggerOptions,
  createMemoryLogger,
  flushLogs,
  formatJson,
  formatPretty,
  getRoleLogger,
  LOG_LEVELS,
  type LogEntry,
  type LogFields,
  type LogFormat,
  type Logger,
  type LoggingOptions,
  type LogLevel,
  type MemoryLogger,
  parseLevel,
  resolveLogFormat,
  writeAllSync,
} from "./logger.ts";
export {
  byteSize,
  byteSizeIn,
  duration,
  endpoint,
  float,
  int,
  list,
  type ListenAddress,
  listenAddress,
  oneOf,
  type OptionParser,
  positive,
  type RangeOptions,
  readableDir,
  readableFile,
  repeatable,
  type RepeatableOptions,
  type RepeatableParser,
  SecretArgumentError,
  writableDir,
  writableFile,
  z85Key,
} from "./validators.ts";
export { Command, InvalidArgumentError, Option } from "commander";
export { type Frame, type FrameOptions, terminalFrame } from "./terminal_frame.ts";
