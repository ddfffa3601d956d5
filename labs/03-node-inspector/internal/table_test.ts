import assert from "node:assert/strict";
import { formatBytes, formatDuration, formatTable } from "./table.ts";

Deno.test("table: columns align, long cells are cut, no trailing blanks", () => {
  const lines = formatTable(
    [{ header: "PID", align: "r" }, { header: "NAME", max: 6 }, { header: "X" }],
    [["1", "init", ""], ["4242", "a-very-long-name", "y"]],
  );
  assert.deepEqual(lines, [
    " PID  NAME    X",
    "   1  init",
    "4242  a-ver…  y",
  ]);
});

Deno.test("table: bytes and durations for people", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(8 * 2 ** 30), "8.00 GiB");
  assert.equal(formatBytes(null), "-");
  assert.equal(formatDuration(59), "00:00:59");
  assert.equal(formatDuration(90061), "1d 01:01:01");
});
