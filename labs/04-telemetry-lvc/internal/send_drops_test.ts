import assert from "node:assert/strict";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { SendDrops } from "./send_drops.ts";

const withCode = (code: string) => Object.assign(new Error(code), { code });

Deno.test("full queues are counted as dropped, closed sockets ignored, others logged once", () => {
  const log = createMemoryLogger();
  const drops = new SendDrops(log, "backend");
  for (let i = 0; i < 3; i++) drops.onError(withCode("EAGAIN"));
  drops.onError(withCode("ENOTSOCK"));
  drops.onError(withCode("ETERM"));
  for (let i = 0; i < 100; i++) drops.onError(withCode("EHOSTUNREACH"));
  assert.deepEqual(drops.stats(), { dropped: 3, failed: 100 });
  const lines = log.events("send_failed");
  assert.equal(lines.length, 1);
  assert.equal(lines[0].fields.socket, "backend");
});
