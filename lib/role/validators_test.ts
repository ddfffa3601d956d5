import assert from "node:assert/strict";
import { Command, InvalidArgumentError } from "commander";
import {
  byteSize,
  byteSizeIn,
  duration,
  endpoint,
  float,
  int,
  list,
  listenAddress,
  oneOf,
  positive,
  readableDir,
  readableFile,
  repeatable,
  SecretArgumentError,
  writableDir,
  writableFile,
  z85Key,
} from "./validators.ts";

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

Deno.test("repeatable: repeat the flag AND comma-separate; a default is replaced", () => {
  const parse = repeatable(endpoint);
  const first = parse("tcp://a:1, tcp://b:2", ["tcp://default:9"]);
  assert.deepEqual(first, ["tcp://a:1", "tcp://b:2"], "the default is replaced");
  assert.deepEqual(parse("tcp://c:3", first), ["tcp://a:1", "tcp://b:2", "tcp://c:3"]);
  assert.deepEqual(repeatable()("x,y"), ["x", "y"]);
  assert.deepEqual(repeatable(int())("1,2", []), [1, 2]);
  assert.equal(
    message(() => repeatable()("a,,b")),
    'expected one or more non-empty values, repeated or comma-separated, got "a,,b"',
  );
  assert.match(message(() => parse("tcp://a:1,nope")), /expected an endpoint .*, got "nope"$/);
  const described = repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5501 if no --bind" });
  assert.equal(described.repeatable, true);
  assert.equal(described.defaultText, "tcp://127.0.0.1:5501 if no --bind");
});

Deno.test("repeatable: under commander, flags, commas and env all accumulate the same way", () => {
  const cmd = new Command().exitOverride()
    .option("--rack <name>", "rack", repeatable(), ["A"])
    .option("--peer <ep>", "peer", repeatable(endpoint), []);
  cmd.parse(["--rack", "x,y", "--rack", "z"], { from: "user" });
  assert.deepEqual(cmd.opts(), { rack: ["x", "y", "z"], peer: [] });
  const fresh = new Command().exitOverride().option("--rack <name>", "rack", repeatable(), ["A"]);
  fresh.parse([], { from: "user" });
  assert.deepEqual(fresh.opts().rack, ["A"]);
});

Deno.test("byteSize / byteSizeIn: bytes, SI and IEC units", () => {
  assert.equal(byteSize("512"), 512);
  assert.equal(byteSize("64KiB"), 65536);
  assert.equal(byteSize("64 kib"), 65536);
  assert.equal(byteSize("1MB"), 1_000_000);
  assert.equal(byteSize("1M"), 1_000_000);
  assert.equal(byteSize("1.5KiB"), 1536);
  assert.equal(byteSize("2GiB"), 2 ** 31);
  assert.equal(byteSize("10B"), 10);
  for (const bad of ["", "x", "1XB", "-1", "1iB", "KiB", "1e3"]) {
    assert.equal(
      message(() => byteSize(bad)),
      `expected a byte size like 512, 64KiB or 1MB, got ${JSON.stringify(bad)}`,
    );
  }
  const frame = byteSizeIn({ min: 1, max: 64 * 2 ** 20 });
  assert.equal(frame("64MiB"), 64 * 2 ** 20);
  assert.equal(message(() => frame("65MiB")), 'expected a byte size in [1 B, 64 MiB], got "65MiB"');
  assert.match(message(() => frame("lots")), /^expected a byte size in \[1 B, 64 MiB\] like/);
});

Deno.test("z85Key: 40 Z85 characters; the error never contains the value", () => {
  const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  assert.equal(z85Key(key), key);
  assert.equal(z85Key(` ${key} `), key);
  const secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
  assert.equal(z85Key(secret), secret);
  for (
    const [bad, why] of [
      ["short-secret", "got 12 characters"],
      [key.slice(0, 39) + "~", "got characters outside the Z85 alphabet"],
      ["#".repeat(40), "got a group of 5 characters above 2^32 - 1"],
    ]
  ) {
    let error: unknown;
    try {
      z85Key(bad);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof SecretArgumentError);
    assert.ok(error instanceof InvalidArgumentError, "commander still sees a bad argument");
    assert.equal(error.message, `expected a 40-character Z85 CURVE key, ${why}`);
    assert.ok(!error.message.includes(bad));
  }
});

Deno.test("readableFile / readableDir / writableDir: one line saying why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "validators-" });
  try {
    const file = `${dir}/a.log`;
    await Deno.writeTextFile(file, "x\n");
    assert.equal(readableFile(file), file);
    assert.equal(readableDir(dir), dir);
    assert.equal(writableDir(dir), dir);
    assert.equal(writableDir(`${dir}/new/sub`), `${dir}/new/sub`, "can be created");
    assert.equal(writableFile(file), file);
    assert.equal(writableFile(`${dir}/acks.ndjson`), `${dir}/acks.ndjson`, "can be created");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.log"], "no probe left");
    const cases: [() => unknown, string][] = [
      [
        () => readableFile(`${dir}/missing`),
        `expected a readable file, got "${dir}/missing" (does not exist)`,
      ],
      [() => readableFile(dir), `expected a readable file, got "${dir}" (a directory)`],
      [
        () => readableFile("/dev/null"),
        'expected a readable file, got "/dev/null" (not a regular file)',
      ],
      [() => readableDir(file), `expected a readable directory, got "${file}" (not a directory)`],
      [
        () => readableDir(`${dir}/nope`),
        `expected a readable directory, got "${dir}/nope" (does not exist)`,
      ],
      [
        () => writableDir(`${file}/sub`),
        `expected a writable directory, got "${file}/sub" (not a directory)`,
      ],
      [
        () => writableDir(`${file}/a/b`),
        `expected a writable directory, got "${file}/a/b" (not a directory)`,
      ],
      [() => writableDir(file), `expected a writable directory, got "${file}" (not a directory)`],
      [() => readableFile(""), 'expected a readable file, got ""'],
      [
        () => writableFile(`${dir}/nope/a.ndjson`),
        `expected a writable file, got "${dir}/nope/a.ndjson" (its directory does not exist)`,
      ],
      [() => writableFile(dir), `expected a writable file, got "${dir}" (a directory)`],
      [
        () => writableFile(`${file}/x`),
        `expected a writable file, got "${file}/x" (not a directory)`,
      ],
      [
        () => writableFile("/dev/null"),
        'expected a writable file, got "/dev/null" (not a regular file)',
      ],
    ];
    for (const [fn, want] of cases) assert.equal(message(fn), want);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenAddress: host:port (port 0 = any) or off", () => {
  assert.deepEqual(listenAddress("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(listenAddress("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.equal(listenAddress("off"), null);
  assert.throws(
    () => listenAddress("127.0.0.1:70000"),
    /expected host:port \(port 0..65535\) or off, got "127.0.0.1:70000"/,
  );
  assert.throws(() => listenAddress("9464"), /expected host:port/);
});
