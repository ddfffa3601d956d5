/**
 * A second baseline: the same manual pump as `monitored_broker` (lib/zmq, sendSync with a
 * waiting send as fallback, one read loop per direction) with no observation at all.
 * Prints `{frontend, backend}` as JSON, then runs until killed.
 *
 * @module
 */
import { Dealer, Router, type Socket } from "@lib/zmq/mod.ts";

const hwm = Number(Deno.args[0] ?? 1000);
const frontend = new Router({ sendHighWaterMark: hwm, receiveHighWaterMark: hwm });
const backend = new Dealer({ sendHighWaterMark: hwm, receiveHighWaterMark: hwm });
await frontend.bind("tcp://127.0.0.1:*");
await backend.bind("tcp://127.0.0.1:*");
console.log(JSON.stringify({ frontend: frontend.lastEndpoint, backend: backend.lastEndpoint }));

async function pump(from: Socket, to: Socket) {
  for await (const frames of from) if (!to.sendSync(frames)) await to.send(frames);
}
await Promise.all([pump(frontend, backend), pump(backend, frontend)]);
