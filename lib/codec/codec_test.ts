import assert from "node:assert/strict";
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
    "expected object, got an array of 1 items",
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
    reason(() => decode(new Uint8Array([0x01, 0x02]), s.int())).startsWith("expected msgpack"),
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
