/**
 * One admin CLI invocation: call the agent, print a table or JSON, and choose the exit
 * code (0 ok, 1 remote error or unreachable). The role file only parses options.
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { AbortedError, HandshakeError, NoReplyError, type RetryInfo } from "@lib/patterns/mod.ts";
import { AdminClient, type AdminClientOptions, explainHandshake } from "./admin_client.ts";
import { probeMechanism } from "./mechanism_probe.ts";
import { type Command, COMMANDS } from "./protocol.ts";
import { checkReplyData } from "./reply_data.ts";
import { renderHuman } from "./render.ts";

/** Exit code: success. */
export const EXIT_OK = 0;
/** Exit code: the agent replied with an error, or could not be reached. */
export const EXIT_REMOTE = 1;

/** Options shared by every admin CLI subcommand. */
export interface AdminOptions {
  connect: string;
  timeout: number;
  retries: number;
  serverKey?: string;
  clientSecret?: string;
  json?: boolean;
}

/** Where the invocation writes. */
export interface AdminIo {
  /** A line of program output (stdout). */
  print(line: string): void;
  /** The one-line error message (stderr). */
  error(line: string): void;
  /** Event log. */
  log: {
    debug(event: string, fields?: Record<string, unknown>): void;
    info(event: string, fields?: Record<string, unknown>): void;
    warn(event: string, fields?: Record<string, unknown>): void;
  };
  /** Aborts the call (SIGINT/SIGTERM): the invocation then exits 0 without output. */
  signal?: AbortSignal;
}

/**
 * Runs `cmd` against the agent and returns the exit code. Output: a table (or, with
 * `--json`, the reply data as one JSON line); on failure one clear stderr line and, with
 * `--json`, `{"error": {code, message}}` on stdout.
 *
 * @example
 * ```ts
 * const code = await runAdminCommand("ps", { top: 5 }, options, io);
 * ```
 */
export async function runAdminCommand(
  cmd: string,
  args: Record<string, unknown>,
  options: AdminOptions,
  io: AdminIo,
  factory?: AdminClientOptions["factory"],
  probe?: typeof probeMechanism,
): Promise<number> {
  const client = new AdminClient({
    endpoint: options.connect,
    timeout: options.timeout,
    retries: options.retries,
    serverKey: options.serverKey,
    clientSecret: options.clientSecret,
    signal: io.signal,
    factory,
    onSocketEvent: (type, detail) =>
      io.log.debug("socket_event", { endpoint: options.connect, type, detail }),
    onRetry: (info: RetryInfo) =>
      io.log.warn("retry", {
        endpoint: options.connect,
        attempt: info.attempt,
        attempts: info.attempts,
        timeout_ms: info.timeoutMs,
      }),
  });
  const fail = (code: string, message: string, line = message): number => {
    if (options.json) io.print(JSON.stringify({ error: { code, message } }));
    io.error(line);
    return EXIT_REMOTE;
  };
  try {
    const { reply, rtt } = await client.call(
      cmd,
      args,
      (attempt) => io.log.info("request_sent", { endpoint: options.connect, cmd, attempt }),
    );
    if (!reply.ok) {
      const { code, message } = reply.error;
      return fail(code, message, `agent replied ${code}: ${message}`);
    }
    const known = (COMMANDS as readonly string[]).includes(cmd);
    if (options.json || !known) {
      io.print(JSON.stringify(reply.data));
      return EXIT_OK;
    }
    const command = cmd as Command;
    const lines = renderHuman(command, checkReplyData(command, reply.data), {
      endpoint: options.connect,
      rtt,
    });
    for (const line of lines) io.print(line);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof NoReplyError) {
      io.log.info("unreachable", {
        endpoint: options.connect,
        attempts: err.attempts,
        timeout_ms: err.timeoutMs,
        elapsed_ms: Math.round(err.elapsedMs),
      });
      return fail(
        "unreachable",
        `no reply from ${options.connect} after ${err.attempts} attempt${
          err.attempts === 1 ? "" : "s"
        } of ${err.timeoutMs} ms each: is node_agent running there?`,
      );
    }
    if (err instanceof HandshakeError) {
      // An auth failure means both sides spoke CURVE; otherwise ask the agent's greeting.
      const agentMechanism = err.failure === "auth" || err.mechanismMismatch
        ? undefined
        : await (probe ?? probeMechanism)(options.connect, Math.min(options.timeout, 2000));
      const curve = !!options.serverKey;
      return fail("handshake_failed", explainHandshake(err, { curve, agentMechanism }));
    }
    if (err instanceof BadMessageError) {
      io.log.warn("bad_message", { endpoint: options.connect, cmd, reason: err.reason });
      return fail("bad_reply", `bad reply from ${options.connect}: ${err.reason}`);
    }
    if (err instanceof AbortedError) {
      // SIGINT/SIGTERM: a clean stop (exit 0) without output, as every role.
      io.log.warn("interrupted", { endpoint: options.connect, cmd });
      return EXIT_OK;
    }
    throw err;
  } finally {
    client.close();
  }
}
