/**
 * Lab 15 benchmark: ping round trips per second through the real protocol (encode, REQ ->
 * REP over loopback TCP, schema-checked decode), beside raw REQ/REP round trips of the same
 * bytes measured in the same run.
 *
 * Run: `deno run -A labs/15-mapreduce/bench.ts [round-trips]` (default 5000).
 *
 * @module
 */

import { Reply, Request, terminate } from "@lib/zmq/mod.ts";
import { decodePing, decodeReply, encodePing, encodePong } from "./internal/protocol.ts";

const total = Number(Deno.args[0] ?? 5000);

/** Round trips per second; `decode` true runs the protocol on both sides. */
async function run(decode: boolean): Promise<number> {
  const rep = new Reply();
  await rep.bind("tcp://127.0.0.1:*");
  const req = new Request();
  req.connect(rep.lastEndpoint!);
  const ping = encodePing(1);
  const pong = encodePong(1, "bench");
  const server = (async () => {
    for (let i = 0; i < total; i++) {
      const frames = await rep.receive();
      await rep.send(decode ? encodePong(decodePing(frames).seq, "bench") : pong);
    }
  })();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await req.send(ping);
    const reply = await req.receive();
    if (decode) decodeReply(reply);
  }
  const seconds = (performance.now() - started) / 1000;
  await server;
  req.close();
  rep.close();
  return total / seconds;
}

const raw = await run(false);
const lab = await run(true);
console.log(`lab15: ${Math.round(lab)} round trips/s with the protocol (${total} pings)`);
console.log(`raw REQ/REP: ${Math.round(raw)} round trips/s; ratio ${(lab / raw).toFixed(2)}`);
await terminate();
