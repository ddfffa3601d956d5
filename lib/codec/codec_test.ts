import assert from "node:assert/strict";
import { Packr } from "msgpackr/pack";
import { BadMessageError, decode, encode, type Infer, is, s, validate } from "./mod.ts";

const Heartbeat = s.object({
  node: s.string(),
  seq: s.int({ min: 0 }),
  metrics: s.record(s.number()),
  tags: s.optional(s.array(s.string())),
  note: s.nullable(s.string()),
});

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BadMessageError, `expected BadMessageError, got ${error}`);
    return error.reason;
  }
  assert.fail("expected BadMessageError, got no error");
}

Deno.test("codec: round trip keeps the value and types it", () => {
  const hb: Infer<typeof Heartbeat> = {
    node: "a1",
    seq: 7,
    metrics: { load: 0.5, mem: 1024 },
    note: null,
  };
  const bytes = encode(hb);
  assert.ok(bytes instanceof Uint8Array);
  const back = decode(bytes, Heartbeat);
  assert.deepEqual(back, hb);
  assert.equal(back.tags, undefined);
});

Deno.test("codec: bytes, big integers and undefined fields", () => {
  const Frame = s.object({ data: s.bytes(), big: s.int(), gone: s.optional(s.string()) });
  const data = new Uint8Array([0, 1, 255]);
  const bytes = encode({ data, big: 2 ** 40, gone: undefined });
  const back = decode(bytes, Frame);
  assert.deepEqual([...back.data], [0, 1, 255]);
  assert.equal(back.big, 2 ** 40);
  assert.equal("gone" in back, false, "undefined keys are not encoded");
});

Deno.test("codec: reasons name the path, what was expected and what was got", () => {
  const bad = { node: "a1", seq: 1, metrics: { load: "x" }, note: null };
  assert.equal(
    reason(() => decode(encode(bad), Heartbeat)),
    'metrics.load: expected number, got "x"',
  );
  assert.equal(
    reason(() => decode(encode({ ...bad, metrics: {}, seq: -1 }), Heartbeat)),
    "seq: expected integer >= 0, got -1",
  );
  assert.equal(
    reason(() => decode(encode({ ...bad, metrics: {}, tags: ["a", 3] }), Heartbeat)),
    "tags[1]: expected string, got 3",
  );
  assert.equal(
    reason(() => decode(encode({ seq: 1, metrics: {}, note: null }), Heartbeat)),
    "node: expected string, got nothing",
  );
  assert.equal(
    reason(() => decode(encode([1]), Heartbeat)),
    "expected object, got an array of 1 item",
  );
  assert.equal(
    reason(() => validate({ "a b": { c: 1 } }, s.record(s.object({ c: s.string() })))),
    '["a b"].c: expected string, got 1',
  );
});

Deno.test("codec: strict objects reject unknown keys, others keep them", () => {
  const Loose = s.object({ a: s.int() });
  const Strict = s.object({ a: s.int() }, { strict: true });
  const value = { a: 1, extra: true };
  assert.deepEqual(validate(value, Loose), value);
  assert.equal(
    reason(() => validate(value, Strict)),
    'expected only keys a, got unknown key "extra"',
  );
});

Deno.test("codec: literal, oneOf, unknown, boolean, bounds", () => {
  const Kind = s.literal("scan", "hash");
  assert.equal(validate("scan", Kind), "scan");
  assert.equal(reason(() => validate("x", Kind)), 'expected one of "scan" | "hash", got "x"');
  const IdOrName = s.oneOf(s.int(), s.string({ min: 1 }));
  assert.equal(validate(3, IdOrName), 3);
  assert.equal(validate("n", IdOrName), "n");
  assert.equal(
    reason(() => validate("", IdOrName)),
    'expected integer | string of length >= 1, got ""',
  );
  assert.equal(validate({ x: [1] }, s.unknown()) !== undefined, true);
  assert.equal(reason(() => validate(1, s.boolean())), "expected boolean, got 1");
  assert.equal(
    reason(() => validate([1, 2, 3], s.array(s.int(), { max: 2 }))),
    "expected array of length <= 2, got an array of 3 items",
  );
  assert.equal(reason(() => validate(NaN, s.number())), "expected number, got NaN");
  assert.equal(reason(() => validate(1.5, s.int())), "expected integer, got 1.5");
  assert.equal(is("a", s.string()), true);
  assert.equal(is(1, s.string()), false);
});

Deno.test("codec: garbage never throws anything but BadMessageError", () => {
  const samples: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([0xc1]), // never used
    new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 with no items
    new Uint8Array([0xdb, 0x00, 0x00, 0x10, 0x00, 0x41]), // str32 longer than the frame
    new Uint8Array([0x92, 0x01]), // truncated array
    new Uint8Array([0x01, 0x02]), // trailing bytes
    new TextEncoder().encode("hello world"),
  ];
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 3000; i++) {
    const n = 1 + Math.floor(rand() * 24);
    samples.push(Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
  }
  for (const bytes of samples) {
    try {
      decode(bytes, Heartbeat);
    } catch (error) {
      assert.ok(error instanceof BadMessageError, `bytes ${bytes}: ${error}`);
      assert.ok(error.reason.length > 0);
    }
  }
  assert.equal(
    reason(() => decode(new Uint8Array([0x01, 0x02]), s.int())).startsWith("expected one msgpack"),
    true,
  );
});

Deno.test("codec: __proto__ keys cannot pollute prototypes", () => {
  // {"__proto__": {"polluted": true}} as a msgpack map
  const bytes = new Uint8Array([
    0x81,
    0xa9,
    ...new TextEncoder().encode("__proto__"),
    0x81,
    0xa8,
    ...new TextEncoder().encode("polluted"),
    0xc3,
  ]);
  try {
    decode(bytes, s.record(s.unknown()));
  } catch (error) {
    assert.ok(error instanceof BadMessageError);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("codec: every decode error says in words what was expected and what arrived", () => {
  const Shape = s.object({ a: s.int() });
  const hex = (text: string) => new Uint8Array(text.split(" ").map((h) => parseInt(h, 16)));
  const cases: [string, Uint8Array, string][] = [
    [
      "a lone 0xC1",
      hex("c1"),
      "expected standard MessagePack, got the reserved byte 0xC1 (never used in MessagePack)",
    ],
    [
      "0xC1 as a map value",
      hex("81 a1 61 c1"),
      "a: expected standard MessagePack, got the reserved byte 0xC1 (never used in MessagePack)",
    ],
    [
      "0xC1 deep inside",
      hex("81 a1 61 91 c1"),
      "a[0]: expected standard MessagePack, got the reserved byte 0xC1 (never used in MessagePack)",
    ],
    [
      "a truncated string",
      hex("a5 61"),
      "expected a complete msgpack value, got 2 bytes that end in the middle of one",
    ],
    [
      "a truncated map",
      hex("81"),
      "expected a complete msgpack value, got 1 byte that ends in the middle of one",
    ],
    [
      "a map claiming 4 G entries",
      hex("df ff ff ff ff"),
      "expected a complete msgpack value, got 5 bytes that end in the middle of one",
    ],
    [
      "trailing bytes",
      hex("80 00"),
      "expected one msgpack value, got 2 bytes with more data after the first value",
    ],
    [
      "an unknown extension",
      hex("d4 01 00"),
      "expected standard MessagePack, got extension type 1",
    ],
    [
      "msgpackr's own Set extension",
      new Packr({ moreTypes: true, useRecords: false }).pack({ a: new Set([1]) }),
      "a: expected standard MessagePack, got an extension value (a set)",
    ],
    [
      "msgpackr's own Error extension",
      new Packr({ moreTypes: true, useRecords: false }).pack(new Error("x")),
      "expected standard MessagePack, got an extension value (an error object)",
    ],
    ["binary data", hex("c4 01 00"), "expected object, got 1 byte of binary data"],
    ["nil", hex("c0"), "expected object, got null"],
    ["an array", hex("92 01 02"), "expected object, got an array of 2 items"],
    ["a timestamp", hex("d6 ff 00 00 00 01"), "expected object, got a timestamp"],
    [
      "a uint64 beyond 2^53",
      hex("81 a1 61 cf ff ff ff ff ff ff ff ff"),
      "a: expected integer, got the integer 18446744073709551615 (too large for a number)",
    ],
    ["a missing key", hex("80"), "a: expected integer, got nothing"],
    ["an empty frame", new Uint8Array(), "expected msgpack bytes, got an empty frame"],
  ];
  for (const [name, bytes, expected] of cases) {
    const got = reason(() => decode(bytes, Shape));
    assert.equal(got, expected, name);
    // No decoder internals: no JSON dumps, no msgpackr names.
    assert.ok(!/[{}]|msgpackr|C1Type|MessagePack data/.test(got), `${name}: ${got}`);
  }
  assert.equal(
    reason(() => decode("text" as unknown as Uint8Array, Shape)),
    'expected msgpack bytes, got "text"',
  );
});

Deno.test("codec: 0xC1 is refused even where the schema accepts anything", () => {
  const Anything = s.object({ a: s.unknown() });
  assert.equal(
    reason(() => decode(new Uint8Array([0x81, 0xa1, 0x61, 0xc1]), Anything)),
    "a: expected standard MessagePack, got the reserved byte 0xC1 (never used in MessagePack)",
  );
  // Standard values inside s.unknown() still pass, timestamps and binary included.
  const value = { a: { when: new Date(1000), raw: new Uint8Array([1]), list: [1, "x", null] } };
  const back = decode(encode(value), Anything) as typeof value;
  assert.deepEqual(back.a.when, value.a.when);
  assert.deepEqual([...back.a.raw], [1]);
  assert.deepEqual(back.a.list, value.a.list);
});
