import assert from "node:assert/strict";
import type { BrokerStats } from "./broker.ts";
import { renderTable } from "./table.ts";

const stats: BrokerStats = {
  services: 2,
  workers: 3,
  queued: 4,
  busy: 1,
  requests: 10,
  replies: 9,
  mmi: 1,
  refused: 2,
  requestsExpired: 1,
  workersJoined: 3,
  workersExpired: 0,
  workersLeft: 0,
  disconnectsSent: 0,
  badMessages: 5,
};

Deno.test("renderTable: aligned columns, one row per service, a totals line", () => {
  const text = renderTable([
    {
      service: "echo",
      workers: 2,
      ready: 1,
      busy: 1,
      queued: 0,
      requests: 8,
      replies: 7,
      refused: 0,
      expired: 0,
    },
    {
      service: "slow-service",
      workers: 1,
      ready: 1,
      busy: 0,
      queued: 4,
      requests: 2,
      replies: 2,
      refused: 2,
      expired: 1,
    },
  ], stats);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.match(
    lines[0],
    /^SERVICE\s+WORKERS\s+READY\s+BUSY\s+QUEUED\s+REQUESTS\s+REPLIES\s+REFUSED\s+EXPIRED$/,
  );
  assert.match(lines[2], /^slow-service\s+1\s+1\s+0\s+4\s+2\s+2\s+2\s+1$/);
  // Right-aligned numbers: every row is as wide as the header.
  assert.equal(lines[1].length, lines[0].length);
  assert.equal(lines[2].length, lines[0].length);
  assert.match(lines[3], /services 2 {2}workers 3 \(busy 1\) {2}queued 4 .* bad 5$/);
});
