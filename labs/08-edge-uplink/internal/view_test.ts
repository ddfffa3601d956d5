import assert from "node:assert/strict";
import { buildRows, renderTable } from "./view.ts";

Deno.test("view: rows say online/lost/away, last seen, lag and gaps; the table is aligned", () => {
  const base = { epoch: "e", duplicates: 0, restarts: 0, lastTakenAt: 1000, lastStoredAt: 1250 };
  const rows = buildRows(
    [
      { ...base, device: "a", lastSeq: 9, stored: 10, missing: 0 },
      { ...base, device: "b", lastSeq: 99, stored: 90, missing: 10 },
      { ...base, device: "c", lastSeq: 0, stored: 1, missing: 0 },
    ],
    new Map([["a", { online: true, lastSeen: 900 }], ["b", { online: false, lastSeen: 0 }]]),
    1000,
  );
  assert.deepEqual(rows.map((r) => [r.device, r.state, r.lastSeenMs, r.lagMs, r.missing]), [
    ["a", "online", 100, 250, 0],
    ["b", "lost", 1000, 250, 10],
    ["c", "away", null, 250, 0],
  ]);
  const lines = renderTable(rows, "r1", 2);
  assert.equal(lines[0], "r1");
  assert.match(
    lines[1],
    /^device\s+state\s+last seen\s+lag\s+last seq\s+stored\s+gaps\s+dups\s+restarts$/,
  );
  assert.match(lines[3], /^b\s+lost\s+1000ms\s+250ms\s+99\s+90\s+10\s+0\s+0$/);
  assert.equal(lines[4], "... 1 more devices");
  assert.equal(new Set(lines.slice(1, 4).map((l) => l.length)).size, 1);
});
