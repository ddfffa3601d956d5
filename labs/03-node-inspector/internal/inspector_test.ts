import assert from "node:assert/strict";
import { decode, encode, s } from "@lib/codec/mod.ts";
import { Inspector } from "./inspector.ts";
import type { ProcessInfo } from "./process_info.ts";
import { encodeRequest } from "./protocol.ts";
import { type SystemProbe, UnsupportedError } from "./system_probe.ts";

const proc = (pid: number, cpu: number): ProcessInfo => ({
  pid,
  ppid: 1,
  user: "root",
  state: "S",
  cpu,
  mem: 0.1,
  rss: 1000 * pid,
  threads: 1,
  name: `p${pid}`,
  command: `/bin/p${pid}`,
});

function fakeProbe(overrides: Partial<SystemProbe> = {}): SystemProbe {
  return {
    info: () =>
      Promise.resolve({
        host: "h1",
        os: "linux",
        arch: "x86_64",
        release: "6.1",
        uptime: 100,
        load: [0.1, 0.2, 0.3],
        cpus: 2,
        agent: { pid: 42, version: "1.0.0", uptime: 1 },
      }),
    mem: () =>
      Promise.resolve({
        total: 100,
        free: 10,
        available: 40,
        used: 60,
        buffers: 1,
        cached: 2,
        swapTotal: 0,
        swapFree: 0,
      }),
    processes: () => Promise.resolve([proc(1, 0.5), proc(2, 9), proc(3, 3)]),
    disks: () => Promise.resolve([]),
    ...overrides,
  };
}

// deno-lint-ignore no-explicit-any
const body = (bytes: Uint8Array): any => decode(bytes, s.unknown());

Deno.test("inspector: every allow-listed command answers ok with its data", async () => {
  const inspector = new Inspector(fakeProbe(), () => 1234);
  const ping = await inspector.handle([encodeRequest("ping")]);
  assert.deepEqual(body(ping.reply), { v: 1, ok: true, data: { pong: true, time: 1234 } });
  assert.equal(ping.cmd, "ping");
  assert.equal(body((await inspector.handle([encodeRequest("info")])).reply).data.host, "h1");
  assert.equal(body((await inspector.handle([encodeRequest("mem")])).reply).data.used, 60);
  assert.deepEqual(body((await inspector.handle([encodeRequest("disk")])).reply).data, {
    filesystems: [],
  });
  const ps = body((await inspector.handle([encodeRequest("ps", { top: 2 })])).reply).data;
  assert.deepEqual(ps.processes.map((p: ProcessInfo) => p.pid), [2, 3]);
  assert.deepEqual([ps.total, ps.matched, ps.sort], [3, 3, "cpu"]);
});

Deno.test("inspector: ps hides secrets passed as flags", async () => {
  const agent = { ...proc(7, 1), command: "deno run node_agent.ts --curve-secret S3cr3t --bind x" };
  const inspector = new Inspector(fakeProbe({ processes: () => Promise.resolve([agent]) }));
  const ps = body((await inspector.handle([encodeRequest("ps")])).reply).data;
  assert.equal(ps.processes[0].command, "deno run node_agent.ts --curve-secret *** --bind x");
  assert.ok(!JSON.stringify(ps).includes("S3cr3t"));
});

Deno.test("inspector: refusals are structured replies with a code and a message", async () => {
  const inspector = new Inspector(fakeProbe());
  const unknown = await inspector.handle([encodeRequest("shutdown")]);
  assert.equal(unknown.ok, false);
  assert.equal(unknown.code, "unknown_command");
  assert.deepEqual(body(unknown.reply), {
    v: 1,
    ok: false,
    error: {
      code: "unknown_command",
      message: 'expected one of info, mem, ps, disk, ping, got "shutdown"',
    },
  });
  const garbage = await inspector.handle([new Uint8Array([0xc1, 0xff])]);
  assert.equal(garbage.code, "bad_message");
  assert.equal(body(garbage.reply).error.code, "bad_message");
  const frames = await inspector.handle([encodeRequest("ping"), encodeRequest("ping")]);
  assert.equal(frames.code, "bad_message");
  assert.match(frames.message!, /expected 1 frame, got 2/);
  const args = await inspector.handle([encodeRequest("ps", { sort: "name" })]);
  assert.equal(args.code, "bad_args");
  assert.equal(args.cmd, "ps");
  const version = await inspector.handle([encode({ v: 0, cmd: "ping", args: {} })]);
  assert.equal(version.code, "unsupported_version");
});

Deno.test("inspector: a failing probe becomes internal or unsupported, never a throw", async () => {
  const inspector = new Inspector(fakeProbe({
    disks: () => Promise.reject(new UnsupportedError("df is not installed on this host")),
    mem: () => Promise.reject(new Error("boom")),
  }));
  const disk = await inspector.handle([encodeRequest("disk")]);
  assert.deepEqual(body(disk.reply).error, {
    code: "unsupported",
    message: "df is not installed on this host",
  });
  const mem = await inspector.handle([encodeRequest("mem")]);
  assert.deepEqual(body(mem.reply).error, { code: "internal", message: "boom" });
});
