import assert from "node:assert/strict";
import { parsePolicy } from "./acl.ts";
import { renderView } from "./view.ts";

Deno.test("view: header, sorted rows, first rule", () => {
  const rules = (text: string) => {
    const r = parsePolicy(text);
    if (!r.ok) throw new Error(r.error);
    return r.rules;
  };
  const table = new Map([
    ["/acl/z", { body: "", rules: rules("deny any from any to any"), sequence: 9 }],
    ["/acl/a", {
      body: "",
      rules: rules("allow tcp from any to any port 22\ndeny any from any to any"),
      sequence: 5,
    }],
  ]);
  const lines = renderView({
    version: 9,
    fingerprint: "abcd0123",
    server: "tcp://h:1",
    state: "active",
    subtree: "/acl/",
  }, table);
  assert.match(
    lines[0],
    /^policy version 9 · 2 policies · fingerprint abcd0123 · tcp:\/\/h:1 · active · subtree \/acl\/$/,
  );
  assert.match(lines[2], /^\/acl\/a\s+2\s+5\s+allow tcp from any to any port 22 …$/);
  assert.match(lines[3], /^\/acl\/z\s+1\s+9\s+deny any from any to any$/);
  assert.equal(
    renderView(
      { ...{ version: 0, fingerprint: "", server: "", state: "syncing", subtree: "" } },
      table,
      1,
    ).at(-1),
    "… 1 more",
  );
});
