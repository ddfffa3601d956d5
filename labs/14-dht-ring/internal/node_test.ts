/**
 * The node logic on an in-memory network: several DhtNodes, a fake transport that can
 * partition them, a ManualClock for timeouts and liveness, and fake wall clocks for HLC.
 */
import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { createMemoryLogger, type MemoryLogger } from "@lib/role/mod.ts";
import { DhtNode, type DhtNodeOptions } from "./node.ts";
import type { Reply, Request } from "./protocol.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

class FakeNet {
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, DhtNode>();
  readonly logs = new Map<string, MemoryLogger>();
  readonly blocked = new Set<string>();
  wall = 1_000_000;
  #id = 0;

  add(id: string, options: Partial<DhtNodeOptions> = {}): DhtNode {
    const log = createMemoryLogger({ role: id });
    const seeds = [...this.nodes.keys()].slice(0, 1);
    const node = new DhtNode({
      id,
      endpoint: id,
      vnodes: 32,
      n: 3,
      r: 2,
      w: 2,
      clock: this.clock,
      wallClock: () => this.wall,
      random: seededRandom(id.charCodeAt(0)),
      transport: {
        request: (endpoint, message, timeoutMs) => this.#send(id, endpoint, message, timeoutMs),
      },
      log,
      seeds,
      gossipIntervalMs: 100,
      rpcTimeoutMs: 500,
      maxKeys: 10_000,
      maxHints: 10_000,
      suspectAfter: 2,
      deadAfter: 4,
      ...options,
    });
    this.nodes.set(id, node);
    this.logs.set(id, log);
    return node;
  }

  async #send(from: string, to: string, message: Request, timeoutMs: number): Promise<Reply> {
    const target = this.nodes.get(to);
    if (!target || this.blocked.has(`${from}|${to}`)) {
      return await new Promise<Reply>((_, reject) =>
        this.clock.setTimer(timeoutMs, () => reject(new Error("timeout")))
      );
    }
    await Promise.resolve();
    return await target.handle({ ...message, id: ++this.#id } as Request);
  }

  partition(a: string, b: string): void {
    this.blocked.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Gossip rounds, each followed by one interval of time. */
  async gossip(rounds: number): Promise<void> {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < rounds; i++) {
      pending.push(...[...this.nodes.values()].map((n) => n.gossipRound()));
      await this.clock.advance(100);
    }
    let done = false;
    const all = Promise.all(pending).then(() => done = true);
    for (let i = 0; i < 20 && !done; i++) await this.clock.advance(600);
    await all;
    await this.settle();
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await this.clock.advance(0);
      if ([...this.nodes.values()].every((n) => n.settled())) return;
      await this.clock.advance(600); // lets timeouts fire
    }
  }

  node(id: string): DhtNode {
    return this.nodes.get(id)!;
  }

  local(id: string, key: string): string | null | undefined {
    const held = this.node(id).store.get(key);
    return held ? (held.value ? text.decode(held.value) : null) : undefined;
  }
}

async function put(node: DhtNode, key: string, value: string, consistency = "quorum" as const) {
  return await node.handle({ kind: "put", id: 1, key, value: utf8.encode(value), consistency });
}

async function get(node: DhtNode, key: string, consistency: "one" | "quorum" | "all" = "quorum") {
  const reply = await node.handle({ kind: "get", id: 1, key, consistency });
  assert.equal(reply.kind, "get_ok", JSON.stringify(reply));
  return reply.kind === "get_ok" && reply.item?.value ? text.decode(reply.item.value) : null;
}

async function threeNodes(options: Partial<DhtNodeOptions> = {}): Promise<FakeNet> {
  const net = new FakeNet();
  for (const id of ["a", "b", "c"]) net.add(id, options);
  await net.gossip(6);
  for (const n of net.nodes.values()) assert.deepEqual([...n.ring.nodes], ["a", "b", "c"]);
  return net;
}

Deno.test("quorum write reaches every replica; a quorum read returns it", async () => {
  const net = await threeNodes();
  const reply = await put(net.node("a"), "k", "v1");
  assert.equal(reply.kind, "put_ok");
  await net.settle();
  for (const id of ["a", "b", "c"]) assert.equal(net.local(id, "k"), "v1");
  assert.equal(await get(net.node("c"), "k"), "v1");
});

Deno.test("a partitioned replica: writes go on at W=2, hints wait, handoff delivers after heal", async () => {
  const net = await threeNodes();
  net.partition("c", "a");
  net.partition("c", "b");
  await net.gossip(8); // a and b judge c dead
  assert.equal(net.node("a").membership.reachable("c"), false);
  const reply = await put(net.node("a"), "k", "v2");
  assert.equal(reply.kind, "put_ok");
  await net.settle();
  assert.equal(net.local("c", "k"), undefined);
  assert.equal(net.node("a").hints.count("c"), 1);
  net.heal();
  await net.gossip(3);
  net.node("a").handoffRound();
  await net.settle();
  assert.equal(net.local("c", "k"), "v2");
  assert.equal(net.node("a").hints.size, 0);
  assert.equal(net.node("a").stats.hintsDelivered, 1);
});

Deno.test("a write that times out on a replica leaves a hint too (before it is judged dead)", async () => {
  const net = await threeNodes();
  net.partition("a", "c");
  const reply = await put(net.node("a"), "k", "v");
  assert.equal(reply.kind, "put_ok");
  await net.settle(); // the rpc to c times out
  assert.equal(net.node("a").hints.count("c"), 1);
});

Deno.test("hints off: read repair brings a stale replica up to date", async () => {
  const net = await threeNodes({ maxHints: 0 });
  await put(net.node("a"), "k", "old");
  await net.settle();
  net.partition("c", "a");
  net.partition("c", "b");
  await put(net.node("a"), "k", "new");
  await net.settle();
  net.heal();
  assert.equal(net.local("c", "k"), "old");
  assert.equal(await get(net.node("a"), "k", "all"), "new");
  await net.settle();
  assert.equal(net.local("c", "k"), "new");
  assert.ok(net.node("a").stats.repairs >= 1);
});

Deno.test("too few replicas: a quorum write is refused, not acknowledged", async () => {
  const net = await threeNodes();
  net.partition("a", "b");
  net.partition("a", "c");
  const pending = put(net.node("a"), "k", "v");
  await net.settle();
  const reply = await pending;
  assert.equal(reply.kind, "error");
  assert.match(reply.kind === "error" ? reply.reason : "", /quorum not reached/);
});

Deno.test("concurrent writers: every replica converges to the highest stamp (LWW, node-id tie-break)", async () => {
  const net = await threeNodes();
  // Same wall ms on both coordinators: the counter is 0 for both, b wins the tie by id.
  const [x, y] = await Promise.all([
    put(net.node("a"), "k", "from-a"),
    put(net.node("b"), "k", "from-b"),
  ]);
  assert.equal(x.kind, "put_ok");
  assert.equal(y.kind, "put_ok");
  await net.settle();
  for (const id of ["a", "b", "c"]) assert.equal(net.local(id, "k"), "from-b");
  // A coordinator that has seen a newer stamp orders its next write after it.
  net.wall -= 500; // a's wall clock is now behind what it has seen
  await get(net.node("a"), "k");
  await put(net.node("a"), "k", "later");
  await net.settle();
  for (const id of ["a", "b", "c"]) assert.equal(net.local(id, "k"), "later");
});

Deno.test("a join transfers only the changed keys to the newcomer; a leave hands them back", async () => {
  const net = await threeNodes();
  for (let i = 0; i < 90; i++) await put(net.node("a"), `k${i}`, `v${i}`, "all" as "quorum");
  await net.settle();
  net.wall += 1000; // the newcomer starts later: its entry's version is newer
  const d = net.add("d");
  await net.gossip(8);
  await net.settle();
  const received = d.stats.transferReceivedNew;
  const shouldHold = Array.from({ length: 90 }, (_, i) => `k${i}`)
    .filter((k) => d.ring.preferenceList(k, 3).includes("d"));
  assert.equal(received, shouldHold.length);
  for (const k of shouldHold) assert.ok(d.store.get(k), k);
  for (const id of ["a", "b", "c"]) assert.equal(net.node(id).stats.transferReceived, 0, id);
  // Every node holds exactly its keys: 90 * 3 replicas in all.
  const total = [...net.nodes.values()].reduce((n, node) => n + node.store.size, 0);
  assert.equal(total, 270);
  const sent = await d.leave();
  assert.equal(sent, shouldHold.length);
  await net.gossip(4);
  await net.settle();
  for (const id of ["a", "b", "c"]) assert.deepEqual([...net.node(id).ring.nodes], ["a", "b", "c"]);
  for (let i = 0; i < 90; i++) assert.equal(await get(net.node("b"), `k${i}`, "all"), `v${i}`);
});
