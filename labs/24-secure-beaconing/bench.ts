/**
 * Lab 24 benchmark: how long a freshly started network_scanner takes to list N devices
 * that are already beaconing (N = 3, 10, 30) with the default interval (1000 ms, ±20 %
 * jitter), as a ratio to the beacon interval measured in the same run.
 *
 * The devices are N beacon emitters in this process (the lab's wire format through
 * `UdpBeacon`: a 36/ZRE beacon and a key announcement each beat, to 127.255.255.255 on
 * one shared port), each started at a random phase of the interval, as devices that have
 * been running for a while are. The scanner is the real role process; times come from its
 * own `scanning` and `device_seen` events.
 *
 * Run: `deno run -A labs/24-secure-beaconing/bench.ts [runs-per-N]` (default 3).
 *
 * @module
 */

import { percentiles } from "@lib/async/mod.ts";
import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
import { encodeBeacon, newUuid, uuidToHex } from "@lib/patterns/zre_beacon.ts";
import { spawnRole } from "@lib/testing/mod.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { encodeKeyAnnouncement } from "./internal/protocol.ts";

const INTERVAL = 1000;
const runs = Number(Deno.args[0] ?? 3);

async function discover(n: number): Promise<{ ms: number; measuredInterval: number }> {
  const uuids: string[] = [];
  const emitters: UdpBeacon[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    const first = await UdpBeacon.open({
      port: 0,
      broadcastAddress: "127.255.255.255",
      intervalMs: INTERVAL,
      jitter: 0.2,
      onDatagram: () => {},
    });
    emitters.push(first);
    for (let i = 1; i < n; i++) {
      emitters.push(
        await UdpBeacon.open({
          port: first.port,
          broadcastAddress: "127.255.255.255",
          intervalMs: INTERVAL,
          jitter: 0.2,
          onDatagram: () => {},
        }),
      );
    }
    for (const emitter of emitters) {
      const uuid = newUuid();
      uuids.push(uuidToHex(uuid));
      const payloads = [
        encodeBeacon({ uuid, port: 40000 + uuids.length }),
        encodeKeyAnnouncement({ uuid, publicKey: curveKeyPair().publicKey }),
      ];
      timers.push(setTimeout(() => emitter.publish(payloads), Math.random() * INTERVAL));
    }
    // Every device has been beaconing for a while when the scanner starts.
    await new Promise((r) => setTimeout(r, INTERVAL * 1.5));
    const sentBefore = emitters[0].stats().sent;
    const t0 = performance.now();
    await using scanner = await spawnRole("24", "network_scanner", [
      "--beacon-port",
      String(first.port),
      "--query-interval",
      "0",
      "--refresh",
      "0",
      "--log-level",
      "info",
    ]);
    const scanning = await scanner.event("scanning", undefined, { timeout: 60_000 });
    const start = Date.parse(String(scanning.ts));
    let last = start;
    for (const uuid of uuids) {
      const seen = await scanner.event("device_seen", (e) => e.uuid === uuid, {
        timeout: 60_000,
      });
      last = Math.max(last, Date.parse(String(seen.ts)));
    }
    // The interval really achieved by one emitter over the same span (2 datagrams a beat).
    const beats = (emitters[0].stats().sent - sentBefore) / 2;
    const span = performance.now() - t0;
    await scanner.stop({ timeout: 30_000 });
    return { ms: last - start, measuredInterval: beats > 0 ? span / beats : INTERVAL };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const e of emitters) await e.close();
  }
}

console.log(
  `lab24: time for a new scanner to list N beaconing devices (interval ${INTERVAL} ms ±20 %, ` +
    `${runs} runs each)`,
);
for (const n of [3, 10, 30]) {
  const times: number[] = [];
  const intervals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms, measuredInterval } = await discover(n);
    times.push(ms);
    intervals.push(measuredInterval);
  }
  const [p50] = percentiles(times, [0.5]);
  const max = Math.max(...times);
  const interval = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  console.log(
    `N=${String(n).padStart(2)}: median ${Math.round(p50)} ms, max ${Math.round(max)} ms; ` +
      `measured beacon interval ${Math.round(interval)} ms; ratio median/interval ` +
      `${(p50 / interval).toFixed(2)}, max/interval ${(max / interval).toFixed(2)}`,
  );
}
