// zeromq.js (Node) benchmark peer: the same modes and JSON output as peer.ts.
"use strict";
const path = require("node:path");
const zmq = require(path.resolve(__dirname, "../../../node_modules/zeromq"));
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "pull") {
    const [size, count] = args.map(Number);
    const pull = new zmq.Pull({ receiveHighWaterMark: 10000 });
    await pull.bind(args[2] || "tcp://127.0.0.1:*");
    out({ endpoint: pull.lastEndpoint });
    let start = 0;
    let cpu0 = 0;
    for (let i = 0; i < count; i++) {
      const [msg] = await pull.receive();
      if (msg.length !== size) throw new Error(`expected ${size} bytes, got ${msg.length}`);
      if (i === 0) {
        start = performance.now();
        cpu0 = cpuMs();
      }
    }
    out({
      elapsedMs: performance.now() - start,
      cpuMs: cpuMs() - cpu0,
      maxRssKb: process.resourceUsage().maxRSS,
    });
    // Stay alive: the bench reads our CPU, then kills us.
    await new Promise(() => setInterval(() => {}, 1000));
  } else if (mode === "push") {
    const [endpoint, size, count] = [args[0], Number(args[1]), Number(args[2])];
    const push = new zmq.Push({ sendHighWaterMark: 10000, linger: -1 });
    push.connect(endpoint);
    const frame = Buffer.alloc(size);
    out({ cpuMs: cpuMs() });
    for (let i = 0; i < count; i++) await push.send(frame);
    // Stay alive until the bench has the receiver's figure and kills us: exiting now would
    // drop what is still queued in libzmq.
    await new Promise(() => setInterval(() => {}, 1000));
  } else if (mode === "rep") {
    const rep = new zmq.Reply();
    await rep.bind(args[0] || "tcp://127.0.0.1:*");
    out({ endpoint: rep.lastEndpoint });
    for await (const [msg] of rep) {
      await rep.send(msg);
      if (msg.toString() === "quit") break;
    }
    rep.close();
  } else if (mode === "req") {
    const [endpoint, n] = [args[0], Number(args[1])];
    const req = new zmq.Request();
    req.connect(endpoint);
    const rtt = [];
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
  }
}
main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
