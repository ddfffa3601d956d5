import assert from "node:assert/strict";
import { Sensors } from "./sensors.ts";

Deno.test("sensors take turns with one gapless sequence per boot", () => {
  const sensors = new Sensors(3, "x", { seed: 7, boot: "b1" });
  const readings = Array.from({ length: 6 }, (_, i) => sensors.next(i));
  assert.deepEqual(readings.map((r) => r.sensor), ["s1", "s2", "s3", "s1", "s2", "s3"]);
  assert.deepEqual(readings.map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
  assert.ok(readings.every((r) => r.boot === "b1" && r.label === "x"));
  assert.ok(Math.abs(readings[3].value - readings[0].value) < 0.2, "a slow walk");
});
