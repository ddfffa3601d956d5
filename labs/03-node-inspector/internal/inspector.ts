/**
 * The agent's request handler: one request frame set in, one reply frame out. Every
 * request gets a reply (REP must answer before it can receive again); failures are
 * structured `{code, message}` replies, never silence.
 *
 * @module
 */

import {
  checkArgs,
  type Command,
  decodeRequest,
  encodeData,
  encodeError,
  ERROR_CODES,
  type ErrorCode,
  ProtocolError,
  PS_MAX_TOP,
} from "./protocol.ts";
import { queryProcesses } from "./process_query.ts";
import { redactSecrets } from "./redact.ts";
import { type SystemProbe, UnsupportedError } from "./system_probe.ts";

/** What happened to one request, for the agent's log. */
export interface HandleResult {
  /** The reply frame to send. */
  reply: Uint8Array;
  ok: boolean;
  /** The command, when the request was well-formed enough to have one. */
  cmd?: Command;
  /** The failure code. */
  code?: ErrorCode;
  /** The failure message. */
  message?: string;
}

/**
 * Answers requests from a {@linkcode SystemProbe}.
 *
 * @example
 * ```ts
 * const inspector = new Inspector(createSystemProbe());
 * const { reply } = await inspector.handle(await rep.receive());
 * await rep.send(reply);
 * ```
 */
export class Inspector {
  constructor(
    readonly probe: SystemProbe,
    readonly clock: () => number = Date.now,
  ) {}

  /** Decodes, checks, runs and encodes one request. Never throws. */
  async handle(frames: Uint8Array[]): Promise<HandleResult> {
    let cmd: Command | undefined;
    try {
      const req = decodeRequest(frames);
      cmd = req.cmd;
      const args = checkArgs(req.cmd, req.args);
      const data = await this.#run(req.cmd, args);
      return { reply: encodeData(data), ok: true, cmd };
    } catch (err) {
      const [code, message] = err instanceof ProtocolError
        ? [err.code, err.message]
        : err instanceof UnsupportedError
        ? [ERROR_CODES.unsupported, err.message]
        : [ERROR_CODES.internal, err instanceof Error ? err.message : String(err)];
      return { reply: encodeError(code, message), ok: false, cmd, code, message };
    }
  }

  async #run(cmd: Command, args: ReturnType<typeof checkArgs>): Promise<unknown> {
    switch (cmd) {
      case "ping":
        return { pong: true, time: this.clock() };
      case "info":
        return await this.probe.info();
      case "mem":
        return await this.probe.mem();
      case "ps": {
        const result = queryProcesses(await this.probe.processes(), {
          ...args,
          top: args.top ?? PS_MAX_TOP,
        });
        // Command lines leave the host: hide secrets given as flags (our own --curve-secret).
        for (const p of result.processes) p.command = redactSecrets(p.command);
        return result;
      }
      case "disk":
        return { filesystems: await this.probe.disks() };
    }
  }
}
