import assert from "node:assert/strict";
import { parsePsOutput, parseTasklistCsv } from "./ps_output_parser.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`./testdata/${p}`, import.meta.url));

Deno.test("ps output parser: macOS ps rows, command with spaces, garbage skipped", () => {
  const list = parsePsOutput(read("ps_macos.txt"));
  assert.deepEqual(list.map((p) => p.pid), [1, 501, 777]);
  assert.deepEqual(list[1], {
    pid: 501,
    ppid: 1,
    user: "alice",
    cpu: 12.5,
    mem: 1.2,
    rss: 204800 * 1024,
    state: "R",
    threads: null,
    name: "My",
    command: "/Applications/My App.app/Contents/MacOS/My App --flag",
  });
  assert.equal(list[0].state, "S", "only the first state letter is kept");
  assert.equal(list[2].name, "sleep");
});

Deno.test("ps output parser: tasklist CSV with localised memory and quoted quotes", () => {
  const list = parseTasklistCsv(read("tasklist.csv"));
  assert.deepEqual(list.map((p) => [p.pid, p.name, p.rss]), [
    [0, "System Idle Process", 8 * 1024],
    [4, "System", 1204 * 1024],
    [4242, "deno.exe", 52116 * 1024],
    [77, 'odd "quoted".exe', 1024 * 1024],
  ]);
  assert.equal(list[2].cpu, null, "tasklist has no CPU column");
  assert.deepEqual(parseTasklistCsv("INFO: No tasks are running.\r\n"), []);
});
