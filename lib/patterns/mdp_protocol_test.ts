import assert from "node:assert/strict";
import { BadMessageError } from "../codec/schema.ts";
import {
  decodeClientMessage,
  decodeClientReply,
  decodeServiceName,
  decodeWorkerMessage,
  encodeClientReply,
  encodeClientRequest,
  encodeWorker,
  errorReplyBody,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
  MDPC01,
  MdpCommand,
  MDPW01,
  type MdpWorkerMessage,
  MmiStatus,
  parseErrorReply,
  splitRouterMessage,
} from "./mdp_protocol.ts";

const enc = new TextEncoder();
const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));
const E = new Uint8Array(0);

Deno.test("7/MDP constants are the RFC's", () => {
  assert.deepEqual([...MDPC01], [...enc.encode("MDPC01")]);
  assert.deepEqual([...MDPW01], [...enc.encode("MDPW01")]);
  assert.deepEqual(MdpCommand, { READY: 1, REQUEST: 2, REPLY: 3, HEARTBEAT: 4, DISCONNECT: 5 });
  assert.equal(MDP_HEARTBEAT_INTERVAL_MS, 2500);
  assert.equal(MDP_HEARTBEAT_LIVENESS, 3);
  assert.deepEqual(MmiStatus, { FOUND: "200", NOT_FOUND: "404", NOT_IMPLEMENTED: "501" });
});

Deno.test("client frames: REQUEST and REPLY layouts", () => {
  assert.deepEqual(text(encodeClientRequest("echo", ["a", "b"])), ["", "MDPC01", "echo", "a", "b"]);
  const client = Uint8Array.of(0, 1, 2);
  const reply = encodeClientReply(client, "echo", ["x"]);
  assert.deepEqual(reply[0], client);
  assert.deepEqual(text(reply.slice(1)), ["", "MDPC01", "echo", "x"]);
  assert.deepEqual(text(decodeClientReply(reply.slice(1), true).body), ["x"]);
  assert.equal(decodeClientMessage(encodeClientRequest("s", ["b"]).slice(1)).service, "s");
});

Deno.test("worker frames: each command's layout round-trips", () => {
  const client = enc.encode("c");
  assert.deepEqual(text(encodeWorker({ command: "READY", service: "echo" })), [
    "",
    "MDPW01",
    "\x01",
    "echo",
  ]);
  assert.deepEqual(text(encodeWorker({ command: "REQUEST", client, body: [enc.encode("b")] })), [
    "",
    "MDPW01",
    "\x02",
    "c",
    "",
    "b",
  ]);
  assert.deepEqual(text(encodeWorker({ command: "REPLY", client, body: [enc.encode("b")] })), [
    "",
    "MDPW01",
    "\x03",
    "c",
    "",
    "b",
  ]);
  assert.deepEqual(text(encodeWorker({ command: "HEARTBEAT" })), ["", "MDPW01", "\x04"]);
  assert.deepEqual(text(encodeWorker({ command: "DISCONNECT" })), ["", "MDPW01", "\x05"]);
  const messages: MdpWorkerMessage[] = [
    { command: "READY", service: "echo" },
    { command: "REPLY", client, body: [enc.encode("b")] },
    { command: "HEARTBEAT" },
    { command: "DISCONNECT" },
  ];
  for (const message of messages) {
    assert.deepEqual(decodeWorkerMessage(encodeWorker(message).slice(1)), message);
  }
});

Deno.test("malformed frames are BadMessageError with expected vs got", () => {
  const bad: Uint8Array[][] = [
    [MDPW01],
    [enc.encode("MDPW02"), Uint8Array.of(4)],
    [MDPW01, Uint8Array.of(9)],
    [MDPW01, Uint8Array.of(1, 1)],
    [MDPW01, Uint8Array.of(1)],
    [MDPW01, Uint8Array.of(1), enc.encode("a"), enc.encode("b")],
    [MDPW01, Uint8Array.of(3), enc.encode("c"), enc.encode("x"), enc.encode("b")],
    [MDPW01, Uint8Array.of(3), enc.encode("c"), E],
    [MDPW01, Uint8Array.of(3), E, E, enc.encode("b")],
    [MDPW01, Uint8Array.of(4), E],
    [MDPW01, Uint8Array.of(5), E],
  ];
  for (const frames of bad) assert.throws(() => decodeWorkerMessage(frames), BadMessageError);
  assert.throws(
    () => decodeClientMessage([MDPC01, enc.encode("s")]),
    /expected "MDPC01", service and 1\+ body frames, got 2/,
  );
  assert.throws(() => decodeClientMessage([MDPW01, enc.encode("s"), E]), BadMessageError);
  assert.throws(() => decodeClientReply([MDPC01, enc.encode("s"), E], true), BadMessageError);
  assert.throws(() => decodeServiceName(E), /expected 1..255 bytes, got 0/);
  assert.throws(() => decodeServiceName(new Uint8Array(256)), BadMessageError);
  assert.throws(() => decodeServiceName(Uint8Array.of(0xff)), /UTF-8/);
  assert.throws(() => decodeServiceName(enc.encode("a\nb")), /printable/);
  assert.throws(() => splitRouterMessage([enc.encode("id"), E]), BadMessageError);
  assert.throws(
    () => splitRouterMessage([enc.encode("id"), enc.encode("x"), MDPC01]),
    /empty delimiter/,
  );
  assert.throws(
    () => splitRouterMessage([enc.encode("id"), E, enc.encode("HTTP/1.1")]),
    /MDPC01" or "MDPW01/,
  );
  assert.equal(splitRouterMessage([enc.encode("id"), E, MDPW01, Uint8Array.of(4)]).kind, "worker");
});

Deno.test("broker error replies are recognised, ordinary bodies are not", () => {
  assert.deepEqual(parseErrorReply(errorReplyBody("503", "full")), { code: "503", text: "full" });
  assert.equal(parseErrorReply([enc.encode("mdp.error")]), null);
  assert.equal(parseErrorReply([enc.encode("hello"), E, E]), null);
});
