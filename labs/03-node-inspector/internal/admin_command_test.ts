import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import { type AdminIo, runAdminCommand } from "./admin_command.ts";
import type { ReqChannelFactory } from "@lib/patterns/mod.ts";
import { encodeData, encodeError } from "./protocol.ts";

/** A REQ stand-in that answers every request with `reply` at once. */
const answering = (reply: Uint8Array[]): ReqChannelFactory => () => ({
  send: () => Promise.resolve(),
  receive: () => Promise.resolve(reply),
  close: () => {},
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const events: string[] = [];
  const sink: AdminIo = {
    print: (l) => out.push(l),
    error: (l) => err.push(l),
    log: { debug: () => {}, info: (e) => events.push(e), warn: (e) => events.push(e) },
  };
  return { out, err, events, sink };
}

const options = { connect: "tcp://127.0.0.1:1", timeout: 1000, retries: 1 };

Deno.test("admin command: ok data prints a table (or JSON) and exits 0", async () => {
  const data = {
    filesystems: [{
      filesystem: "/dev/x",
      mount: "/",
      size: 4096,
      used: 1024,
      available: 3072,
      capacity: 25,
    }],
  };
  const human = io();
  assert.equal(
    await runAdminCommand("disk", {}, options, human.sink, answering([encodeData(data)])),
    0,
  );
  assert.match(human.out[0], /^FILESYSTEM\s+SIZE\s+USED\s+AVAIL\s+USE%\s+MOUNTED ON$/);
  assert.match(human.out[1], /^\/dev\/x\s+4\.00 KiB\s+1\.00 KiB\s+3\.00 KiB\s+25%\s+\/$/);
  assert.deepEqual(human.err, []);
  const script = io();
  assert.equal(
    await runAdminCommand(
      "disk",
      {},
      { ...options, json: true },
      script.sink,
      answering([encodeData(data)]),
    ),
    0,
  );
  assert.deepEqual(script.out.map((l) => JSON.parse(l)), [data]);
});

Deno.test("admin command: an agent error is exit 1 with one line, and JSON for scripts", async () => {
  const r = io();
  const reply = [encodeError("bad_args", "ps: top: expected an integer in [1, 10000], got 0")];
  assert.equal(
    await runAdminCommand("ps", { top: 0 }, { ...options, json: true }, r.sink, answering(reply)),
    1,
  );
  assert.deepEqual(r.err, [
    "agent replied bad_args: ps: top: expected an integer in [1, 10000], got 0",
  ]);
  assert.deepEqual(JSON.parse(r.out[0]), {
    error: { code: "bad_args", message: "ps: top: expected an integer in [1, 10000], got 0" },
  });
});

Deno.test("admin command: a reply that is not the protocol, or data of the wrong shape, is bad_reply", async () => {
  const garbage = io();
  assert.equal(
    await runAdminCommand("ping", {}, options, garbage.sink, answering([encode("pong")])),
    1,
  );
  assert.match(garbage.err[0], /^bad reply from tcp:\/\/127\.0\.0\.1:1: expected object/);
  assert.deepEqual(garbage.events, ["request_sent", "bad_message"]);
  const shape = io();
  const bad = encodeData({ total: 1, matched: 1, sort: "cpu", processes: [{ pid: "one" }] });
  assert.equal(await runAdminCommand("ps", {}, options, shape.sink, answering([bad])), 1);
  assert.match(shape.err[0], /processes\[0\]\.pid: expected integer/);
  assert.deepEqual(shape.out, [], "nothing half-rendered");
  assert.deepEqual(shape.events, ["request_sent", "bad_message"]);
});
