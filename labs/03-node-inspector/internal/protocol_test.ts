import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  checkArgs,
  decodeReply,
  decodeRequest,
  encodeData,
  encodeError,
  encodeRequest,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
} from "./protocol.ts";

const refused = (code: string, message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${err}`);
  assert.equal(err.code, code);
  assert.match(err.message, message);
  return true;
};

Deno.test("protocol: a request round-trips through its frame", () => {
  const req = decodeRequest([encodeRequest("ps", { top: 3, sort: "mem" })]);
  assert.deepEqual(req, { v: PROTOCOL_VERSION, cmd: "ps", args: { top: 3, sort: "mem" } });
  assert.deepEqual(decodeRequest([encode({ v: 1, cmd: "ping" })]).args, {}, "args may be left out");
});

Deno.test("protocol: malformed requests are bad_message with what was expected", () => {
  assert.throws(() => decodeRequest([]), refused("bad_message", /expected 1 frame, got 0/));
  assert.throws(
    () => decodeRequest([encodeRequest("ping"), new Uint8Array(1)]),
    refused("bad_message", /expected 1 frame, got 2/),
  );
  assert.throws(
    () => decodeRequest([new TextEncoder().encode("\xc1 not msgpack")]),
    refused("bad_message", /expected \{v, cmd, args\}/),
  );
  assert.throws(
    () => decodeRequest([encode({ v: 1, cmd: 7 })]),
    refused("bad_message", /expected \{v, cmd, args\}/),
  );
  assert.throws(
    () => decodeRequest([encode([1, "ping"])]),
    refused("bad_message", /expected \{v, cmd, args\}/),
  );
  assert.throws(
    () => decodeRequest([new Uint8Array(MAX_REQUEST_BYTES + 1)]),
    refused(
      "bad_message",
      new RegExp(`at most ${MAX_REQUEST_BYTES} bytes, got ${MAX_REQUEST_BYTES + 1}`),
    ),
  );
});

Deno.test("protocol: other versions and unknown commands get their own codes", () => {
  assert.throws(
    () => decodeRequest([encode({ v: 2, cmd: "ping", args: {} })]),
    refused("unsupported_version", /expected protocol version 1, got 2/),
  );
  assert.throws(
    () => decodeRequest([encodeRequest("reboot")]),
    refused("unknown_command", /expected one of info, mem, ps, disk, ping, got "reboot"/),
  );
});

Deno.test("protocol: ps arguments are checked; other commands take none", () => {
  assert.deepEqual(checkArgs("ps", { top: 5, sort: "pid", filter: "deno" }), {
    top: 5,
    sort: "pid",
    filter: "deno",
  });
  assert.deepEqual(checkArgs("mem", {}), {});
  assert.throws(
    () => checkArgs("mem", { x: 1 }),
    refused("bad_args", /mem: expected no arguments, got "x"/),
  );
  assert.throws(
    () => checkArgs("ps", { top: 0 }),
    refused("bad_args", /ps: top: expected an integer in \[1, 10000\], got 0/),
  );
  assert.throws(() => checkArgs("ps", { top: 1.5 }), refused("bad_args", /top/));
  assert.throws(
    () => checkArgs("ps", { sort: "name" }),
    refused("bad_args", /sort: expected cpu \| mem \| pid, got "name"/),
  );
  assert.throws(
    () => checkArgs("ps", { filter: "x".repeat(201) }),
    refused("bad_args", /filter: expected a string of at most 200/),
  );
  assert.throws(
    () => checkArgs("ps", { kill: 1 }),
    refused("bad_args", /expected arguments top, sort, filter, got "kill"/),
  );
});

Deno.test("protocol: replies decode; a non-protocol reply is a BadMessageError", () => {
  assert.deepEqual(decodeReply([encodeData({ pong: true })]), {
    v: 1,
    ok: true,
    data: { pong: true },
  });
  assert.deepEqual(decodeReply([encodeError("unknown_command", "no")]), {
    v: 1,
    ok: false,
    error: { code: "unknown_command", message: "no" },
  });
  assert.throws(() => decodeReply([encode({ v: 9, ok: true, data: 1 })]), BadMessageError);
  assert.throws(() => decodeReply([encode({ v: 1, ok: false })]), BadMessageError);
  assert.throws(() => decodeReply([encode("hi")]), BadMessageError);
  assert.throws(() => decodeReply([]), BadMessageError);
});
