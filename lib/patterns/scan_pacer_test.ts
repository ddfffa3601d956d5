import assert from "node:assert/strict";
import { ScanPacer } from "./scan_pacer.ts";

Deno.test("scan pacer: a slow directory scan is followed by a proportionally longer pause", () => {
  const pacer = new ScanPacer(9);
  assert.ok(pacer.due(0));
  pacer.done(0, 2); // a small directory: 2 ms
  assert.ok(pacer.due(20), "fast scans keep the configured poll interval");
  pacer.done(1000, 1400); // 10 000 certificates: 400 ms
  assert.ok(!pacer.due(2000));
  assert.ok(!pacer.due(4999));
  assert.ok(pacer.due(5000), "400 ms scan + 9 x 400 ms pause: at most ~10 % of a core");
});
