import assert from "node:assert/strict";
import { listLinuxProcesses } from "./linux_processes.ts";
import { denoProcFiles, libcProcFiles } from "./proc_files.ts";
import {
  buildProcProcess,
  parseCmdline,
  parseMeminfo,
  parsePasswd,
  parseProcStat,
  parseProcStatus,
  parseUptime,
} from "./proc_parser.ts";

const fixtures = new URL("./testdata/", import.meta.url).pathname;
const read = (p: string) => Deno.readTextFileSync(`${fixtures}${p}`);

Deno.test("proc parser: stat keeps a command name with spaces and parentheses", () => {
  const st = parseProcStat(read("proc/4242/stat"));
  assert.deepEqual(st, {
    pid: 4242,
    comm: "my (odd) app",
    state: "R",
    ppid: 1,
    cpuTicks: 50000,
    threads: 7,
    startTicks: 900000,
    rssPages: 25000,
  });
});

Deno.test("proc parser: stat rejects text that is not a stat line", () => {
  assert.throws(
    () => parseProcStat("hello"),
    /expected "<pid> \(<comm>\) <fields...>", got "hello"/,
  );
  assert.throws(() => parseProcStat("1 (x) S"), /expected a number in field 4, got undefined/);
});

Deno.test("proc parser: status gives name, real uid and VmRSS in bytes", () => {
  assert.deepEqual(parseProcStatus(read("proc/1/status")), {
    name: "systemd",
    uid: 0,
    rssBytes: 12000 * 1024,
  });
  assert.deepEqual(parseProcStatus(read("proc/2/status")), {
    name: "kthreadd",
    uid: 0,
    rssBytes: null,
  });
});

Deno.test("proc parser: cmdline, meminfo, uptime, passwd", () => {
  assert.equal(parseCmdline(read("proc/4242/cmdline")), "deno run --allow-read main.ts");
  assert.equal(parseCmdline(""), "");
  const mem = parseMeminfo(read("proc/meminfo"));
  assert.equal(mem.MemTotal, 8000000 * 1024);
  assert.equal(mem.HugePages_Total, 0);
  assert.equal(parseUptime(read("proc/uptime")), 10000);
  assert.throws(() => parseUptime("x"), /expected "<seconds> <idle>", got "x"/);
  const users = parsePasswd(read("passwd"));
  assert.equal(users.get(0), "root");
  assert.equal(users.get(1000), "alice");
  assert.equal(users.size, 2);
});

Deno.test("proc parser: cpu is the lifetime average, mem the share of MemTotal", () => {
  const ctx = { uptime: 10000, memTotal: 8000000 * 1024, users: new Map([[1000, "alice"]]) };
  const p = buildProcProcess(
    read("proc/4242/stat"),
    read("proc/4242/status"),
    read("proc/4242/cmdline"),
    ctx,
  );
  assert.deepEqual(p, {
    pid: 4242,
    ppid: 1,
    user: "alice",
    state: "R",
    cpu: 50, // 500 s of CPU over 1000 s of life
    mem: 5, // 400000 kB of 8000000 kB
    rss: 400000 * 1024,
    threads: 7,
    name: "my (odd) app",
    command: "deno run --allow-read main.ts",
  });
});

Deno.test("proc parser: lists a fixture /proc tree, skipping vanished processes", () => {
  const list = listLinuxProcesses({
    files: denoProcFiles(),
    procRoot: `${fixtures}proc`,
    passwdPath: `${fixtures}passwd`,
  });
  assert.deepEqual(list.map((p) => p.pid), [1, 2, 4242, 31337], "999 has no stat: skipped");
  const [init, kthread, , sleeper] = list;
  assert.equal(init.cpu, 2); // 199.99 s over 9999 s
  assert.equal(init.command, "/sbin/init splash");
  assert.equal(init.user, "root");
  assert.equal(kthread.command, "[kthreadd]", "kernel threads show [comm] like ps");
  assert.equal(kthread.rss, 0);
  assert.equal(sleeper.user, "5555", "a uid without a passwd entry stays numeric");
  assert.equal(sleeper.cpu, 0.2);
  assert.equal(sleeper.mem, 0.01);
});

Deno.test({
  name: "proc parser: the real /proc, read through libc, lists this very process",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const list = listLinuxProcesses({ files: libcProcFiles() });
    const me = list.find((p) => p.pid === Deno.pid);
    assert.ok(me, `pid ${Deno.pid} not in ${list.length} processes`);
    assert.match(me.command, /deno/);
    assert.ok(me.rss !== null && me.rss > 0);
  },
});

Deno.test({
  name: "proc parser: the libc reader returns null for what does not exist",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const files = libcProcFiles();
    assert.equal(files.readText("/proc/999999999/stat"), null);
    assert.equal(files.list("/proc/999999999"), null);
    assert.match(files.readText("/proc/self/stat")!, /^\d+ \(/);
    assert.match(files.readText("/proc/uptime")!, /^\d+\.\d+ \d+\.\d+\n$/);
    const big = files.readText("/proc/self/maps")!;
    assert.ok(big.split("\n").length > 10, "multi-chunk reads are joined");
  },
});
