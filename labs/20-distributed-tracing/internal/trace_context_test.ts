import assert from "node:assert/strict";
import {
  formatTraceParent,
  formatTraceState,
  isTraceStateKey,
  isTraceStateValue,
  parseTraceParent,
  parseTraceState,
  updateTraceState,
} from "./trace_context.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const P = "00f067aa0ba902b7";

Deno.test("traceparent version 00: parsed, formatted, round trip", () => {
  const got = parseTraceParent(`00-${T}-${P}-01`);
  assert.deepEqual(got, { ok: true, value: { version: "00", traceId: T, parentId: P, flags: 1 } });
  assert.equal(formatTraceParent(T, P, true), `00-${T}-${P}-01`);
  assert.equal(formatTraceParent(T, P, false), `00-${T}-${P}-00`);
  // Unknown flags are read (the sampled bit decides); surrounding OWS is trimmed.
  assert.deepEqual(parseTraceParent(` 00-${T}-${P}-09\t`), {
    ok: true,
    value: { version: "00", traceId: T, parentId: P, flags: 9 },
  });
});

Deno.test("traceparent: every invalid form is refused with its reason (the trace restarts)", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "absent"],
    ["", "absent"],
    [`0-${T}-${P}-01`, "bad_version"],
    [`0g-${T}-${P}-01`, "bad_version"],
    [`0A-${T}-${P}-01`, "bad_version"], // uppercase version
    [`00${T}-${P}-01`, "bad_version"],
    [`ff-${T}-${P}-01`, "version_ff"],
    [`00-${T}-${P}-01-`, "bad_length"], // version 00 is exactly 55 characters
    [`00-${T}-${P}-1`, "bad_length"],
    [`cc-${T}-${P}-1`, "bad_length"], // a future version needs 55 characters too
    [`00-${T.toUpperCase()}-${P}-01`, "bad_trace_id"],
    [`00-${T.slice(1)}x-${P}-01`, "bad_trace_id"],
    [`00-${"0".repeat(32)}-${P}-01`, "zero_trace_id"],
    [`00-${T}-${P.toUpperCase()}-01`, "bad_parent_id"],
    [`00-${T}-${"0".repeat(16)}-01`, "zero_parent_id"],
    [`00-${T}_${P}-01`, "bad_trace_id"],
    [`00-${T}-${P}_01`, "bad_parent_id"],
    [`00-${T}-${P}-0G`, "bad_flags"],
    [`cc-${T}-${P}-01x`, "bad_flags"], // after the flags: the end or a dash
  ];
  for (const [value, error] of cases) {
    assert.deepEqual(parseTraceParent(value), { ok: false, error }, String(value));
  }
});

Deno.test("traceparent: a higher version is parsed as far as version 00 goes (§3.2.4)", () => {
  assert.deepEqual(parseTraceParent(`cc-${T}-${P}-01-what-the-future-will-be-like`), {
    ok: true,
    value: { version: "cc", traceId: T, parentId: P, flags: 1 },
  });
  assert.deepEqual(parseTraceParent(`01-${T}-${P}-00`), {
    ok: true,
    value: { version: "01", traceId: T, parentId: P, flags: 0 },
  });
});

Deno.test("tracestate: members, OWS, empty members, keys and values per the grammar", () => {
  assert.deepEqual(parseTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), {
    ok: true,
    entries: [{ key: "rojo", value: "00f067aa0ba902b7" }, { key: "congo", value: "t61rcWkgMzE" }],
  });
  assert.deepEqual(parseTraceState(" a=1 ,\t, ,b=2 "), {
    ok: true,
    entries: [{ key: "a", value: "1" }, { key: "b", value: "2" }],
  });
  assert.deepEqual(parseTraceState(""), { ok: true, entries: [] });
  assert.ok(isTraceStateKey("fw529a3039@dt"));
  assert.ok(isTraceStateKey("0tenant@sys"));
  assert.ok(isTraceStateKey("a_b-c*d/e"));
  assert.ok(!isTraceStateKey("Upper"));
  assert.ok(!isTraceStateKey("1abc"));
  assert.ok(!isTraceStateKey("t@Sys"));
  assert.ok(!isTraceStateKey("t@s12345678901234")); // system-id at most 14
  assert.ok(!isTraceStateKey("a".repeat(257)));
  assert.ok(isTraceStateKey("a".repeat(256)));
  assert.ok(isTraceStateValue("x y"));
  assert.ok(!isTraceStateValue("x "), "no trailing space");
  assert.ok(!isTraceStateValue("a,b"));
  assert.ok(!isTraceStateValue("a=b"));
  assert.ok(!isTraceStateValue(""));
  assert.ok(isTraceStateValue("v".repeat(256)));
  assert.ok(!isTraceStateValue("v".repeat(257)));
  assert.deepEqual(parseTraceState("a=1,A=2"), { ok: false, error: "bad_member" });
  assert.deepEqual(parseTraceState("a=1,a=2"), { ok: false, error: "duplicate_key" });
  assert.deepEqual(parseTraceState("novalue"), { ok: false, error: "bad_member" });
  const max = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(",");
  assert.equal((parseTraceState(max) as { entries: unknown[] }).entries.length, 32);
  assert.deepEqual(parseTraceState(`${max},k32=v`), { ok: false, error: "too_many_members" });
});

Deno.test("tracestate update: our entry moves to the front, duplicates go, at most 32 (§3.5)", () => {
  const entries = Array.from({ length: 32 }, (_, i) => ({ key: `k${i}`, value: "v" }));
  const updated = updateTraceState(entries, "lab20", "gateway");
  assert.equal(updated.length, 32);
  assert.deepEqual(updated[0], { key: "lab20", value: "gateway" });
  assert.equal(updated.at(-1)!.key, "k30", "the rightmost was dropped");
  const again = updateTraceState(updated, "lab20", "auth");
  assert.equal(again.filter((e) => e.key === "lab20").length, 1);
  assert.equal(formatTraceState(again.slice(0, 2)), "lab20=auth,k0=v");
  assert.throws(() => updateTraceState([], "Bad", "x"), RangeError);
});
