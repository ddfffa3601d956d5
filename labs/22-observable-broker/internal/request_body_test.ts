import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import { bodySeq, requestBody } from "./request_body.ts";
import { endpointOrOff, httpUrl, listenAddress } from "./options.ts";

Deno.test("request body: seq round trip; wrong size or a changed byte is a bad echo", () => {
  const body = requestBody(7, 32);
  assert.equal(body.length, 32);
  assert.equal(bodySeq(body, 32), 7);
  assert.throws(() => bodySeq(body, 33), BadMessageError);
  const changed = body.slice();
  changed[20] ^= 1;
  assert.throws(() => bodySeq(changed, 32), /byte 20 differs/);
  assert.equal(requestBody(1, 2).length, 8);
});

Deno.test("options: endpoint or off, host:port or off, http URL", () => {
  assert.equal(endpointOrOff("off"), "");
  assert.equal(endpointOrOff("tcp://127.0.0.1:5620"), "tcp://127.0.0.1:5620");
  assert.deepEqual(listenAddress("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assert.equal(listenAddress("off"), null);
  assert.throws(() => listenAddress("127.0.0.1:70000"), /expected host:port/);
  assert.throws(() => listenAddress("9464"), /expected host:port/);
  assert.equal(httpUrl("http://127.0.0.1:9464/metrics"), "http://127.0.0.1:9464/metrics");
  assert.throws(() => httpUrl("ftp://x"), /expected an http/);
});
