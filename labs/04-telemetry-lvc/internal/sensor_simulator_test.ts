import assert from "node:assert/strict";
import { decodeHeader, decodeReading, READING_SCHEMA } from "./protocol.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { SENSOR_KINDS, SensorSimulator, sensorTopic } from "./sensor_simulator.ts";

const td = new TextDecoder();

function sim(seed: number, sensors = 10, blobBytes = 8) {
  let t = 1000;
  return new SensorSimulator({
    prefix: "plant-a",
    sensors,
    blobBytes,
    random: seededRandom(seed),
    now: () => t++,
  });
}

Deno.test("topics name prefix, kind and a zero-padded index", () => {
  assert.equal(sensorTopic("plant-a", 0), "plant-a/temperature/00000");
  assert.equal(sensorTopic("plant-a", 6), "plant-a/humidity/00006");
  assert.deepEqual(sim(1, 3).topics(), [
    "plant-a/temperature/00000",
    "plant-a/humidity/00001",
    "plant-a/pressure/00002",
  ]);
});

Deno.test("updates go round-robin with per-topic seq and well-formed frames", () => {
  const s = sim(1, 3);
  const seen: string[] = [];
  for (let i = 0; i < 9; i++) {
    const u = s.next();
    const [topic, header, payload] = u.frames;
    assert.equal(td.decode(topic), u.topic);
    const h = decodeHeader(header);
    assert.equal(h.seq, Math.floor(i / 3) + 1);
    assert.equal(h.schema, READING_SCHEMA);
    assert.equal(h.ts, 1000 + i);
    const r = decodeReading(payload);
    assert.equal(r.value, u.value);
    assert.equal(r.blob.length, 8);
    seen.push(u.topic);
  }
  assert.deepEqual(seen.slice(0, 3), seen.slice(3, 6));
  assert.equal(s.rounds, 3);
});

Deno.test("values stay within each kind's range and the seed reproduces a run", () => {
  const a = sim(42, SENSOR_KINDS.length, 4);
  const b = sim(42, SENSOR_KINDS.length, 4);
  const c = sim(43, SENSOR_KINDS.length, 4);
  let differs = false;
  for (let i = 0; i < 5000; i++) {
    const ua = a.next();
    const ub = b.next();
    const uc = c.next();
    assert.deepEqual(ua.frames[2], ub.frames[2]);
    if (ua.value !== uc.value) differs = true;
    const kind = SENSOR_KINDS[i % SENSOR_KINDS.length];
    assert.equal(ua.header.units, kind.units);
    assert.ok(ua.value >= kind.min && ua.value <= kind.max, `${ua.value} in ${kind.name} range`);
  }
  assert.ok(differs, "another seed gives other values");
});

Deno.test("simulator rejects a bad configuration", () => {
  assert.throws(() => sim(1, 0), /expected sensors >= 1, got 0/);
  assert.throws(() => sim(1, 1, -1), /expected blobBytes >= 0/);
});
