import assert from "node:assert/strict";
import { generateLines, LogGenerator } from "./generator.ts";
import { seededRandom } from "@lib/random/mod.ts";

Deno.test("the same seed gives the same traffic; every format and the malformed share appear", () => {
  const a = new LogGenerator({ random: seededRandom(5), malformedRatio: 0.1 });
  const b = new LogGenerator({ random: seededRandom(5), malformedRatio: 0.1 });
  const la = Array.from({ length: 2000 }, () => a.next());
  assert.deepEqual(la, Array.from({ length: 2000 }, () => b.next()));
  assert.ok(la.some((l) => /^<\d+>1 /.test(l)), "RFC 5424");
  assert.ok(la.some((l) => /^<\d+>[A-Z][a-z]{2} /.test(l)), "RFC 3164");
  assert.ok(la.some((l) => l.startsWith("{")), "JSON");
  assert.ok(la.some((l) => /\] "(GET|POST|PUT|DELETE) /.test(l)), "combined");
  assert.ok(la.some((l) => a.addresses.some((ip) => ip.includes(":") && l.includes(ip))), "IPv6");
  const other = new LogGenerator({ random: seededRandom(6) });
  assert.notDeepEqual(la.slice(0, 10), Array.from({ length: 10 }, () => other.next()));
});

Deno.test("generateLines yields count lines and is paced by rate", async () => {
  const lines = [];
  const t0 = performance.now();
  for await (const l of generateLines({ count: 21, random: seededRandom(1), rate: 200 })) {
    lines.push(l);
  }
  assert.equal(lines.length, 21);
  assert.ok(performance.now() - t0 >= 90, "20 intervals of 5 ms");
  const ac = new AbortController();
  ac.abort();
  const none = [];
  for await (const l of generateLines({ count: 5, random: seededRandom(1), signal: ac.signal })) {
    none.push(l);
  }
  assert.equal(none.length, 0);
});
