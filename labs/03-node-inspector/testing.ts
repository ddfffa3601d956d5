/**
 * Lab 03 test helpers: start a node_agent on an ephemeral port, run admin_cli to the end,
 * ask the agent one raw request, and read the `deno task` commands a SUMMARY shows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decode, s } from "@lib/codec/mod.ts";
import { type RoleEvent, type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { Request } from "@lib/zmq/mod.ts";

/** Starts an agent on `bind` (default: an ephemeral port) and returns it with its endpoint. */
export async function startAgent(
  args: string[] = [],
  bind = "tcp://127.0.0.1:*",
  env: Record<string, string> = {},
): Promise<{ agent: RoleProcess; endpoint: string }> {
  const agent = await spawnRole("03", "node_agent", ["--bind", bind, ...args], { env });
  const endpoint = String((await agent.event("listening")).endpoint);
  return { agent, endpoint };
}

/** What one admin_cli run did. */
export interface CliRun {
  code: number;
  stdout: string[];
  stderr: string[];
  events: RoleEvent[];
  /** Wall time of the whole process, ms. */
  ms: number;
}

/** Runs admin_cli to the end. */
export async function cli(
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<CliRun> {
  const started = performance.now();
  await using proc = await spawnRole("03", "admin_cli", args, opts);
  const { code } = await proc.wait();
  return {
    code,
    stdout: [...proc.stdoutLines],
    stderr: [...proc.rawStderr],
    events: [...proc.events],
    ms: performance.now() - started,
  };
}

/** The last stdout line parsed as JSON (the CLI's `--json` output). */
// deno-lint-ignore no-explicit-any
export const lastJson = (lines: string[]): any => JSON.parse(lines.at(-1) ?? "null");

/** One request on a fresh REQ socket; rejects if no reply within `timeout` ms. */
// deno-lint-ignore no-explicit-any
export async function ask(endpoint: string, frames: Uint8Array[], timeout = 5000): Promise<any> {
  const req = new Request({ linger: 0, receiveTimeout: timeout });
  try {
    req.connect(endpoint);
    await req.send(frames);
    const reply = await req.receive();
    assert.equal(reply.length, 1, "a reply is one frame");
    return decode(reply[0], s.unknown());
  } finally {
    req.close();
  }
}

/** A `deno task` command line from a document, split as a POSIX shell would. */
export interface TaskCommand {
  /** The line as written. */
  line: string;
  /** `NAME=value` assignments before `deno`. */
  env: Record<string, string>;
  /** The task name, e.g. `lab03:cli`. */
  task: string;
  /** Everything after the task name, `--` included when written. */
  args: string[];
}

/** Splits a shell command line into words: single and double quotes, `#` comments. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "#" && word === undefined) break;
    else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Every `deno task ...` line in the `sh` code blocks of a markdown text. */
export function taskCommands(markdown: string): TaskCommand[] {
  const out: TaskCommand[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      const words = shellWords(line);
      const env: Record<string, string> = {};
      while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
        const [name, ...value] = words.shift()!.split("=");
        env[name] = value.join("=");
      }
      if (words[0] !== "deno" || words[1] !== "task" || words.length < 3) continue;
      out.push({ line: line.trim(), env, task: words[2], args: words.slice(3) });
    }
  }
  return out;
}
