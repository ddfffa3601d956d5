import assert from "node:assert/strict";
import { tableMarkdown, validateTable } from "@lib/patterns/mod.ts";
import { RECORD_STATES, WORKER_STATES } from "./lifecycle_tables.ts";

/** Table rows as trimmed cells (deno fmt pads markdown tables; the cells are what count). */
function rows(markdown: string): string[] {
  return markdown.split("\n")
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) => l.split("|").map((c) => c.trim()).join("|"));
}

Deno.test("the state tables are valid and SUMMARY.md prints them as they are", async () => {
  const summary = rows(await Deno.readTextFile(new URL("../SUMMARY.md", import.meta.url)));
  for (const table of [RECORD_STATES, WORKER_STATES]) {
    validateTable(table);
    for (const row of rows(tableMarkdown(table))) {
      assert.ok(summary.includes(row), `SUMMARY.md lacks the row ${row}`);
    }
  }
});
