import assert from "node:assert/strict";
import { chpAddress, chpBindEndpoint, chpEndpoint, serverEndpoints } from "./endpoints.ts";

Deno.test("CHP address: P, P+1, P+2; * only to bind; room for P+2", () => {
  assert.deepEqual(serverEndpoints("tcp://10.0.0.1:5556"), {
    snapshot: "tcp://10.0.0.1:5556",
    updates: "tcp://10.0.0.1:5557",
    collector: "tcp://10.0.0.1:5558",
  });
  assert.deepEqual(chpAddress("tcp://127.0.0.1:*", true), { host: "127.0.0.1", port: "*" });
  assert.equal(chpBindEndpoint("tcp://127.0.0.1:*"), "tcp://127.0.0.1:*");
  assert.throws(() => chpEndpoint("tcp://127.0.0.1:*"), /got "tcp:\/\/127.0.0.1:\*"/);
  assert.throws(() => chpEndpoint("tcp://127.0.0.1:65534"), /P 1..65533/);
  assert.throws(() => chpEndpoint("ipc:///tmp/x"), /expected tcp:\/\/host:P/);
});
