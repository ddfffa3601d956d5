/**
 * Lab 09's command protocol, one msgpack frame per message inside the CURVE channel.
 *
 * - agent -> server (DEALER frames `[body]`, the server's ROUTER adds the routing id):
 *   `hello` {name} on connect and every `--hello-interval` (the server's session list),
 *   `result` {seq, op, ok, result?, error?} for each command.
 * - server -> agent: `command` {seq, op, args}. `seq` only grows (it starts at the server's
 *   boot time in ms, so it keeps growing across server restarts); the agent refuses any
 *   `seq` not above the last one it accepted (replay).
 *
 * @module
 */
import { s } from "@lib/codec/mod.ts";

/** Operations an agent carries out; anything else is refused with `unknown operation`. */
export const OPERATIONS = ["facts", "health", "rotate_key", "rotate_commit"] as const;
/** Operations an operator may schedule with `--commands` (rotate_commit follows rotate_key). */
export const SCHEDULABLE = ["facts", "health", "rotate_key"] as const;
/** One of {@link OPERATIONS}. */
export type Operation = (typeof OPERATIONS)[number];

/** Named health checks (`health` {check}). */
export const HEALTH_CHECKS = ["loadavg", "memory", "clock"] as const;

/** Largest message either side accepts (libzmq drops the connection above it). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Agent -> server. */
export const AgentMessage = s.oneOf(
  s.object({ type: s.literal("hello"), name: s.string({ min: 1, max: 64 }) }, { strict: true }),
  s.object({
    type: s.literal("result"),
    seq: s.int({ min: 1 }),
    op: s.string({ max: 32 }),
    ok: s.boolean(),
    result: s.optional(s.unknown()),
    error: s.optional(s.string({ max: 500 })),
  }, { strict: true }),
);
/** A decoded {@link AgentMessage}. */
export type AgentMessage =
  | { type: "hello"; name: string }
  | { type: "result"; seq: number; op: string; ok: boolean; result?: unknown; error?: string };

/** Server -> agent. */
export const Command = s.object({
  type: s.literal("command"),
  seq: s.int({ min: 1 }),
  op: s.string({ min: 1, max: 32 }),
  args: s.record(s.string({ max: 256 })),
}, { strict: true });
/** A decoded {@link Command}. */
export interface Command {
  type: "command";
  seq: number;
  op: string;
  args: Record<string, string>;
}

/**
 * Parses a scheduled command spec `op` or `op:arg` (`health:loadavg`).
 *
 * @example
 * ```ts
 * import { parseCommandSpec } from "./protocol.ts";
 * parseCommandSpec("health:memory"); // { op: "health", args: { check: "memory" } }
 * ```
 */
export function parseCommandSpec(spec: string): { op: Operation; args: Record<string, string> } {
  const [op, arg] = spec.split(":", 2);
  if (!(SCHEDULABLE as readonly string[]).includes(op)) {
    throw new TypeError(`expected one of ${SCHEDULABLE.join(", ")}, got ${JSON.stringify(op)}`);
  }
  if (op === "health") {
    if (!(HEALTH_CHECKS as readonly string[]).includes(arg ?? "")) {
      throw new TypeError(
        `expected health:<${HEALTH_CHECKS.join("|")}>, got ${JSON.stringify(spec)}`,
      );
    }
    return { op, args: { check: arg } };
  }
  return { op: op as Operation, args: {} };
}
