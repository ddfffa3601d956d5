import assert from "node:assert/strict";
import { seededRandom } from "@lib/random/mod.ts";
import { Sensor } from "./sensor.ts";

Deno.test("sensor readings are reproducible for a seed and stay in bounds", () => {
  const a = new Sensor(seededRandom(5));
  const b = new Sensor(seededRandom(5));
  for (let i = 0; i < 1000; i++) {
    const r = a.read();
    assert.deepEqual(r, b.read());
    assert.ok(r.temperature_c >= 20 && r.temperature_c <= 90);
    assert.ok(r.pressure_kpa >= 90 && r.pressure_kpa <= 110);
  }
});
