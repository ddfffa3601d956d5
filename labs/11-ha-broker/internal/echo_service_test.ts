import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import { echoReply } from "./echo_service.ts";

const te = new TextEncoder();
const id = te.encode("peer");
const empty = new Uint8Array(0);

Deno.test("echoReply: a REQ request comes back frame for frame", () => {
  const request = [id, empty, te.encode("42"), te.encode("more")];
  assert.equal(echoReply(request), request);
});

Deno.test("echoReply: no envelope or no body is a bad message", () => {
  assert.throws(() => echoReply([id, te.encode("42")]), BadMessageError);
  assert.throws(() => echoReply([id]), BadMessageError);
  assert.throws(() => echoReply([id, empty]), /at least one body frame/);
});
