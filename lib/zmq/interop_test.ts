import assert from "node:assert/strict";
import { Publisher, Reply, Request, Subscriber } from "./mod.ts";
import { deadline, text } from "./test_util.ts";

const peer = new URL("./testdata/node_peer.cjs", import.meta.url).pathname;

/** A zeromq.js peer running under Node 20; its stdout is JSON lines. */
class NodePeer implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(args: string[]) {
    this.#child = new Deno.Command("node", {
      args: [peer, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async line(): Promise<Record<string, unknown>> {
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return JSON.parse(line);
      }
      const { value, done } = await deadline(this.#lines.read(), 15_000, "the Node peer");
      if (done) throw new Error("the Node peer exited early");
      this.#buffer += value;
    }
  }

  async exitCode(): Promise<number> {
    await this.#child.stdin.close().catch(() => {});
    return (await deadline(this.#child.status, 15_000, "the Node peer to exit")).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#lines.cancel().catch(() => {});
  }
}

Deno.test("interop: lib/zmq REQ talks to a zeromq.js REP on Node", async () => {
  await using node = new NodePeer(["rep"]);
  const { endpoint } = await node.line();
  await using req = new Request();
  req.connect(String(endpoint));
  for (let i = 0; i < 1000; i++) {
    await req.send(`deno ${i}`);
    const [reply] = await deadline(req.receive(), 5000, `reply ${i}`);
    assert.equal(text(reply), `deno ${i}`);
  }
  await req.send("quit");
  await req.receive();
  assert.equal(await node.exitCode(), 0);
});

Deno.test("interop: a zeromq.js REQ on Node talks to a lib/zmq REP", async () => {
  await using rep = new Reply();
  await rep.bind("tcp://127.0.0.1:*");
  const echo = (async () => {
    for await (const [msg] of rep) await rep.send(msg);
  })();
  await using node = new NodePeer(["req", rep.lastEndpoint!, "1000"]);
  assert.deepEqual(await node.line(), { roundTrips: 1000 });
  assert.equal(await node.exitCode(), 0);
  rep.close();
  await echo;
});

Deno.test("interop: a lib/zmq SUB filters a zeromq.js PUB by prefix", async () => {
  await using node = new NodePeer(["pub"]);
  const { endpoint } = await node.line();
  await using sub = new Subscriber();
  sub.connect(String(endpoint));
  sub.subscribe("b.");
  for (let i = 0; i < 20; i++) {
    const [topic, body] = await deadline(sub.receive(), 5000, "message from Node");
    assert.match(text(topic), /^b\.\d+$/);
    assert.equal(text(body), "from node");
  }
  assert.equal(await node.exitCode(), 0);
});

Deno.test("interop: a zeromq.js SUB filters a lib/zmq PUB by prefix", async () => {
  await using pub = new Publisher();
  await pub.bind("tcp://127.0.0.1:*");
  await using node = new NodePeer(["sub", pub.lastEndpoint!, "x.", "10"]);
  const result = node.line();
  let done = false;
  result.finally(() => (done = true));
  // Publish until the Node subscriber has its 10 messages (it joins late: slow joiner).
  for (let i = 0; !done && i < 5000; i++) {
    await pub.send([`y.${i}`, "from deno"]);
    await pub.send([`x.${i}`, "from deno"]);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const { topics } = await result as { topics: string[] };
  assert.equal(topics.length, 10);
  for (const topic of topics) assert.match(topic, /^x\.\d+$/);
  assert.equal(await node.exitCode(), 0);
});
