import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import {
  decodeAck,
  decodeBatch,
  decodeParsed,
  encodeAck,
  encodeBatch,
  encodeParsed,
  newRunId,
  type Parsed,
  ProtocolError,
  RUN_ID_RE,
} from "./protocol.ts";

const run = newRunId();
const te = new TextEncoder();

function rejects(frames: Uint8Array[], decoder: (f: Uint8Array[]) => unknown, reason: RegExp) {
  assert.throws(() => decoder(frames), (e) => e instanceof ProtocolError && reason.test(e.reason));
}

Deno.test("messages round-trip", () => {
  assert.match(run, RUN_ID_RE);
  const batch = { run, seq: 3, lines: ["a", "b"], oversize: [[1, 99999]] as [number, number][] };
  assert.deepEqual(decodeBatch(encodeBatch(batch)), batch);
  const parsed: Parsed = {
    run,
    seq: 3,
    lines: 2,
    count: 1,
    records: '{"a":1}\n',
    dead: [{ index: 1, reason: "r", line: "l" }],
    parser: "p",
  };
  assert.deepEqual(decodeParsed(encodeParsed(parsed)), parsed);
  const ack = { run, seq: 3, stored: 1, dead: 1, duplicate: false };
  const [routing, ...rest] = encodeAck(ack);
  assert.equal(new TextDecoder().decode(routing), run);
  assert.deepEqual(decodeAck(rest), ack);
});

Deno.test("malformed messages are rejected with a reason", () => {
  const P = te.encode("LOGPIPE/1");
  rejects([P, te.encode("BATCH")], decodeBatch, /^expected 3 frames, got 2$/);
  rejects(
    [te.encode("X"), te.encode("BATCH"), encode({})],
    decodeBatch,
    /expected protocol LOGPIPE\/1/,
  );
  rejects([P, te.encode("ACK"), encode({})], decodeBatch, /expected BATCH, got "ACK"/);
  rejects([P, te.encode("BATCH"), new Uint8Array([0x82, 0xa1])], decodeBatch, /msgpack/);
  rejects(
    [P, te.encode("BATCH"), encode({ run: "x".repeat(16), seq: 0, lines: ["a"] })],
    decodeBatch,
    /run id/,
  );
  rejects([P, te.encode("BATCH"), encode({ run, seq: -1, lines: ["a"] })], decodeBatch, /seq/);
  rejects([P, te.encode("BATCH"), encode({ run, seq: 0, lines: [] })], decodeBatch, /lines/);
  rejects(
    [P, te.encode("BATCH"), encode({ run, seq: 0, lines: ["a"], oversize: [[5, 1]] })],
    decodeBatch,
    /oversize index < 1, got 5/,
  );
  const parsed = { run, seq: 0, lines: 2, count: 2, records: "{}\n", dead: [], parser: "p" };
  rejects([P, te.encode("PARSED"), encode(parsed)], decodeParsed, /expected 2 NDJSON lines, got 1/);
  rejects(
    [P, te.encode("PARSED"), encode({ ...parsed, lines: 3 })],
    decodeParsed,
    /count \+ dead = lines/,
  );
});
