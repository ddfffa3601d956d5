import assert from "node:assert/strict";
import { encode } from "@lib/codec/mod.ts";
import {
  BadMessageError,
  decodeAck,
  decodeBatch,
  decodeCredit,
  decodeParsed,
  encodeAck,
  encodeBatch,
  encodeCredit,
  encodeParsed,
  newRunId,
  type Parsed,
  RUN_ID_RE,
} from "./protocol.ts";

const run = newRunId();
const te = new TextEncoder();

function rejects(frames: Uint8Array[], decoder: (f: Uint8Array[]) => unknown, reason: RegExp) {
  assert.throws(
    () => decoder(frames),
    (e) => e instanceof BadMessageError && reason.test(e.reason),
  );
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
    records: `{"event":{"id":"${run}-3-0"}}\n`,
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
    /line index < 1, got 5/,
  );
  const rec = (i: number) => `{"event":{"id":"${run}-0-${i}"}}\n`;
  const parsed = { run, seq: 0, lines: 2, count: 2, records: rec(0), dead: [], parser: "p" };
  rejects([P, te.encode("PARSED"), encode(parsed)], decodeParsed, /expected 2 NDJSON lines, got 1/);
  rejects(
    [P, te.encode("PARSED"), encode({ ...parsed, lines: 3 })],
    decodeParsed,
    /count \+ dead = lines/,
  );
});

Deno.test("the sink's decoder refuses unparsed records, foreign ids and huge seqs (issue 9 #14)", () => {
  const P = te.encode("LOGPIPE/1");
  const T = te.encode("PARSED");
  const rec = (i: number, seq = 0) => `{"event":{"id":"${run}-${seq}-${i}"}}\n`;
  const ok = { run, seq: 0, lines: 2, count: 1, records: rec(0), parser: "p" };
  const dead = [{ index: 1, reason: "r", line: "l" }];
  assert.equal(decodeParsed([P, T, encode({ ...ok, dead })]).count, 1);
  rejects([P, T, encode({ ...ok, dead, records: "not json\n" })], decodeParsed, /non-JSON/);
  rejects([P, T, encode({ ...ok, dead, records: rec(0, 7) })], decodeParsed, /event\.id/);
  rejects(
    [P, T, encode({ ...ok, dead: [{ ...dead[0], index: 0 }] })],
    decodeParsed,
    /each line index 0\.\.1 once, got a dead letter for index 0/,
  );
  rejects([P, T, encode({ ...ok, dead, records: rec(0).trimEnd() })], decodeParsed, /newline/);
  rejects([P, T, encode({ ...ok, dead, seq: 2 ** 53 - 1 })], decodeParsed, /seq/);
});

Deno.test("credit reports round-trip and are checked", () => {
  const peer = te.encode("peer-1");
  const credit = { window: 2, received: 5, done: 4 };
  assert.deepEqual(decodeCredit([peer, ...encodeCredit(credit)]), { peer, credit });
  rejects(encodeCredit(credit), decodeCredit, /expected 4 frames, got 3/);
  rejects([peer, ...encodeCredit({ ...credit, done: 6 })], decodeCredit, /done <= received/);
});
