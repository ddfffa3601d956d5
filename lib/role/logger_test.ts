import assert from "node:assert/strict";
import {
  configureLogging,
  createLogger,
  createMemoryLogger,
  flushLogs,
  formatJson,
  formatPretty,
  getRoleLogger,
  type LogEntry,
  parseLevel,
} from "./logger.ts";
import { LOG_LIMITS } from "./log_bounds.ts";
import { envVarName, sanitizeOptions } from "./run_role.ts";

const ENTRY: LogEntry = {
  ts: Date.UTC(2026, 10, 26, 23, 59, 59, 123),
  level: "info",
  role: "log_parser",
  event: "batch_stored",
  fields: { batch_id: "b-17", count: 500 },
};

Deno.test("envVarName: <ROLE>_<FLAG> in upper snake case", () => {
  assert.equal(envVarName("monitor_agent", "--interval"), "MONITOR_AGENT_INTERVAL");
  assert.equal(envVarName("log_parser", "--max-batch-size"), "LOG_PARSER_MAX_BATCH_SIZE");
  assert.equal(envVarName("dashboard", "--no-color"), "DASHBOARD_NO_COLOR");
});

Deno.test("sanitizeOptions hides secrets, passwords and keys", () => {
  assert.deepEqual(
    sanitizeOptions({ curveSecretKey: "abc", plainPassword: "pw", apiKey: undefined, port: 1 }),
    { curveSecretKey: "***", plainPassword: "***", apiKey: undefined, port: 1 },
  );
});

Deno.test("formatJson: the documented line, flat fields", () => {
  assert.equal(
    formatJson(ENTRY, 4242),
    '{"ts":"2026-11-26T23:59:59.123Z","level":"info","role":"log_parser","pid":4242,' +
      '"event":"batch_stored","batch_id":"b-17","count":500}',
  );
  const line = formatJson({
    ...ENTRY,
    fields: {
      error: new Error("boom"),
      big: 10n,
      raw: new Uint8Array([1, 255]),
      skip: undefined,
      nested: { e: new Error("inner") },
      event: "clash",
      inf: Infinity,
    },
  }, 1);
  const parsed = JSON.parse(line);
  assert.equal(parsed.error, "boom");
  assert.equal(parsed.big, "10");
  assert.equal(parsed.raw, "01ff");
  assert.equal("skip" in parsed, false);
  assert.deepEqual(parsed.nested, { e: "inner" });
  assert.equal(parsed.event, "batch_stored");
  assert.equal(parsed._event, "clash");
  assert.equal(parsed.inf, "Infinity");
});

Deno.test("formatJson / formatPretty: durations rounded, big fields capped", () => {
  const fields = {
    silent_ms: 3009.7584789999996,
    frames: Array.from({ length: 1001 }, (_, i) => i),
    text: "y".repeat(600),
    raw: new Uint8Array(100),
  };
  const parsed = JSON.parse(formatJson({ ...ENTRY, fields }, 1));
  assert.equal(parsed.silent_ms, 3009.8);
  assert.equal(parsed.frames.length, 17);
  assert.equal(parsed.frames[16], "… +985 more");
  assert.equal(parsed.text, "y".repeat(512) + "… +88 chars");
  assert.equal(parsed.raw, "00".repeat(64) + "… +36 bytes");
  const pretty = formatPretty({ ...ENTRY, fields });
  assert.ok(pretty.includes(" silent_ms=3009.8 "), pretty);
  assert.ok(pretty.includes('"… +985 more"]'), pretty);
  assert.ok(pretty.length < 2000, `pretty line of ${pretty.length} chars`);
});

Deno.test("formatJson: a whole record stays under the cap and valid JSON", () => {
  const fields: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) fields[`f${i}`] = "z".repeat(500);
  const line = formatJson({ ...ENTRY, fields }, 1);
  assert.ok(line.length <= LOG_LIMITS.maxRecord, `${line.length} chars`);
  const parsed = JSON.parse(line);
  assert.equal(parsed.f0, "z".repeat(500));
  assert.ok(parsed._fields_omitted > 0);
  const one = formatJson({ ...ENTRY, fields: { nested: [fields, fields] } }, 1);
  assert.ok(one.length <= LOG_LIMITS.maxRecord, `${one.length} chars`);
  assert.match(JSON.parse(one).nested, /^\[\{"f0":"z+.*… \+\d+ chars$/s);
});

Deno.test("limited: first line, then one per window with suppressed; shared by children", () => {
  let t = 0;
  const log = createMemoryLogger({ limiter: { windowMs: 5000, now: () => t } });
  for (let i = 0; i < 10; i++) log.limited("warn", "seq_gap", { gap: i });
  log.child({ peer: "p" }).limited("warn", "seq_gap", { gap: 99 });
  assert.deepEqual(log.events("seq_gap").map((r) => r.fields), [{ gap: 0 }]);
  t = 5000;
  log.limited("warn", "seq_gap", { gap: 100 });
  assert.deepEqual(log.events("seq_gap")[1].fields, { gap: 100, suppressed: 10 });
  log.limited("warn", "seq_gap", { gap: 1 }, "other-key");
  assert.equal(log.events("seq_gap").length, 3, "another key has its own window");
  const quiet = createMemoryLogger({ level: "error" });
  quiet.limited("warn", "x");
  assert.equal(quiet.records.length, 0, "a disabled level is not written");
});

Deno.test("limited: on createLogger and the process-wide logger too", async () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  log.limited("warn", "refused");
  log.limited("warn", "refused");
  assert.equal(lines.length, 1);
  const roleLines: string[] = [];
  configureLogging({ role: "r", level: "info", format: "json", write: (l) => roleLines.push(l) });
  try {
    getRoleLogger().limited("warn", "handshake_failed_test");
    getRoleLogger("zmq").limited("warn", "handshake_failed_test");
    assert.equal(roleLines.length, 1);
  } finally {
    await flushLogs(true);
  }
});

Deno.test("formatPretty: time, level, role, event, key=value", () => {
  const line = formatPretty({ ...ENTRY, fields: { ...ENTRY.fields, note: "two words" } });
  assert.match(
    line,
    /^\d\d:\d\d:\d\d\.123 INFO {2}log_parser batch_stored batch_id=b-17 count=500 note="two words"$/,
  );
  const colored = formatPretty(ENTRY, true);
  assert.ok(colored.includes("\x1b[32mINFO "), colored);
});

Deno.test("createLogger: filters by level and writes formatted lines", () => {
  const lines: string[] = [];
  const log = createLogger({ role: "r", level: "warn", write: (l) => lines.push(l) });
  log.info("hidden");
  log.warn("shown", { n: 1 });
  log.child({ peer: "p1" }).error("child", { n: 2 });
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[0]).event, "shown");
  assert.deepEqual(
    [JSON.parse(lines[1]).peer, JSON.parse(lines[1]).n, JSON.parse(lines[1]).level],
    ["p1", 2, "error"],
  );
  assert.equal(log.isEnabled("info"), false);
  assert.equal(log.isEnabled("fatal"), true);
});

Deno.test("createMemoryLogger: collects records for assertions", () => {
  const log = createMemoryLogger();
  log.debug("tick", { n: 1 });
  log.child({ peer: "x" }).warn("bad_message", { reason: "r" });
  assert.equal(log.records.length, 2);
  assert.deepEqual(log.events("bad_message")[0].fields, { peer: "x", reason: "r" });
  log.clear();
  assert.equal(log.records.length, 0);
});

Deno.test("parseLevel", () => {
  assert.equal(parseLevel("WARNING"), "warn");
  assert.equal(parseLevel("debug"), "debug");
  assert.equal(parseLevel("loud"), undefined);
});

Deno.test("configureLogging + getRoleLogger go through logtape with level and component", async () => {
  const lines: string[] = [];
  configureLogging({ role: "r1", level: "info", format: "json", write: (l) => lines.push(l) });
  try {
    const log = getRoleLogger();
    log.debug("hidden");
    log.info("shown", { n: 1 });
    getRoleLogger("zmq").warn("socket_closed", { type: "ROUTER" });
    assert.equal(log.isEnabled("debug"), false);
    assert.equal(lines.length, 2, lines.join("\n"));
    const [a, b] = lines.map((l) => JSON.parse(l));
    assert.deepEqual([a.role, a.event, a.n, a.level, a.pid], ["r1", "shown", 1, "info", Deno.pid]);
    assert.deepEqual([b.event, b.level, b.component, b.type], [
      "socket_closed",
      "warn",
      "zmq",
      "ROUTER",
    ]);
  } finally {
    await flushLogs(true);
  }
});
