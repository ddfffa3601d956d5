import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { seededRandom } from "../random/mod.ts";
import {
  beaconDelay,
  BeaconPeers,
  decodeBeacon,
  encodeBeacon,
  newUuid,
  uuidFromHex,
  uuidToHex,
  ZRE_BEACON_SIZE,
} from "./zre_beacon.ts";

const UUID_A = uuidFromHex("000102030405060708090A0B0C0D0E0F");
const UUID_B = uuidFromHex("F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF");

Deno.test("encodeBeacon: 22 octets exactly per 36/ZRE", () => {
  const bytes = encodeBeacon({ uuid: UUID_A, port: 0x1234 });
  assert.equal(bytes.length, ZRE_BEACON_SIZE);
  assert.deepEqual(
    [...bytes],
    [0x5a, 0x52, 0x45, 0x01, ...UUID_A, 0x12, 0x34],
  );
  assert.deepEqual([...encodeBeacon({ uuid: UUID_A, port: 0 }).slice(20)], [0, 0]);
  assert.deepEqual([...encodeBeacon({ uuid: UUID_A, port: 65535 }).slice(20)], [0xff, 0xff]);
});

Deno.test("encodeBeacon refuses a bad uuid or port", () => {
  assert.throws(() => encodeBeacon({ uuid: new Uint8Array(15), port: 1 }), RangeError);
  assert.throws(() => encodeBeacon({ uuid: UUID_A, port: 65536 }), RangeError);
  assert.throws(() => encodeBeacon({ uuid: UUID_A, port: -1 }), RangeError);
  assert.throws(() => encodeBeacon({ uuid: UUID_A, port: 1.5 }), RangeError);
});

Deno.test("decodeBeacon round-trips and gives reasons", () => {
  const ok = decodeBeacon(encodeBeacon({ uuid: UUID_B, port: 5670 }));
  assert.ok(ok.ok);
  assert.deepEqual([...ok.beacon.uuid], [...UUID_B]);
  assert.equal(ok.beacon.port, 5670);

  const good = encodeBeacon({ uuid: UUID_B, port: 1 });
  const cases: [Uint8Array, string][] = [
    [good.slice(0, 21), "wrong_length"],
    [new Uint8Array([...good, 0]), "wrong_length"],
    [new Uint8Array(0), "wrong_length"],
    [Object.assign(good.slice(), { 0: 0x7a }), "bad_signature"],
    [Object.assign(good.slice(), { 2: 0x46 }), "bad_signature"],
    [Object.assign(good.slice(), { 3: 0x02 }), "bad_version"],
  ];
  for (const [bytes, reason] of cases) {
    const result = decodeBeacon(bytes);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.reason, reason);
  }
});

Deno.test("uuid helpers", () => {
  assert.equal(uuidToHex(UUID_A), "000102030405060708090A0B0C0D0E0F");
  assert.deepEqual(uuidFromHex("00010203-0405-0607-0809-0a0b0c0d0e0f"), UUID_A);
  assert.throws(() => uuidFromHex("xyz"), RangeError);
  assert.throws(() => uuidFromHex("00"), RangeError);
  const u = newUuid();
  assert.equal(u.length, 16);
  assert.equal(u[6] >> 4, 4);
  assert.notDeepEqual(newUuid(), u);
});

Deno.test("beaconDelay stays within ±jitter and averages the interval", () => {
  const random = seededRandom(7);
  let sum = 0;
  for (let i = 0; i < 2000; i++) {
    const d = beaconDelay(1000, 0.2, random);
    assert.ok(d >= 800 && d <= 1200, `${d}`);
    sum += d;
  }
  assert.ok(Math.abs(sum / 2000 - 1000) < 20);
  assert.equal(beaconDelay(500, 0, random), 500);
  assert.throws(() => beaconDelay(0, 0.1, random), RangeError);
  assert.throws(() => beaconDelay(100, 1, random), RangeError);
});

Deno.test("BeaconPeers: seen, refreshed, updated, left, own ignored", async () => {
  const clock = new ManualClock();
  const peers = new BeaconPeers({ clock, expiryMs: 3000, ownUuid: UUID_A });
  assert.deepEqual(peers.observe({ uuid: UUID_A, port: 9 }, "10.0.0.1"), {
    type: "ignored",
    reason: "own",
    uuid: uuidToHex(UUID_A),
  });
  const seen = peers.observe({ uuid: UUID_B, port: 7000 }, "10.0.0.2");
  assert.equal(seen.type, "seen");
  if (seen.type === "seen") {
    assert.equal(seen.peer.endpoint, "tcp://10.0.0.2:7000");
    assert.equal(seen.peer.firstSeen, 0);
  }
  await clock.advance(1000);
  const again = peers.observe({ uuid: UUID_B, port: 7000 }, "10.0.0.2");
  assert.equal(again.type, "refreshed");
  if (again.type === "refreshed") {
    assert.equal(again.peer.lastSeen, 1000);
    assert.equal(again.peer.firstSeen, 0);
    assert.equal(again.peer.beacons, 2);
  }
  const moved = peers.observe({ uuid: UUID_B, port: 7001 }, "10.0.0.3");
  assert.equal(moved.type, "updated");
  if (moved.type === "updated") {
    assert.deepEqual(moved.previous, { address: "10.0.0.2", port: 7000 });
    assert.equal(moved.peer.endpoint, "tcp://10.0.0.3:7001");
  }
  assert.equal(peers.size, 1);
  assert.equal(peers.get(uuidToHex(UUID_B).toLowerCase())?.port, 7001);
  assert.equal(peers.observe({ uuid: UUID_B, port: 0 }, "10.0.0.3").type, "left");
  assert.equal(peers.size, 0);
  const unknown = peers.observe({ uuid: UUID_B, port: 0 }, "10.0.0.3");
  assert.deepEqual(unknown, {
    type: "ignored",
    reason: "unknown_leaving",
    uuid: uuidToHex(UUID_B),
  });
});

Deno.test("BeaconPeers: own uuid given as hex is ignored too", () => {
  const peers = new BeaconPeers({
    clock: new ManualClock(),
    expiryMs: 1,
    ownUuid: uuidToHex(UUID_A).toLowerCase(),
  });
  assert.equal(peers.observe({ uuid: UUID_A, port: 1 }, "h").type, "ignored");
});

Deno.test("BeaconPeers: silent peers expire, refreshed ones stay", async () => {
  const clock = new ManualClock();
  const peers = new BeaconPeers({ clock, expiryMs: 3000 });
  peers.observe({ uuid: UUID_A, port: 1 }, "10.0.0.1");
  peers.observe({ uuid: UUID_B, port: 2 }, "10.0.0.2");
  await clock.advance(2000);
  peers.observe({ uuid: UUID_B, port: 2 }, "10.0.0.2");
  assert.deepEqual(peers.expire(), []);
  await clock.advance(1001);
  const expired = peers.expire();
  assert.deepEqual(expired.map((e) => e.type), ["expired"]);
  assert.equal(expired[0].type === "expired" && expired[0].peer.uuid, uuidToHex(UUID_A));
  assert.deepEqual(peers.peers().map((p) => p.uuid), [uuidToHex(UUID_B)]);
  await clock.advance(3001);
  assert.equal(peers.expire().length, 1);
  assert.equal(peers.size, 0);
});

Deno.test("BeaconPeers: bounded by maxPeers", () => {
  const peers = new BeaconPeers({ clock: new ManualClock(), expiryMs: 10, maxPeers: 2 });
  for (let i = 0; i < 5; i++) {
    const uuid = new Uint8Array(16).fill(i + 1);
    const event = peers.observe({ uuid, port: 1 }, "h");
    assert.equal(event.type, i < 2 ? "seen" : "ignored");
    if (i >= 2) assert.equal(event.type === "ignored" && event.reason, "table_full");
  }
  assert.equal(peers.size, 2);
  assert.ok(peers.remove(uuidToHex(new Uint8Array(16).fill(1))));
  assert.equal(peers.size, 1);
  assert.throws(() => new BeaconPeers({ clock: new ManualClock(), expiryMs: 0 }), RangeError);
});

Deno.test("BeaconPeers: peers() returns copies sorted by uuid", () => {
  const peers = new BeaconPeers({ clock: new ManualClock(), expiryMs: 10 });
  peers.observe({ uuid: UUID_B, port: 1 }, "::1");
  peers.observe({ uuid: UUID_A, port: 2 }, "h");
  const list = peers.peers();
  assert.deepEqual(list.map((p) => p.uuid), [uuidToHex(UUID_A), uuidToHex(UUID_B)]);
  assert.equal(list[1].endpoint, "tcp://[::1]:1");
  list[0].port = 99;
  assert.equal(peers.get(uuidToHex(UUID_A))?.port, 2);
});
