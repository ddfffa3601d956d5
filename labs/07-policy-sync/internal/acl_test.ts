import assert from "node:assert/strict";
import { checkKey, formatRule, loadPolicies, parsePolicy, parsePolicyFile } from "./acl.ts";

Deno.test("parsePolicy: every rule form, comments, first error names the line", () => {
  const r = parsePolicy(
    "# web\nallow tcp from 10.0.0.0/8 to 10.0.1.10 port 443\nallow udp from any to any port 1000-2000\ndeny any from any to any # rest\n",
  );
  assert.ok(r.ok);
  assert.equal(r.rules.length, 3);
  assert.deepEqual(r.rules[1].ports, [1000, 2000]);
  assert.equal(formatRule(r.rules[0]), "allow tcp from 10.0.0.0/8 to 10.0.1.10 port 443");
  const bad = [
    ["permit everything", /line 1: expected <allow\|deny>/],
    ["allow tcp from any to any\nallow tcp from 300.1.1.1 to any", /line 2: .*IPv4/],
    ["allow icmp from any to any port 22", /port only with tcp or udp/],
    ["allow tcp from any to any port 70000", /port 1..65535/],
    ["allow tcp from any to any port 9-3", /lo-hi/],
    ["allow tcp from 10.0.0.0/33 to any", /CIDR/],
    ["# nothing\n", /at least one rule/],
  ] as const;
  for (const [body, error] of bad) {
    const res = parsePolicy(body);
    assert.equal(res.ok, false, body);
    if (!res.ok) assert.match(res.error, error);
  }
});

Deno.test("checkKey: /acl/ paths only", () => {
  assert.equal(checkKey("/acl/dmz/web-1.a_b"), undefined);
  for (const bad of ["/acl", "/acl/", "acl/x", "/other/x", "/acl/a b", "/acl//x"]) {
    assert.ok(checkKey(bad), bad);
  }
});

Deno.test("policy files: sections, duplicates, rules before a section, bad policy", () => {
  const p = parsePolicyFile(
    "# top comment\n[/acl/a]\ndeny any from any to any\n\n[/acl/b]\nallow tcp from any to any port 1\n",
    "f.acl",
  );
  assert.deepEqual(p.map((x) => x.key), ["/acl/a", "/acl/b"]);
  assert.throws(
    () =>
      parsePolicyFile(
        "[/acl/a]\ndeny any from any to any\n[/acl/a]\ndeny any from any to any",
        "f",
      ),
    /duplicate/,
  );
  assert.throws(() => parsePolicyFile("deny any from any to any\n", "f"), /section first/);
  assert.throws(
    () => parsePolicyFile("[/acl/a]\nnonsense\n", "f"),
    /policy \/acl\/a \(line 1\): line 1/,
  );
  assert.throws(() => parsePolicyFile("[bad]\n", "f"), /key: expected/);
});

Deno.test("loadPolicies: a directory of *.acl files, a key defined twice is an error", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/a.acl`, "[/acl/a]\ndeny any from any to any\n");
    Deno.writeTextFileSync(`${dir}/sub/b.acl`, "[/acl/b]\ndeny any from any to any\n");
    Deno.writeTextFileSync(`${dir}/notes.txt`, "ignored");
    assert.deepEqual(loadPolicies(dir).map((p) => p.key), ["/acl/a", "/acl/b"]);
    Deno.writeTextFileSync(`${dir}/c.acl`, "[/acl/a]\ndeny any from any to any\n");
    assert.throws(() => loadPolicies(dir), /also defined/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
