import assert from "node:assert/strict";
import { HostNode } from "./host_node.ts";
import type { HealthSample } from "./health_sampler.ts";

Deno.test("the host node numbers its beats and carries the sampled status", () => {
  const samples: HealthSample[] = [
    { status: "ok", metrics: { load1: 0.1 } },
    { status: "critical", metrics: { load1: 9 } },
  ];
  let i = 0;
  const host = new HostNode({
    rack: "A",
    node: "web-1",
    bootId: "boot-x",
    sampler: { sample: () => samples[i++] },
    now: () => 1234,
  });
  assert.deepEqual(host.tick(), [{
    node: "web-1",
    rack: "A",
    seq: 0,
    boot_id: "boot-x",
    ts: 1234,
    status: "ok",
    metrics: { load1: 0.1 },
  }]);
  const [second] = host.tick();
  assert.equal(second.seq, 1);
  assert.equal(second.status, "critical");
});
