import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import { decodeStatistics, encodeStatistics, parseControl } from "./control.ts";
import { captureHeader, parseCapture, TOPIC } from "./capture.ts";

const te = new TextEncoder();

Deno.test("control: the four commands, exact bytes only", () => {
  for (const c of ["PAUSE", "RESUME", "TERMINATE", "STATISTICS"]) {
    assert.equal(parseControl([te.encode(c)]), c);
  }
  for (
    const bad of [[te.encode("pause")], [te.encode("PAUSE ")], [], [
      te.encode("PAUSE"),
      te.encode(""),
    ]]
  ) {
    assert.throws(() => parseControl(bad), BadMessageError);
  }
});

Deno.test("control: STATISTICS is 8 little-endian uint64 frames in libzmq's order", () => {
  const frames = encodeStatistics({
    frontendReceivedMessages: 1,
    frontendReceivedBytes: 2,
    frontendSentMessages: 3,
    frontendSentBytes: 4,
    backendReceivedMessages: 5,
    backendReceivedBytes: 6,
    backendSentMessages: 7,
    backendSentBytes: 2 ** 40,
  });
  assert.equal(frames.length, 8);
  assert.deepEqual([...frames[0]], [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...frames[7]], [0, 0, 0, 0, 0, 1, 0, 0]);
  assert.equal(decodeStatistics(frames).backendSentBytes, 2 ** 40);
  assert.throws(() => decodeStatistics(frames.slice(1)), BadMessageError);
});

Deno.test("capture: header round trip; malformed capture messages rejected", () => {
  const c = parseCapture([TOPIC.b2f, captureHeader(7, 1234.5), te.encode("id"), te.encode("")]);
  assert.deepEqual([c.direction, c.seq, c.wallMs, c.frames.length], ["b2f", 7, 1234.5, 2]);
  assert.throws(() => parseCapture([TOPIC.b2f, captureHeader(1, 0)]), BadMessageError);
  assert.throws(
    () => parseCapture([te.encode("x"), captureHeader(1, 0), te.encode("")]),
    BadMessageError,
  );
  assert.throws(() => parseCapture([TOPIC.f2b, new Uint8Array(3), te.encode("")]), BadMessageError);
});
