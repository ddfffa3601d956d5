import assert from "node:assert/strict";
import { waitFor } from "../testing/wait_for.ts";
import { type DatagramSource, UdpBeacon } from "./udp_beacon.ts";
import { decodeBeacon, encodeBeacon, newUuid, uuidToHex } from "./zre_beacon.ts";

// Two sockets share one (ephemeral) port with SO_REUSEADDR; 127.255.255.255 reaches both.
async function pair(intervalMs = 50) {
  const got: { name: string; bytes: Uint8Array; from: DatagramSource }[] = [];
  const a = await UdpBeacon.open({
    port: 0,
    broadcastAddress: "127.255.255.255",
    intervalMs,
    onDatagram: (bytes, from) => got.push({ name: "a", bytes: bytes.slice(), from }),
  });
  const b = await UdpBeacon.open({
    port: a.port,
    broadcastAddress: "127.255.255.255",
    intervalMs,
    onDatagram: (bytes, from) => got.push({ name: "b", bytes: bytes.slice(), from }),
  });
  return { a, b, got };
}

Deno.test({
  name: "UdpBeacon: broadcasts reach every socket on the port, with the source address",
  async fn() {
    const { a, b, got } = await pair();
    try {
      assert.ok(a.port > 0);
      assert.equal(b.port, a.port);
      const uuid = newUuid();
      a.publish(encodeBeacon({ uuid, port: 4242 }));
      await waitFor(
        "three beacons at b",
        () => got.filter((g) => g.name === "b").length >= 3,
        { timeoutMs: 10_000 },
      );
      const atB = got.find((g) => g.name === "b")!;
      const decoded = decodeBeacon(atB.bytes);
      assert.ok(decoded.ok);
      assert.equal(uuidToHex(decoded.beacon.uuid), uuidToHex(uuid));
      assert.equal(decoded.beacon.port, 4242);
      assert.equal(atB.from.address, "127.0.0.1");
      assert.equal(atB.from.port, a.port);
      assert.ok(got.some((g) => g.name === "a"), "the sender hears itself (to be ignored)");
      a.silence();
      const before = a.stats().sent;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.stats().sent, before);
      assert.ok(await a.send(encodeBeacon({ uuid, port: 0 })));
      await waitFor(
        "farewell at b",
        () =>
          got.some((g) => {
            const d = decodeBeacon(g.bytes);
            return g.name === "b" && d.ok && d.beacon.port === 0;
          }),
        { timeoutMs: 10_000 },
      );
      assert.ok(b.stats().received >= 4);
    } finally {
      await a.close();
      await b.close();
      await a.close(); // idempotent
    }
  },
});

Deno.test({
  name: "UdpBeacon: refuses a bad interval or jitter, send after close is false",
  async fn() {
    await assert.rejects(
      UdpBeacon.open({ port: 0, intervalMs: 0, onDatagram: () => {} }),
      RangeError,
    );
    const beacon = await UdpBeacon.open({ port: 0, onDatagram: () => {} });
    await beacon.close();
    assert.equal(await beacon.send(new Uint8Array(1), "127.0.0.1"), false);
    assert.throws(() => beacon.publish(new Uint8Array(1)));
  },
});
