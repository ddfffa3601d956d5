/**
 * lib/zmq benchmark peer (the same modes and JSON output as `peer.cjs` and `c_peer.c`):
 * `pull <size> <count> [bind]`, `push <endpoint> <size> <count>`, `rep [bind]`,
 * `req <endpoint> <n>`. `--api=fast` uses the allocation-free paths (`receiveInto`, or
 * `receiveView` from 16 KiB, and `sendSync`) instead of `receive`/`send`; `--mode=pool` turns the reactor's park off.
 *
 * @module
 */
import process from "node:process";
import { percentiles } from "@lib/async/mod.ts";
import { configureReactor, Pull, Push, Reply, Request, ZERO_COPY_THRESHOLD } from "../mod.ts";

const fast = Deno.args.includes("--api=fast");
if (Deno.args.includes("--mode=pool")) configureReactor({ mode: "pool" });
const [mode, ...args] = Deno.args.filter((arg) => !arg.startsWith("--"));
const out = (value: unknown) => console.log(JSON.stringify(value));
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const maxRssKb = () => {
  try {
    return Number(Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+)/)?.[1]);
  } catch {
    return null; // not Linux
  }
};
/** Stays alive (the bench reads our CPU, then kills us). */
const linger = () => setInterval(() => {}, 60_000);

if (mode === "pull") {
  const [size, count] = args.map(Number);
  const pull = new Pull({ receiveHighWaterMark: 10_000 });
  await pull.bind(args[2] ?? "tcp://127.0.0.1:*");
  out({ endpoint: pull.lastEndpoint });
  let start = 0;
  let cpu0 = 0;
  const buffer = new Uint8Array(Math.max(size, 1));
  for (let i = 0; i < count; i++) {
    const length = !fast ? (await pull.receive())[0].length : size >= ZERO_COPY_THRESHOLD // a view of libzmq's buffer: no copy at all
      ? (await pull.receiveView())[0].length
      : await pull.receiveInto(buffer);
    if (length !== size) throw new Error(`expected ${size} bytes, got ${length}`);
    if (i === 0) {
      start = performance.now();
      cpu0 = cpuMs();
    }
  }
  out({ elapsedMs: performance.now() - start, cpuMs: cpuMs() - cpu0, maxRssKb: maxRssKb() });
  linger();
} else if (mode === "push") {
  const [endpoint, size, count] = [args[0], Number(args[1]), Number(args[2])];
  const push = new Push({ sendHighWaterMark: 10_000 });
  push.connect(endpoint);
  const frame = new Uint8Array(size);
  out({ cpuMs: cpuMs() });
  if (fast) {
    for (let i = 0; i < count; i++) if (!push.sendSync(frame)) await push.send(frame);
  } else {
    for (let i = 0; i < count; i++) await push.send(frame);
  }
  linger(); // exiting now would drop what is still queued in libzmq
} else if (mode === "rep") {
  const rep = new Reply();
  await rep.bind(args[0] ?? "tcp://127.0.0.1:*");
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
  const [medianUs, p99Us] = percentiles(rtt, [0.5, 0.99]);
  out({ medianUs, p99Us });
  req.close();
} else {
  console.error(`unknown mode ${mode}: expected pull | push | rep | req`);
  Deno.exit(2);
}
