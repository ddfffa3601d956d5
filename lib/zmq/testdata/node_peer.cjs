// A zeromq.js (Node) peer for the cross-implementation test.
// usage: node node_peer.cjs <mode> [endpoint]
//   rep            bind REP on tcp://127.0.0.1:*, print {"endpoint"}, echo until "quit"
//   req <ep> <n>   connect REQ, n round trips, print {"roundTrips"}
//   pub            bind PUB, print {"endpoint"}, publish a.* / b.* every 10 ms until stdin closes
//   sub <ep> <prefix> <n>  connect SUB, receive n messages, print {"topics":[...]}
"use strict";
const path = require("node:path");
const zmq = require(path.resolve(__dirname, "../../../node_modules/zeromq"));

async function main() {
  const [mode, endpoint, arg, arg2] = process.argv.slice(2);
  const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
  if (mode === "rep") {
    const rep = new zmq.Reply();
    await rep.bind("tcp://127.0.0.1:*");
    out({ endpoint: rep.lastEndpoint, version: zmq.version });
    for await (const [msg] of rep) {
      await rep.send(msg);
      if (msg.toString() === "quit") break;
    }
    rep.close();
  } else if (mode === "req") {
    const req = new zmq.Request();
    req.connect(endpoint);
    const n = Number(arg);
    for (let i = 0; i < n; i++) {
      await req.send(`node ${i}`);
      const [reply] = await req.receive();
      if (reply.toString() !== `node ${i}`) throw new Error(`bad reply ${reply}`);
    }
    out({ roundTrips: n });
    req.close();
  } else if (mode === "pub") {
    const pub = new zmq.Publisher();
    await pub.bind("tcp://127.0.0.1:*");
    out({ endpoint: pub.lastEndpoint });
    let stop = false;
    process.stdin.on("end", () => (stop = true));
    process.stdin.resume();
    let i = 0;
    while (!stop) {
      await pub.send([`a.${i}`, "from node"]);
      await pub.send([`b.${i}`, "from node"]);
      i++;
      await new Promise((r) => setTimeout(r, 10));
    }
    pub.close();
  } else if (mode === "sub") {
    const sub = new zmq.Subscriber();
    sub.connect(endpoint);
    sub.subscribe(arg);
    const topics = [];
    for await (const [topic, body] of sub) {
      if (body.toString() !== "from deno") throw new Error(`bad body ${body}`);
      topics.push(topic.toString());
      if (topics.length === Number(arg2)) break;
    }
    out({ topics });
    sub.close();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
