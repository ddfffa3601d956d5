import assert from "node:assert/strict";
import { ZmqError } from "../zmq/errors.ts";
import { describeError } from "./describe_error.ts";

Deno.test("describeError: Deno file errors become one line without the os error number", () => {
  assert.deepEqual(
    describeError(
      new Deno.errors.NotFound(
        "No such file or directory (os error 2): open '/nonexistent/file.log'",
      ),
    ),
    {
      message: "cannot open /nonexistent/file.log: no such file or directory",
      expected: true,
      code: undefined,
    },
  );
  assert.equal(
    describeError(new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir '/x/y'"))
      .message,
    "cannot create /x/y: permission denied",
  );
});

Deno.test("describeError: a real NotFound keeps its code", () => {
  try {
    Deno.readTextFileSync("/nonexistent/zmq-labs/file");
    assert.fail("expected NotFound");
  } catch (error) {
    const d = describeError(error);
    assert.equal(d.message, "cannot read /nonexistent/zmq-labs/file: no such file or directory");
    assert.equal(d.code, "ENOENT");
    assert.equal(d.expected, true);
  }
});

Deno.test("describeError: Deno permission errors lose the run-again hint", () => {
  for (
    const [text, want] of [
      [
        'Requires all access to "/proc/nope", run again with the --allow-all flag',
        "not permitted: all access to /proc/nope (not among this role's Deno permissions)",
      ],
      [
        'Requires net access to "127.0.0.1:22", run again with the --allow-net flag',
        "not permitted: net access to 127.0.0.1:22 (not among this role's Deno permissions)",
      ],
    ]
  ) {
    const d = describeError(new Deno.errors.NotCapable(text));
    assert.equal(d.message, want);
    assert.ok(!d.message.includes("run again"));
    assert.equal(d.expected, true);
  }
});

Deno.test("describeError: ZmqError keeps its one-line message and code", () => {
  const error = new ZmqError(
    "bind tcp://127.0.0.1:5551",
    "EADDRINUSE",
    98,
    "address already in use",
    {
      message: "cannot bind tcp://127.0.0.1:5551: address already in use",
    },
  );
  assert.deepEqual(describeError(error), {
    message: "cannot bind tcp://127.0.0.1:5551: address already in use",
    expected: true,
    code: "EADDRINUSE",
  });
});

Deno.test("describeError: bugs and non-errors are unexpected, first line only", () => {
  assert.deepEqual(describeError(new TypeError("x is undefined\nmore")), {
    message: "x is undefined",
    expected: false,
    code: undefined,
  });
  assert.deepEqual(describeError("plain"), { message: "plain", expected: false });
});
