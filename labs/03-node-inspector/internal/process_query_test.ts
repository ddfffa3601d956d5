import assert from "node:assert/strict";
import type { ProcessInfo } from "./process_info.ts";
import { queryProcesses } from "./process_query.ts";

const proc = (pid: number, name: string, cpu: number | null, rss: number | null): ProcessInfo => ({
  pid,
  ppid: 1,
  user: pid === 30 ? "alice" : "root",
  state: "S",
  cpu,
  mem: null,
  rss,
  threads: 1,
  name,
  command: `/usr/bin/${name} --x`,
});

const list = [
  proc(10, "sshd", 0.5, 5000),
  proc(20, "postgres", 7, 90000),
  proc(30, "Deno", 7, 40000),
  proc(40, "kworker", null, null),
];

Deno.test("process query: cpu sort is descending with pid as tie-break, nulls last", () => {
  const r = queryProcesses(list, {});
  assert.deepEqual(r.processes.map((p) => p.pid), [20, 30, 10, 40]);
  assert.equal(r.sort, "cpu");
  assert.equal(r.total, 4);
  assert.equal(r.matched, 4);
});

Deno.test("process query: mem sort by rss, pid sort ascending, top-N", () => {
  assert.deepEqual(queryProcesses(list, { sort: "mem" }).processes.map((p) => p.pid), [
    20,
    30,
    10,
    40,
  ]);
  const r = queryProcesses(list, { sort: "pid", top: 2 });
  assert.deepEqual(r.processes.map((p) => p.pid), [10, 20]);
  assert.equal(r.matched, 4, "matched counts before top-N");
});

Deno.test("process query: filter is a pid when all digits, else a case-insensitive substring", () => {
  assert.deepEqual(queryProcesses(list, { filter: "deno" }).processes.map((p) => p.pid), [30]);
  assert.deepEqual(queryProcesses(list, { filter: "ALICE" }).processes.map((p) => p.pid), [30]);
  assert.deepEqual(queryProcesses(list, { filter: "--x" }).matched, 4);
  assert.deepEqual(queryProcesses(list, { filter: "40" }).processes.map((p) => p.pid), [40]);
  assert.deepEqual(queryProcesses(list, { filter: "4" }).processes, [], "no substring of pids");
  const none = queryProcesses(list, { filter: "nothing-like-this" });
  assert.deepEqual([none.total, none.matched, none.processes], [4, 0, []]);
});
