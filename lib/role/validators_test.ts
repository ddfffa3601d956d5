import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { duration, endpoint, float, int, list, oneOf, positive } from "./validators.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${error}`);
    return error.message;
  }
  assert.fail("expected an error, got none");
}

Deno.test("int: parses integers within bounds", () => {
  assert.equal(int()("42"), 42);
  assert.equal(int()("-7"), -7);
  assert.equal(int({ min: 10 })("10"), 10);
  assert.equal(message(() => int({ min: 10 })("x")), 'expected an integer >= 10, got "x"');
  assert.equal(message(() => int({ min: 10 })("9")), 'expected an integer >= 10, got "9"');
  assert.equal(message(() => int({ max: 5 })("6")), 'expected an integer <= 5, got "6"');
  assert.equal(
    message(() => int({ min: 1, max: 5 })("1.5")),
    'expected an integer in [1, 5], got "1.5"',
  );
  assert.equal(message(() => int()("")), 'expected an integer, got ""');
  assert.equal(
    message(() => int()("99999999999999999999")),
    'expected an integer, got "99999999999999999999"',
  );
  assert.equal(positive("3"), 3);
  assert.equal(message(() => positive("0")), 'expected an integer >= 1, got "0"');
});

Deno.test("float: parses decimals within bounds", () => {
  assert.equal(float()("0.25"), 0.25);
  assert.equal(float()("1e3"), 1000);
  assert.equal(float({ min: 0, max: 1 })(".5"), 0.5);
  assert.equal(
    message(() => float({ min: 0, max: 1 })("1.5")),
    'expected a number in [0, 1], got "1.5"',
  );
  assert.equal(message(() => float()("NaN")), 'expected a number, got "NaN"');
  assert.equal(message(() => float()("1,5")), 'expected a number, got "1,5"');
});

Deno.test("endpoint: accepts tcp, ipc and inproc endpoints only", () => {
  for (
    const ok of [
      "tcp://127.0.0.1:5555",
      "tcp://127.0.0.1:*",
      "tcp://*:5555",
      "tcp://localhost:1",
      "tcp://[::1]:5555",
      "ipc:///tmp/x.sock",
      "inproc://workers",
    ]
  ) assert.equal(endpoint(ok), ok);
  for (
    const bad of ["tcp://127.0.0.1", "tcp://:5555", "tcp://h:70000", "udp://h:1", "ipc://", "x"]
  ) {
    assert.match(
      message(() => endpoint(bad)),
      /^expected an endpoint tcp:\/\/host:port\|\*, ipc:\/\/path or inproc:\/\/name, got "/,
    );
  }
});

Deno.test("oneOf, duration, list", () => {
  assert.equal(oneOf("a", "b")("b"), "b");
  assert.equal(message(() => oneOf("a", "b")("c")), 'expected one of a|b, got "c"');
  assert.equal(duration("250ms"), 250);
  assert.equal(duration("2s"), 2000);
  assert.equal(duration("1m"), 60_000);
  assert.equal(duration("1h"), 3_600_000);
  assert.equal(duration("1.5s"), 1500);
  assert.equal(duration("500"), 500);
  assert.match(
    message(() => duration("2 days")),
    /^expected a duration like 250ms, 2s, 1m, 1h or plain ms, got "2 days"$/,
  );
  assert.match(message(() => duration("-1s")), /got "-1s"$/);
  assert.deepEqual(list("a, b,c"), ["a", "b", "c"]);
  assert.equal(
    message(() => list("a,,b")),
    'expected a comma-separated list of non-empty items, got "a,,b"',
  );
});
