import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { decode, s } from "@lib/codec/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { AgentRequests } from "./agent_loop.ts";
import { Inspector } from "./inspector.ts";
import { encodeRequest } from "./protocol.ts";
import type { SystemProbe } from "./system_probe.ts";

const probe: SystemProbe = {
  info: () => Promise.reject(new Error("unused")),
  mem: () => Promise.reject(new Error("unused")),
  processes: () => Promise.resolve([]),
  disks: () => Promise.resolve([]),
};

function setup() {
  const log = createMemoryLogger();
  const bad: [string, Record<string, unknown>][] = [];
  const agent = new AgentRequests(new Inspector(probe), {
    clock: new ManualClock(),
    log,
    badMessage: (reason, fields = {}) => bad.push([reason, fields]),
  });
  return { log, bad, agent };
}

Deno.test("agent requests: every message gets a reply; bad ones go to badMessage, refusals to the log", async () => {
  const { log, bad, agent } = setup();
  const replies = [];
  for (
    const frames of [
      [encodeRequest("ping")],
      [new Uint8Array([1, 2, 3]), new Uint8Array()],
      [encodeRequest("nope")],
    ]
  ) {
    // deno-lint-ignore no-explicit-any
    replies.push(decode(await agent.answer(frames), s.unknown()) as any);
  }
  assert.deepEqual(replies.map((r) => r.ok), [true, false, false]);
  assert.deepEqual(replies.slice(1).map((r) => r.error.code), ["bad_message", "unknown_command"]);
  assert.deepEqual(bad, [["expected 1 frame, got 2", { frames: 2, bytes: 3 }]]);
  const failed = log.events("request_failed");
  assert.equal(failed.length, 1);
  assert.equal(failed[0].level, "info");
  assert.equal(failed[0].fields.code, "unknown_command");
  assert.equal(log.events("request")[0].fields.cmd, "ping");
  assert.deepEqual(agent.stats(), { requests: 3, errors: 2, badMessages: 1 });
});
