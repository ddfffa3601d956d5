import assert from "node:assert/strict";
import { Anonymiser } from "./anonymiser.ts";
import { LogGenerator } from "./generator.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { parseLine, processBatch } from "./line_parser.ts";
import { type ParseContext, ParseError } from "./syslog.ts";

const anon = new Anonymiser("unit-test-secret-0123456789");
const now = new Date("2026-11-26T12:00:00Z");
const ctx: ParseContext = { anon, id: "r-0-0", now, ingested: now.toISOString() };

Deno.test("RFC 5424 examples from the RFC parse, with structured data and BOM", () => {
  const a = parseLine(
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
    ctx,
  );
  assert.equal(a["@timestamp"], "2003-10-11T22:14:15.003Z");
  assert.deepEqual(a.log.syslog, {
    priority: 34,
    facility: { code: 4 },
    severity: { code: 2 },
    version: 1,
    msgid: "ID47",
  });
  assert.equal(a.log.level, "crit");
  assert.equal(a.host?.name, "mymachine.example.com");
  assert.equal(a.process?.name, "su");
  // The RFC's own example names a user twice: both are pseudonymised (issue 8).
  assert.equal(
    a.message,
    `'su ${anon.user("root")}' failed for ${anon.user("lonvick")} on /dev/pts/8`,
  );
  assert.equal(a.user?.name, anon.user("lonvick"));
  const b = parseLine(
    '<165>1 2003-10-11T22:14:15.003-07:00 192.0.2.1 evntslog 99 ID47 [exampleSDID@32473 iut="3" eventSource="Appl\\"ic\\]ation"][origin ip="192.0.2.9"] An application event',
    ctx,
  );
  assert.equal(b["@timestamp"], "2003-10-12T05:14:15.003Z");
  assert.match(b.host!.name!, /^ip_/);
  assert.equal(b.process?.pid, 99);
  assert.deepEqual(b.log.syslog?.structured_data?.["exampleSDID@32473"], {
    iut: "3",
    eventSource: 'Appl"ic]ation',
  });
  assert.match(b.log.syslog!.structured_data!.origin.ip, /^ip_/);
  const c = parseLine("<13>1 - - - - - -", ctx);
  assert.equal(c["@timestamp"], now.toISOString());
  assert.equal(c.message, undefined);
});

Deno.test("RFC 3164 lines parse; the year comes from the reference clock", () => {
  const r = parseLine(
    "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
    ctx,
  );
  assert.equal(r["@timestamp"], "2026-10-11T22:14:15.000Z");
  assert.deepEqual(r.process, { name: "su", pid: 230 });
  assert.equal(
    r.message,
    `'su ${anon.user("root")}' failed for ${anon.user("lonvick")} on /dev/pts/8`,
  );
  assert.equal(r.log.format, "rfc3164");
  const dec = parseLine("<13>Dec 31 23:59:59 host cron: tick", ctx);
  assert.equal(dec["@timestamp"], "2025-12-31T23:59:59.000Z");
  const padded = parseLine("<13>Feb  5 01:02:03 host kernel: x", ctx);
  assert.equal(padded["@timestamp"], "2026-02-05T01:02:03.000Z");
});

Deno.test("combined access log parses and pseudonymises client and user", () => {
  const r = parseLine(
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?token=abc123 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
    ctx,
  );
  assert.equal(r["@timestamp"], "2000-10-10T20:55:36.000Z");
  assert.equal(r.source?.ip, anon.ip("127.0.0.1"));
  assert.equal(r.user?.name, anon.user("frank"));
  assert.deepEqual(r.http, {
    version: "1.0",
    request: { method: "GET", referrer: "http://www.example.com/start.html" },
    response: { status_code: 200, body: { bytes: 2326 } },
  });
  assert.equal(r.url?.original, "/apache_pb.gif?token=[REDACTED:secret]");
  assert.equal(r.user_agent?.original, "Mozilla/4.08 [en] (Win98; I ;Nav)");
});

Deno.test("JSON lines map known keys and keep the rest as scrubbed labels", () => {
  const r = parseLine(
    '{"time":1700000000,"level":30,"msg":"hi bob@example.com","remote_addr":"2001:db8::1","username":"bob","req":{"id":"x1","ip2":"10.9.9.9"}}',
    ctx,
  );
  assert.equal(r["@timestamp"], "2023-11-14T22:13:20.000Z");
  assert.equal(r.log.level, "info");
  assert.equal(r.message, "hi [REDACTED:email]");
  assert.equal(r.source?.ip, anon.ip("2001:db8::1"));
  assert.equal(r.user?.name, anon.user("bob"));
  assert.deepEqual(r.labels, { "req.id": "x1", "req.ip2": anon.ip("10.9.9.9") });
});

Deno.test("failures carry a reason that says what was expected and what was got", () => {
  const cases: [string, RegExp][] = [
    ["<999>Oct 11 22:14:15 h x", /PRI 0\.\.191, got "999"/],
    ["<13>1 2003-13-11T22:14:15Z h a p m -", /RFC 3339 TIMESTAMP, got "2003-13-11T22:14:15Z"/],
    ['{"a":', /^json: /],
    ["hello world", /unrecognised format/],
    ["", /empty line/],
    ['1.2.3.4 - - [99/Foo/2026:25:61:00 +0000] "GET / HTTP/1.1" 200 12', /combined: expected/],
  ];
  for (const [line, reason] of cases) {
    assert.throws(
      () => parseLine(line, ctx),
      (e) => e instanceof ParseError && reason.test(e.message),
      line,
    );
  }
});

Deno.test("processBatch: every generated line is one record or one dead letter, none raw", () => {
  const gen = new LogGenerator({ random: seededRandom(42), malformedRatio: 0.05 });
  const lines = Array.from({ length: 5000 }, () => gen.next());
  const out = processBatch(lines, { anon, run: "run1", seq: 3, now });
  assert.equal(out.count + out.dead.length, lines.length);
  assert.ok(out.dead.length > 100 && out.dead.length < 500, `dead ${out.dead.length}`);
  const records = out.ndjson.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(records.length, out.count);
  const ids = new Set(records.map((r) => r.event.id));
  assert.equal(ids.size, records.length);
  for (const d of out.dead) assert.ok(!ids.has(`run1-3-${d.index}`));
  const stored = out.ndjson + JSON.stringify(out.dead);
  for (const ip of gen.addresses) assert.ok(!stored.includes(ip), `raw address ${ip} survived`);
  for (const user of gen.users) assert.ok(!stored.includes(user), `raw user ${user} survived`);
  for (const f of ["rfc5424", "rfc3164", "combined", "json"]) {
    assert.ok(records.some((r) => r.log.format === f), f);
  }
  const oversize = processBatch(["x".repeat(10)], {
    anon,
    run: "r",
    seq: 0,
    oversize: new Map([[0, 99999]]),
    maxLineBytes: 10,
  });
  assert.equal(oversize.dead[0].reason, "line too long: expected at most 10 bytes, got 99999");
});
