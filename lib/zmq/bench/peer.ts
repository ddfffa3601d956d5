/**
 * lib/zmq benchmark peer (the same modes and JSON output as `peer.cjs` and `c_peer.c`):
 * `pull <size> <count>`, `push <endpoint> <size> <count>`, `rep`, `req <endpoint> <n>`.
 *
 * @module
 */
import { Pull, Push, Reply, Request, terminate } from "../mod.ts";

const [mode, ...args] = Deno.args;
const out = (value: unknown) => console.log(JSON.stringify(value));

if (mode === "pull") {
  const [size, count] = args.map(Number);
  const pull = new Pull({ receiveHighWaterMark: 10_000 });
  await pull.bind("tcp://127.0.0.1:*");
  out({ endpoint: pull.lastEndpoint });
  let start = 0;
  for (let i = 0; i < count; i++) {
    const [msg] = await pull.receive();
    if (msg.length !== size) throw new Error(`expected ${size} bytes, got ${msg.length}`);
    if (i === 0) start = performance.now();
  }
  out({ elapsedMs: performance.now() - start });
  pull.close();
} else if (mode === "push") {
  const [endpoint, size, count] = [args[0], Number(args[1]), Number(args[2])];
  const push = new Push({ sendHighWaterMark: 10_000 });
  push.connect(endpoint);
  const frame = new Uint8Array(size);
  for (let i = 0; i < count; i++) await push.send(frame);
  await terminate({ timeout: 60_000 }); // wait until everything is flushed
} else if (mode === "rep") {
  const rep = new Reply();
  await rep.bind("tcp://127.0.0.1:*");
  out({ endpoint: rep.lastEndpoint });
  for await (const [msg] of rep) {
    await rep.send(msg);
    if (msg.length === 4 && new TextDecoder().decode(msg) === "quit") break;
  }
  rep.close();
} else if (mode === "req") {
  const [endpoint, n] = [args[0], Number(args[1])];
  const req = new Request();
  req.connect(endpoint);
  const rtt: number[] = [];
  for (let i = 0; i < n + 100; i++) {
    const t = performance.now();
    await req.send("ping");
    await req.receive();
    if (i >= 100) rtt.push((performance.now() - t) * 1000);
  }
  await req.send("quit");
  await req.receive();
  rtt.sort((a, b) => a - b);
  out({ medianUs: rtt[Math.floor(n / 2)], p99Us: rtt[Math.floor(n * 0.99)] });
  req.close();
} else {
  console.error(`unknown mode ${mode}: expected pull | push | rep | req`);
  Deno.exit(2);
}
