import assert from "node:assert/strict";
import { classify, DEFAULT_THRESHOLDS, HealthSampler, type HostSource } from "./health_sampler.ts";

function host(load1: number, usedPct: number, cpus = 2): HostSource {
  const total = 8 * 1024 * 1048576;
  return {
    loadavg: () => [load1, 0.5, 0.25],
    memory: () => ({ total, available: total * (1 - usedPct / 100) }),
    uptime: () => 3600.4,
    cpus,
  };
}

Deno.test("sample turns host figures into metrics", () => {
  const { status, metrics } = new HealthSampler(host(0.5, 40)).sample();
  assert.equal(status, "ok");
  assert.deepEqual(metrics, {
    load1: 0.5,
    load5: 0.5,
    load15: 0.25,
    cpus: 2,
    mem_total_mb: 8192,
    mem_available_mb: 4915,
    mem_used_pct: 40,
    uptime_s: 3600,
  });
});

Deno.test("status is the worse of load per CPU and memory", () => {
  assert.equal(new HealthSampler(host(3.2, 40)).sample().status, "warning"); // 1.6 per CPU
  assert.equal(new HealthSampler(host(6.5, 40)).sample().status, "critical");
  assert.equal(new HealthSampler(host(0.1, 92)).sample().status, "warning");
  assert.equal(new HealthSampler(host(3.2, 98)).sample().status, "critical");
  assert.equal(classify({}, DEFAULT_THRESHOLDS), "ok");
});

Deno.test("the real host can be sampled (needs --allow-sys)", async () => {
  const { denoHost } = await import("./health_sampler.ts");
  const { metrics } = new HealthSampler(denoHost()).sample();
  assert.ok(metrics.mem_total_mb > 0);
  assert.ok(metrics.uptime_s > 0);
});
