/**
 * Process tests of Lab 14: the real roles, run with the manifest's permissions on
 * ephemeral ports, observed through their replies and JSON log events.
 */
import assert from "node:assert/strict";
import { encodePing } from "./internal/protocol.ts";
import { request, startServer } from "./testing.ts";

Deno.test("dht_node answers a ping, refuses a malformed request and keeps serving", async () => {
  await using server = await startServer();
  assert.deepEqual(await request(server.endpoint, [encodePing(7)]), {
    kind: "pong",
    seq: 7,
    role: "dht_node",
  });
  const refused = await request(server.endpoint, [new TextEncoder().encode("garbage")]);
  assert.equal(refused.kind, "error");
  await server.proc.event("bad_message");
  assert.deepEqual(await request(server.endpoint, [encodePing(8)]), {
    kind: "pong",
    seq: 8,
    role: "dht_node",
  });
  await server.proc.stop();
  await server.proc.event("stopped");
});
