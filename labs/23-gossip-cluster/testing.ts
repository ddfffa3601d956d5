/**
 * Lab 23 test helpers: start a cluster of real gossip_node processes (on loopback, or one
 * or more per test host of a namespace network), read each node's view of a member from
 * its JSON member events, and a fake peer that speaks the wire protocol.
 *
 * @module
 */

import {
  type RoleProcess,
  spawnRole,
  type TestHost,
  type TestNetwork,
  waitFor,
} from "@lib/testing/mod.ts";
import { Subscriber, XPublisher } from "@lib/zmq/mod.ts";

/** Flags that make the protocol fast enough for tests (and the defaults for the rest). */
export const FAST = [
  "--view",
  "none",
  "--probe-interval",
  "500ms",
  "--probe-timeout",
  "250ms",
  "--gossip-interval",
  "100ms",
  "--sync-interval",
  "3s",
  "--load-interval",
  "0",
  "--tick",
  "50",
];

/**
 * memberlist's LAN timing (probe every 1 s, ack timeout 500 ms, suspicion ×4): for the
 * namespace tests, where TCP under packet loss and a loaded machine delay messages.
 */
export const LAN = [
  ...FAST,
  "--probe-interval",
  "1s",
  "--probe-timeout",
  "500ms",
  "--gossip-interval",
  "200ms",
];

/** One running node. */
export interface ClusterNode {
  id: string;
  proc: RoleProcess;
  endpoint: string;
}

/** A running cluster; dispose kills whatever still runs. */
export interface Cluster extends AsyncDisposable {
  nodes: ClusterNode[];
  /** The node with this id. */
  node(id: string): ClusterNode;
  /** Starts one more node that joins through `seed` (default: the first node). */
  add(
    id: string,
    options?: { host?: TestHost; seed?: string; args?: string[] },
  ): Promise<ClusterNode>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Node count. */
  n: number;
  /** Extra flags for every node. */
  args?: string[];
  /** Test hosts: node i runs on hosts[i % hosts.length]; default loopback. */
  hosts?: readonly TestHost[];
}

/** The id of node `i`: n00, n01, ... */
export function nodeId(i: number): string {
  return `n${String(i).padStart(2, "0")}`;
}

async function spawnNode(
  id: string,
  args: string[],
  host: TestHost | undefined,
  seed: string | undefined,
): Promise<ClusterNode> {
  const address = host?.address ?? "127.0.0.1";
  const proc = await spawnRole("23", "gossip_node", [
    "--id",
    id,
    "--bind",
    `tcp://${address}:*`,
    ...(seed ? ["--seed", seed] : []),
    ...args,
  ], host ? { netns: host.netns } : {});
  try {
    // 20 deno processes starting at once on a loaded 2-core box are slow: be generous.
    const { endpoint } = await proc.event("listening", undefined, { timeout: 120_000 });
    return { id, proc, endpoint: String(endpoint) };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Starts node n00 (a new cluster), then the others concurrently, all joining through n00.
 *
 * @example
 * ```ts
 * import { FAST, startCluster } from "./testing.ts";
 * await using cluster = await startCluster({ n: 3, args: FAST });
 * console.log(cluster.nodes.map((n) => n.endpoint));
 * ```
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const args = options.args ?? FAST;
  const hostOf = (i: number) => options.hosts?.[i % options.hosts.length];
  const nodes: ClusterNode[] = [];
  const cluster: Cluster = {
    nodes,
    node(id) {
      const found = nodes.find((n) => n.id === id);
      if (!found) throw new Error(`no node ${id}`);
      return found;
    },
    async add(id, more = {}) {
      const node = await spawnNode(
        id,
        [...args, ...(more.args ?? [])],
        more.host,
        more.seed ?? nodes[0].endpoint,
      );
      nodes.push(node);
      return node;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((n) => n.proc[Symbol.asyncDispose]()));
    },
  };
  try {
    nodes.push(await spawnNode(nodeId(0), args, hostOf(0), undefined));
    const rest = await Promise.allSettled(
      Array.from(
        { length: options.n - 1 },
        (_, i) => spawnNode(nodeId(i + 1), args, hostOf(i + 1), nodes[0].endpoint),
      ),
    );
    for (const r of rest) if (r.status === "fulfilled") nodes.push(r.value);
    const failed = rest.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    nodes.sort((a, b) => a.id < b.id ? -1 : 1);
    return cluster;
  } catch (error) {
    await cluster[Symbol.asyncDispose]();
    throw error;
  }
}

const MEMBER_EVENTS: Record<string, string> = {
  member_alive: "alive",
  member_suspect: "suspect",
  member_dead: "dead",
  member_left: "left",
};

/**
 * What `observer` last logged about `member`: its state and incarnation (undefined when it
 * never logged anything about it). An incarnation bump of an alive member is not logged, so
 * the incarnation is the one of the last state change.
 */
export function viewOf(
  observer: ClusterNode,
  member: string,
): { state: string; incarnation: number } | undefined {
  for (let i = observer.proc.events.length - 1; i >= 0; i--) {
    const e = observer.proc.events[i];
    if (e.member === member && e.event in MEMBER_EVENTS) {
      return { state: MEMBER_EVENTS[e.event], incarnation: Number(e.incarnation) };
    }
  }
  return undefined;
}

/**
 * Waits until every node in `observers` holds `member` in `state`; returns how long it took.
 *
 * @example
 * ```ts
 * import { FAST, startCluster, waitAllSee } from "./testing.ts";
 * await using cluster = await startCluster({ n: 3, args: FAST });
 * await waitAllSee(cluster.nodes.slice(1), "n00", "alive", 20_000);
 * ```
 */
export async function waitAllSee(
  observers: ClusterNode[],
  member: string,
  state: string,
  timeoutMs: number,
): Promise<number> {
  const start = performance.now();
  await waitFor(
    `${observers.length} nodes to see ${member} ${state} (${
      observers.filter((o) => viewOf(o, member)?.state !== state).map((o) => o.id).join(",")
    } did not yet at the start)`,
    () => observers.every((o) => o.id === member || viewOf(o, member)?.state === state),
    { timeoutMs, intervalMs: 50 },
  );
  return performance.now() - start;
}

/**
 * Waits until every node sees every other node alive (one view of the whole cluster).
 *
 * @example
 * ```ts
 * import { FAST, startCluster, waitOneView } from "./testing.ts";
 * await using cluster = await startCluster({ n: 3, args: FAST });
 * await waitOneView(cluster.nodes, 20_000);
 * ```
 */
export async function waitOneView(nodes: ClusterNode[], timeoutMs: number): Promise<number> {
  const start = performance.now();
  const missing = () => {
    const out: string[] = [];
    for (const o of nodes) {
      for (const m of nodes) {
        if (o !== m && viewOf(o, m.id)?.state !== "alive") out.push(`${o.id}:${m.id}`);
      }
    }
    return out;
  };
  let last: string[] = [];
  try {
    await waitFor("one view of the cluster", () => (last = missing()).length === 0, {
      timeoutMs,
      intervalMs: 100,
    });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; still not alive (observer:member): ${
        last.slice(0, 30).join(" ")
      }`,
    );
  }
  return performance.now() - start;
}

/**
 * A fake peer on the wire: an XPUB (its outbox, which a node under test joins through as a
 * seed) and a SUB subscribed to its own inbox. Close it when done.
 *
 * @example
 * ```ts
 * import { fakePeer } from "./testing.ts";
 * await using peer = await fakePeer("fake");
 * console.log(peer.endpoint);
 * ```
 */
export async function fakePeer(id: string): Promise<
  AsyncDisposable & { id: string; xpub: XPublisher; sub: Subscriber; endpoint: string }
> {
  const xpub = new XPublisher({ verbose: true, linger: 0 });
  await xpub.bind("tcp://127.0.0.1:*");
  const sub = new Subscriber({ linger: 0 });
  sub.subscribe(`${id}:`);
  return {
    id,
    xpub,
    sub,
    endpoint: xpub.lastEndpoint!,
    [Symbol.asyncDispose]: () => {
      sub.close();
      xpub.close();
      return Promise.resolve();
    },
  };
}

/**
 * Packets the `statistic` (loss) rules of `host` dropped so far (iptables counters).
 *
 * @example
 * ```ts
 * import { createTestNetwork } from "@lib/testing/mod.ts";
 * import { droppedPackets } from "./testing.ts";
 * await using net = await createTestNetwork();
 * await net.loss("h1", 0.1);
 * console.log(await droppedPackets(net, "h1")); // 0 until h1 sends something
 * ```
 */
export async function droppedPackets(net: TestNetwork, host: string): Promise<number> {
  const out = await net.command(host, "iptables", ["-L", "OUTPUT", "-v", "-x", "-n"], {
    stdout: "piped",
    stderr: "piped",
  }).output();
  let total = 0;
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line.includes("statistic")) total += Number(line.trim().split(/\s+/)[0]) || 0;
  }
  return total;
}
