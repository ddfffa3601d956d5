import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  encodeHeader,
  encodeReading,
  READING_SCHEMA,
} from "../../04-telemetry-lvc/internal/protocol.ts";
import {
  conflatedJson,
  dataJson,
  MAX_CLIENT_FRAME_BYTES,
  parseClientMessage,
  parseUpdateFrames,
} from "./protocol.ts";

const te = new TextEncoder();

Deno.test("browser frames that follow the schema parse", () => {
  assert.deepEqual(parseClientMessage('{"type":"hello","topics":[""]}'), {
    type: "hello",
    topics: [""],
  });
  assert.deepEqual(
    parseClientMessage('{"type":"hello","topics":["a/"],"resume":{"epoch":"e1","seq":41}}'),
    { type: "hello", topics: ["a/"], resume: { epoch: "e1", seq: 41 } },
  );
  assert.equal(parseClientMessage('{"type":"unsubscribe","topics":["a/"]}').type, "unsubscribe");
  assert.deepEqual(parseClientMessage('{"type":"pong","t":12.5}'), { type: "pong", t: 12.5 });
});

Deno.test("garbage from a browser throws BadMessageError saying what was wrong", () => {
  const cases: [string, RegExp][] = [
    ["not json at all", /not JSON/],
    ["[1,2]", /expected type/],
    ['{"type":"nope"}', /expected type/],
    ['{"type":"subscribe"}', /topics/],
    ['{"type":"subscribe","topics":"a"}', /topics/],
    ['{"type":"subscribe","topics":[1]}', /topics/],
    ['{"type":"subscribe","topics":["a"],"x":1}', /x/],
    ['{"type":"hello","topics":[],"resume":{"epoch":"e","seq":-1}}', /seq/],
    [JSON.stringify({ type: "subscribe", topics: Array(33).fill("a") }), /topics/],
    [JSON.stringify({ type: "subscribe", topics: ["x".repeat(257)] }), /topics/],
    [" ".repeat(MAX_CLIENT_FRAME_BYTES + 1), /frame of/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseClientMessage(text), (e: unknown) => {
      assert.ok(e instanceof BadMessageError, text);
      assert.match(e.message, why, text.slice(0, 60));
      return true;
    });
  }
});

Deno.test("a Lab 04 reading becomes a data frame with the bridge's seq", () => {
  const frames = [
    te.encode("plant-a/temperature/00001"),
    encodeHeader({ seq: 7, ts: 1000, units: "degC", schema: READING_SCHEMA, replay: true }),
    encodeReading(21.5, new Uint8Array(4)),
  ];
  const update = parseUpdateFrames(frames, { maxPayloadBytes: 1024 });
  assert.deepEqual(JSON.parse(dataJson(3, update)), {
    type: "data",
    seq: 3,
    topic: "plant-a/temperature/00001",
    src_seq: 7,
    ts: 1000,
    units: "degC",
    schema: READING_SCHEMA,
    value: 21.5,
    lvc: true,
  });
  const blob = parseUpdateFrames([
    te.encode("x"),
    encodeHeader({ seq: 1, ts: 0, units: "", schema: "other" }),
    new Uint8Array([1, 2, 3]),
  ], { maxPayloadBytes: 1024 });
  assert.equal(blob.fields.payload, "AQID");
});

Deno.test("malformed ZeroMQ updates throw BadMessageError", () => {
  const good = encodeHeader({ seq: 1, ts: 0, units: "", schema: READING_SCHEMA });
  const bad: Uint8Array[][] = [
    [te.encode("t")],
    [te.encode("t"), te.encode("garbage"), encodeReading(1, new Uint8Array())],
    [te.encode("t"), good, new Uint8Array(20)], // bad CRC
    [new Uint8Array([0xff, 0xfe]), good, encodeReading(1, new Uint8Array())],
    [te.encode("t"), good, encodeReading(1, new Uint8Array(2000))],
  ];
  for (const frames of bad) {
    assert.throws(() => parseUpdateFrames(frames, { maxPayloadBytes: 1024 }), BadMessageError);
  }
});

Deno.test("a conflated frame is the data frame plus conflated and skipped", () => {
  const text = conflatedJson('{"type":"data","seq":9}', 3);
  assert.deepEqual(JSON.parse(text), { conflated: true, skipped: 3, type: "data", seq: 9 });
});
