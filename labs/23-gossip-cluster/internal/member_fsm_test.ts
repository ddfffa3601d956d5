import assert from "node:assert/strict";
import { tableMarkdown } from "@lib/patterns/fsm.ts";
import { MEMBER_TABLE, transition } from "./member_fsm.ts";

Deno.test("member table: incarnation guards decide every transition", () => {
  assert.deepEqual(transition("alive", "alive", 2, 1), { next: "alive", action: "update" });
  assert.equal(transition("alive", "alive", 1, 1), null);
  assert.deepEqual(transition("alive", "suspect", 1, 1), {
    next: "suspect",
    action: "start_suspicion",
  });
  assert.equal(transition("alive", "suspect", 0, 1), null, "a stale suspicion");
  assert.equal(
    transition("suspect", "alive", 1, 1),
    null,
    "a refutation needs a newer incarnation",
  );
  assert.deepEqual(transition("suspect", "timeout", 1, 1), {
    next: "dead",
    action: "declare_dead",
  });
  assert.equal(transition("dead", "suspect", 5, 1), null);
  assert.deepEqual(transition("left", "alive", 2, 1), { next: "alive", action: "rejoin" });
});

Deno.test("SUMMARY.md prints the member table as the code has it", async () => {
  const summary = await Deno.readTextFile(new URL("../SUMMARY.md", import.meta.url));
  // deno fmt pads Markdown tables: compare without the padding.
  const squash = (text: string) => text.replace(/ +/g, " ").replace(/-{3,}/g, "---");
  assert.ok(squash(summary).includes(squash(tableMarkdown(MEMBER_TABLE))));
});
