import assert from "node:assert/strict";
import { type HostProbe, runOperation } from "./operations.ts";

const probe: HostProbe = {
  hostname: () => "node-7",
  os: () => "linux",
  arch: () => "x86_64",
  loadavg: () => [5, 1, 1],
  cpus: () => 2,
  memory: () => ({ total: 1000, free: 10 }),
  uptimeSeconds: () => 12.4,
  now: () => 42,
};

Deno.test("facts and health checks read the injected host", () => {
  assert.deepEqual(runOperation("facts", {}, probe), {
    ok: true,
    result: { hostname: "node-7", os: "linux", arch: "x86_64", cpus: 2, uptime_s: 12 },
  });
  assert.deepEqual(runOperation("health", { check: "loadavg" }, probe), {
    ok: true,
    result: { check: "loadavg", status: "fail", load1: 5, limit: 4 },
  });
  assert.equal(
    (runOperation("health", { check: "memory" }, probe) as { result: { status: string } }).result
      .status,
    "fail",
  );
});

Deno.test("operations outside the allow-list are refused", () => {
  const shell = runOperation("shell", { cmd: "id" }, probe);
  assert.equal(shell.ok, false);
  assert.match((shell as { error: string }).error, /unknown operation/);
  assert.equal(runOperation("health", { check: "rm -rf" }, probe).ok, false);
});
