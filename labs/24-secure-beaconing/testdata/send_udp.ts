/**
 * Test helper: sends raw UDP datagrams (hex, one per argument after the address) to
 * ADDRESS:PORT, with SO_BROADCAST on, `count` times each, then exits. Used to spoof beacons
 * and key announcements and to send malformed datagrams from a test host.
 *
 * Usage: `deno run --allow-net send_udp.ts ADDRESS PORT COUNT HEX...`
 *
 * @module
 */
import dgram from "node:dgram";
import { fromHex } from "@lib/async/mod.ts";

const [address, port, count, ...hexes] = Deno.args;
const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
await new Promise<void>((resolve) => socket.bind(0, "0.0.0.0", () => resolve()));
socket.setBroadcast(true);
for (let i = 0; i < Number(count); i++) {
  for (const hex of hexes) {
    await new Promise<void>((resolve, reject) =>
      socket.send(fromHex(hex), Number(port), address, (e) => e ? reject(e) : resolve())
    );
  }
  await new Promise((r) => setTimeout(r, 20));
}
socket.close();
