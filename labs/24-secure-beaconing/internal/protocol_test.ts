import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { encodeBeacon, newUuid } from "@lib/patterns/zre_beacon.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import {
  classifyDatagram,
  decodeReply,
  decodeStatusRequest,
  encodeKeyAnnouncement,
  encodeRefusal,
  encodeStatusReply,
  encodeStatusRequest,
  KEY_ANNOUNCEMENT_SIZE,
} from "./protocol.ts";

Deno.test("key announcement: 52 octets, round trip, public data only", () => {
  const uuid = newUuid();
  const { publicKey, secretKey } = curveKeyPair();
  const bytes = encodeKeyAnnouncement({ uuid, publicKey });
  assert.equal(bytes.length, KEY_ANNOUNCEMENT_SIZE);
  assert.deepEqual([...bytes.slice(0, 4)], [0x5a, 0x4c, 0x4b, 0x01]);
  const text = new TextDecoder("latin1").decode(bytes);
  assert.ok(!text.includes(secretKey));
  const got = classifyDatagram(bytes);
  assert.equal(got.kind, "key");
  if (got.kind === "key") {
    assert.deepEqual(got.announcement.uuid, uuid);
    assert.equal(got.announcement.publicKey, publicKey);
  }
});

Deno.test("classifyDatagram: beacons, bad signatures, bad sizes", () => {
  const beacon = encodeBeacon({ uuid: newUuid(), port: 1234 });
  const ok = classifyDatagram(beacon);
  assert.equal(ok.kind, "beacon");
  if (ok.kind === "beacon") assert.equal(ok.beacon.port, 1234);
  const badVersion = beacon.slice();
  badVersion[3] = 2;
  assert.deepEqual(classifyDatagram(badVersion), { kind: "bad", reason: "beacon: bad_version" });
  const key = encodeKeyAnnouncement({ uuid: newUuid(), publicKey: curveKeyPair().publicKey });
  key[0] = 0;
  assert.equal(classifyDatagram(key).kind, "bad");
  key[0] = 0x5a;
  key[3] = 9;
  assert.equal(classifyDatagram(key).kind, "bad");
  const odd = classifyDatagram(new Uint8Array(7));
  assert.equal(odd.kind, "bad");
  if (odd.kind === "bad") assert.match(odd.reason, /7 octets/);
});

Deno.test("status request and reply round trip; malformed ones throw BadMessageError", () => {
  assert.equal(decodeStatusRequest([encodeStatusRequest(3)]).seq, 3);
  assert.throws(() => decodeStatusRequest([]), BadMessageError);
  assert.throws(() => decodeStatusRequest([encode({ kind: "status" })]), BadMessageError);
  assert.throws(() => decodeStatusRequest([new Uint8Array([0xc1])]), BadMessageError);
  const reply = decodeReply([encodeStatusReply({
    seq: 3,
    uuid: "U",
    name: "d",
    uptime_ms: 5,
    requests: 1,
    readings: { t: 1.5 },
    note: "n",
  })]);
  assert.equal(reply.kind, "status");
  assert.deepEqual(decodeReply([encodeRefusal("why")]), { kind: "error", reason: "why" });
  assert.throws(() => decodeReply([encode({ kind: "status" })]), BadMessageError);
});
