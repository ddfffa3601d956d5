/**
 * Lab 19 benchmark: the cost of CurveZMQ. The same one-way stream (a PUSH of the lab's
 * two-frame readings and of raw frames of 64 B, 1 KiB and 64 KiB into a PULL, over
 * loopback TCP) is measured with the NULL mechanism and with CURVE (server key, client
 * key, ZAP allow-list), in the same run; messages/s, MB/s and the CURVE/NULL ratio.
 * PUSH/PULL rather than the lab's PUB/SUB so that nothing is dropped at the high-water
 * mark and every count is exact; the security layer is the same.
 *
 * Run: `deno run -A labs/19-native-ironhouse/bench.ts [seconds-per-case]` (default 1.5).
 *
 * @module
 */

import { curveKeyPair, Pull, Push, terminate, ZapHandler } from "@lib/zmq/mod.ts";
import { encodeReading } from "./internal/protocol.ts";
import { Sensors } from "./internal/sensors.ts";

const seconds = Number(Deno.args[0] ?? 1.5);
const server = curveKeyPair();
const client = curveKeyPair();
const zap = new ZapHandler(({ publicKey }) =>
  publicKey === client.publicKey ? { status: 200, userId: publicKey } : { status: 400 }
);
await zap.start();

/** Messages/s and MB/s (payload bytes) for one case. */
async function run(curve: boolean, message: Uint8Array[]): Promise<[number, number]> {
  const pull = new Pull({
    receiveHighWaterMark: 10_000,
    ...(curve ? { curveServer: true, curveSecretKey: server.secretKey, zapDomain: "bench" } : {}),
  });
  await pull.bind("tcp://127.0.0.1:*");
  const push = new Push({
    sendHighWaterMark: 10_000,
    ...(curve
      ? {
        curveServerKey: server.publicKey,
        curvePublicKey: client.publicKey,
        curveSecretKey: client.secretKey,
      }
      : {}),
  });
  push.connect(pull.lastEndpoint!);
  const bytes = message.reduce((n, f) => n + f.length, 0);
  // Warm up: the handshake (and CURVE's key exchange) is not part of the rate.
  await push.send(message);
  await pull.receive();
  let stop = false;
  let sent = 0;
  const sender = (async () => {
    while (!stop) {
      if (push.sendSync(message)) sent++;
      else {
        await push.send(message);
        sent++;
      }
    }
  })().catch(() => {}); // closing the PUSH rejects a send still waiting for room
  let received = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    await pull.receive();
    received++;
  }
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  push.close({ linger: 0 });
  await sender;
  pull.close();
  return [received / elapsed, (received * bytes) / elapsed / 1e6];
}

const reading = encodeReading(new Sensors(3, "lab19", { seed: 1, boot: "bench" }).next(0));
const cases: [string, Uint8Array[]][] = [
  [`reading (${reading.reduce((n, f) => n + f.length, 0)} B, 2 frames)`, reading],
  ["64 B", [new Uint8Array(64)]],
  ["1 KiB", [new Uint8Array(1024)]],
  ["64 KiB", [new Uint8Array(64 * 1024)]],
];
console.log(`lab19 bench: PUSH->PULL over tcp://127.0.0.1, ${seconds} s per case`);
console.log(
  "message                  | NULL msg/s | NULL MB/s | CURVE msg/s | CURVE MB/s | CURVE/NULL",
);
for (const [name, message] of cases) {
  const [nullRate, nullMb] = await run(false, message);
  const [curveRate, curveMb] = await run(true, message);
  console.log(
    `${name.padEnd(24)} | ${Math.round(nullRate).toString().padStart(10)} | ${
      nullMb.toFixed(1).padStart(9)
    } | ${Math.round(curveRate).toString().padStart(11)} | ${curveMb.toFixed(1).padStart(10)} | ${
      (curveRate / nullRate).toFixed(2).padStart(10)
    }`,
  );
}
zap.close();
await terminate();
