import assert from "node:assert/strict";
import type { BridgeStats } from "./bridge.ts";
import { renderView } from "./view.ts";

const stats: BridgeStats = {
  clients: 1,
  prefixes: 2,
  seq: 42,
  ring: 42,
  ring_bytes: 4096,
  updates: 42,
  bad_updates: 1,
  fanned_out: 40,
  conflated: 3,
  skipped: 7,
  replayed: 5,
  closed_slow: 1,
  closed_bad: 0,
  closed_ping: 0,
};

Deno.test("the live view shows the stream and one row per client", () => {
  const lines = renderView("http://127.0.0.1:5516/", stats, [{
    id: 3,
    origin: "http://127.0.0.1:5516",
    topics: ["", "plant-a/"],
    buffered: 300_000,
    age_ms: 12_400,
    state: "conflating",
    sent: 40,
    conflated: 3,
    skipped: 7,
    pending: 2,
    episodes: 1,
  }]);
  assert.match(lines[0], /seq 42/);
  assert.match(lines[1], /conflated 3 \(skipped 7\)/);
  assert.match(lines[3], /^#3 +conflating +293\.0KiB +40 +3 +7 +12s +"",plant-a\/$/);
  assert.match(renderView("u", stats, []).at(-1)!, /no browser connected/);
});
