/**
 * Schemas of each command's reply data, so the CLI renders only what it checked: a
 * misbehaving agent yields a clear `bad_reply`, never a crash in the table code.
 *
 * @module
 */

import { s, type Schema, validate } from "@lib/codec/mod.ts";
import type { Command } from "./protocol.ts";
import type { CommandData } from "./render.ts";

const nullableNumber = s.nullable(s.number());

const ProcessSchema = s.object({
  pid: s.int({ min: 0 }),
  ppid: s.nullable(s.int()),
  user: s.nullable(s.string()),
  state: s.nullable(s.string()),
  cpu: nullableNumber,
  mem: nullableNumber,
  rss: nullableNumber,
  threads: s.nullable(s.int()),
  name: s.string(),
  command: s.string(),
});

/** Reply data schema by command. */
export const DATA_SCHEMAS: { [C in Command]: Schema<unknown> } = {
  ping: s.object({ pong: s.boolean(), time: s.number() }),
  info: s.object({
    host: s.string(),
    os: s.string(),
    arch: s.string(),
    release: s.string(),
    uptime: s.number(),
    load: s.array(s.number()),
    cpus: s.int(),
    agent: s.object({ pid: s.int(), version: s.string(), uptime: s.number() }),
  }),
  mem: s.object({
    total: s.number(),
    free: s.number(),
    available: s.number(),
    used: s.number(),
    buffers: s.number(),
    cached: s.number(),
    swapTotal: s.number(),
    swapFree: s.number(),
  }),
  ps: s.object({
    total: s.int(),
    matched: s.int(),
    sort: s.string(),
    processes: s.array(ProcessSchema),
  }),
  disk: s.object({
    filesystems: s.array(s.object({
      filesystem: s.string(),
      mount: s.string(),
      size: s.number(),
      used: s.number(),
      available: s.number(),
      capacity: s.number(),
    })),
  }),
};

/**
 * Checks `cmd`'s reply data and returns it typed; throws the codec's `BadMessageError`
 * naming the path, what was expected and what was got.
 *
 * @example
 * ```ts
 * const ps = checkReplyData("ps", reply.data); // CommandData["ps"]
 * ```
 */
export function checkReplyData<C extends Command>(cmd: C, data: unknown): CommandData[C] {
  return validate(data, DATA_SCHEMAS[cmd]) as CommandData[C];
}
