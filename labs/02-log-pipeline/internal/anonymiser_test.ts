import assert from "node:assert/strict";
import { PATHOLOGICAL_LINES } from "../testing.ts";
import { Anonymiser, canonicalIpv6, luhnValid, ScrubBudgetError } from "./anonymiser.ts";

const SECRET = "unit-test-secret-0123456789";

Deno.test("luhn accepts real test card numbers and rejects one digit off", () => {
  assert.equal(luhnValid("4111111111111111"), true);
  assert.equal(luhnValid("5500000000000004"), true);
  assert.equal(luhnValid("4111111111111112"), false);
  assert.equal(luhnValid(""), false);
});

Deno.test("IPv6 canonical form follows RFC 5952", () => {
  assert.equal(canonicalIpv6("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canonicalIpv6("2001:db8::1"), "2001:db8::1");
  assert.equal(canonicalIpv6("::ffff:10.0.0.1"), "::ffff:a00:1");
  assert.equal(canonicalIpv6("12:34:56"), null);
  assert.equal(canonicalIpv6("1::2::3"), null);
});

Deno.test("pseudonyms are keyed: same input and secret give the same token", () => {
  const a = new Anonymiser(SECRET);
  const b = new Anonymiser(SECRET);
  const c = new Anonymiser("another-secret-0123456789");
  assert.match(a.ip("10.1.2.3")!, /^ip_[0-9a-f]{16}$/);
  assert.equal(a.ip("10.1.2.3"), b.ip("10.1.2.3"));
  assert.notEqual(a.ip("10.1.2.3"), c.ip("10.1.2.3"));
  assert.equal(a.ip("2001:DB8::0:1"), a.ip("2001:db8::1"));
  assert.equal(a.user("alice"), b.user("alice"));
  assert.notEqual(a.user("alice"), a.user("Alice"));
  assert.equal(a.ip("not-an-ip"), null);
  assert.throws(() => new Anonymiser("short"), /at least 16 bytes, got 5/);
});

Deno.test("scrub redacts emails, cards, secrets and pseudonymises addresses and users", () => {
  const anon = new Anonymiser(SECRET);
  const cases: [string, RegExp, string[]][] = [
    ["mail bob.x@example.co.uk now", /mail \[REDACTED:email\] now/, ["bob.x@"]],
    ["card=4111 1111 1111 1111 ok", /\[REDACTED:card\]/, ["4111"]],
    ["order 4111111111111112 not a card", /4111111111111112/, []],
    ["password=hunter2&x=1", /password=\[REDACTED:secret\]&x=1/, ["hunter2"]],
    ["Authorization: Bearer abcdef0123456789", /Bearer \[REDACTED:secret\]/, ["abcdef0123"]],
    ["key AKIAIOSFODNN7EXAMPLE", /\[REDACTED:secret\]/, ["AKIA"]],
    [
      "Failed password for invalid user bob.smith from 10.0.0.7 port 22",
      /user user_\w+ from ip_\w+ port/,
      ["bob.smith", "10.0.0.7"],
    ],
    [
      "client: 2001:db8::7, addr:fe80::1:2 [2001:db8::8]:443",
      /client: ip_\w+, addr:ip_\w+ \[ip_\w+\]:443/,
      ["db8", "fe80"],
    ],
    ["at 22:14:15 and 00:1a:2b:3c:4d:5e", /22:14:15 and 00:1a:2b:3c:4d:5e/, []],
    ["(jdoe) CMD (backup)", /^\(user_\w+\) CMD/, ["jdoe"]],
    ["Started Session 4 of User eve.s.", /User user_\w+\.$/, ["eve.s"]],
  ];
  for (const [input, expected, gone] of cases) {
    const out = anon.text(input);
    assert.match(out, expected, input);
    for (const g of gone) assert.ok(!out.includes(g), `${g} survived in ${out}`);
  }
  assert.equal(anon.scrub("Accepted publickey for alice from 10.0.0.1 port 5").user, "alice");
});

Deno.test("user names inside the RFC 3164/5424 example messages and sudo lines are pseudonymised", () => {
  const anon = new Anonymiser(SECRET);
  const u = (name: string) => anon.user(name);
  const cases: [string, string][] = [
    [
      "'su root' failed for lonvick on /dev/pts/8",
      `'su ${u("root")}' failed for ${u("lonvick")} on /dev/pts/8`,
    ],
    [
      "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
      `${u("alice")} : TTY=pts/0 ; PWD=[REDACTED:secret] ; USER=${u("root")} ; COMMAND=/bin/ls`,
    ],
    ["su - bob", `su - ${u("bob")}`],
    ["cd /home/carol/x", `cd /home/${u("carol")}/x`],
  ];
  for (const [input, expected] of cases) assert.equal(anon.text(input), expected);
});

Deno.test("scrub is linear: pathological 16 KB lines finish fast and leak nothing", () => {
  const anon = new Anonymiser(SECRET);
  for (const [name, line] of PATHOLOGICAL_LINES) {
    const t0 = performance.now();
    let out: string;
    try {
      out = anon.text(line);
    } catch (error) {
      // The budget may stop a line: that is a dead letter, never a hung parser.
      assert.ok(error instanceof ScrubBudgetError, `${name}: ${error}`);
      out = "";
    }
    const ms = performance.now() - t0;
    // Generous: the old regexes took seconds to minutes on these; the scanners ~1-20 ms.
    assert.ok(
      ms < 500,
      `${name}: expected < 500 ms for ${line.length} chars, got ${ms.toFixed(0)}`,
    );
    assert.ok(out === "" || !/[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}/.test(out), `${name}: IPv6 left`);
  }
  // The results are still right where there is something to find.
  assert.equal(anon.text("mail " + "a".repeat(9000) + "@x.org"), "mail [REDACTED:email]");
  assert.match(anon.text(":".repeat(4000) + "fe80::1"), /^:+ip_[0-9a-f]{16}$/);
});

Deno.test("the scrub budget stops a text that needs more steps than allowed", () => {
  const tight = new Anonymiser(SECRET, { stepsPerChar: 1, stepsBase: 0 });
  const line = "0:".repeat(200) + " fe80::1";
  assert.throws(() => tight.scrub(line), ScrubBudgetError);
  assert.throws(() => tight.scrub(line), /budget exceeded: expected at most 408 steps for 408/);
  // The default budget is far above what real text needs.
  assert.match(new Anonymiser(SECRET).text(line), /ip_/);
});
