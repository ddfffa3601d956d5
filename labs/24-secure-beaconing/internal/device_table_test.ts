import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { encodeBeacon, newUuid, uuidToHex } from "@lib/patterns/zre_beacon.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { DeviceTable } from "./device_table.ts";
import { encodeKeyAnnouncement } from "./protocol.ts";
import { TrustBook } from "./trust.ts";

function setup(tofu = false) {
  const clock = new ManualClock();
  const trust = new TrustBook({ tofu });
  const table = new DeviceTable({ clock, trust, expiryMs: 3000, maxDevices: 8 });
  return { clock, trust, table };
}

Deno.test("a beacon lists a device; untrusted until a key is pinned", () => {
  const { table, trust } = setup();
  const uuid = newUuid();
  const id = uuidToHex(uuid);
  const events = table.onDatagram(encodeBeacon({ uuid, port: 7000 }), "10.0.0.2");
  assert.deepEqual(events.map((e) => e.type), ["device_seen", "trust"]);
  assert.equal(table.get(id)?.trust, "untrusted");
  assert.equal(table.get(id)?.endpoint, "tcp://10.0.0.2:7000");
  assert.deepEqual(table.queryable(), []);
  const { publicKey } = curveKeyPair();
  trust.setPinned(new Map([[id, publicKey]]));
  const re = table.reassess();
  assert.equal(re.length, 1);
  assert.equal(table.get(id)?.trust, "trusted");
  assert.equal(table.queryable()[0].key, publicKey);
  assert.match(table.render().join("\n"), /trusted/);
});

Deno.test("TOFU via the key announcement; a changed key is refused", () => {
  const { table } = setup(true);
  const uuid = newUuid();
  const id = uuidToHex(uuid);
  const k1 = curveKeyPair().publicKey;
  table.onDatagram(encodeKeyAnnouncement({ uuid, publicKey: k1 }), "10.0.0.2");
  const seen = table.onDatagram(encodeBeacon({ uuid, port: 7000 }), "10.0.0.2");
  const trustEvent = seen.find((e) => e.type === "trust");
  assert.ok(trustEvent?.type === "trust" && trustEvent.learned);
  assert.equal(table.get(id)?.trust, "tofu");
  const changed = table.onDatagram(
    encodeKeyAnnouncement({ uuid, publicKey: curveKeyPair().publicKey }),
    "10.0.0.9",
  );
  assert.deepEqual(changed.map((e) => e.type), ["key_changed"]);
  assert.equal(table.get(id)?.trust, "key_changed");
  assert.deepEqual(table.queryable(), []);
  assert.match(table.render().join("\n"), /KEY CHANGED/);
});

Deno.test("leave (port 0), expiry, own and malformed datagrams", async () => {
  const clock = new ManualClock();
  const own = newUuid();
  const table = new DeviceTable({
    clock,
    trust: new TrustBook({ tofu: false }),
    expiryMs: 3000,
    ownUuid: own,
  });
  const a = newUuid();
  const b = newUuid();
  table.onDatagram(encodeBeacon({ uuid: a, port: 1 }), "h");
  table.onDatagram(encodeBeacon({ uuid: b, port: 2 }), "h");
  assert.deepEqual(table.onDatagram(encodeBeacon({ uuid: own, port: 3 }), "h"), [{
    type: "own",
  }]);
  assert.equal(table.onDatagram(new Uint8Array(5), "h")[0].type, "bad_datagram");
  assert.deepEqual(
    table.onDatagram(encodeBeacon({ uuid: a, port: 0 }), "h").map((e) => e.type),
    ["device_left"],
  );
  await clock.advance(2000);
  table.onDatagram(encodeBeacon({ uuid: b, port: 2 }), "h");
  assert.deepEqual(table.expire(), []);
  await clock.advance(3001);
  assert.deepEqual(table.expire().map((e) => e.type), ["device_expired"]);
  assert.equal(table.rows().length, 0);
});

Deno.test("a moved device is updated and its last status forgotten", () => {
  const { table, trust } = setup();
  const uuid = newUuid();
  const id = uuidToHex(uuid);
  trust.setPinned(new Map([[id, curveKeyPair().publicKey]]));
  table.onDatagram(encodeBeacon({ uuid, port: 1 }), "10.0.0.1");
  table.recordQuery(id, "tcp://10.0.0.1:1", {
    ok: true,
    at: 0,
    name: "d",
    uptimeMs: 1,
    readings: { t: 1 },
  });
  assert.ok(table.get(id)?.last?.ok);
  const moved = table.onDatagram(encodeBeacon({ uuid, port: 2 }), "10.0.0.1");
  assert.equal(moved[0].type, "device_updated");
  assert.equal(table.get(id)?.last, undefined);
  // a late answer from the old endpoint is not recorded
  table.recordQuery(id, "tcp://10.0.0.1:1", { ok: false, at: 0, error: "x" });
  assert.equal(table.get(id)?.last, undefined);
});

Deno.test("bounded: beacons beyond maxDevices are ignored", () => {
  const { table } = setup();
  for (let i = 0; i < 20; i++) table.onDatagram(encodeBeacon({ uuid: newUuid(), port: 1 }), "h");
  assert.equal(table.rows().length, 8);
});
