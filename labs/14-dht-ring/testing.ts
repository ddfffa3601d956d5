/**
 * Lab 14 test helpers: start dht_node clusters on ephemeral ports (or inside test hosts'
 * network namespaces), wait until every node sees the whole ring, and run the client.
 *
 * @module
 */

import { type RoleProcess, runOnce, spawnRole, waitFor } from "@lib/testing/mod.ts";
import { systemClock } from "@lib/async/mod.ts";
import type { OpResult } from "./internal/client.ts";
import { DealerTransport } from "./internal/dealer_transport.ts";

/** Fast timings for tests (gossip 100 ms, dead after 8 silent rounds). */
export const FAST = [
  "--gossip-interval",
  "100",
  "--rpc-timeout",
  "1000",
  "--handoff-interval",
  "200",
  "--suspect-after",
  "4",
  "--dead-after",
  "8",
  "--view",
  "none",
  "--stats-interval",
  "0",
];

/** A running dht_node. */
export interface Node extends AsyncDisposable {
  proc: RoleProcess;
  id: string;
  endpoint: string;
}

/** Starts one dht_node (`bind` default: an ephemeral loopback port). */
export async function startNode(
  id: string,
  args: string[] = [],
  options: { bind?: string; netns?: string } = {},
): Promise<Node> {
  const proc = await spawnRole("14", "dht_node", [
    "--bind",
    options.bind ?? "tcp://127.0.0.1:*",
    "--id",
    id,
    ...FAST,
    ...args,
  ], { netns: options.netns, name: id });
  try {
    const { endpoint } = await proc.event("listening", undefined, { timeout: 30_000 });
    return {
      proc,
      id,
      endpoint: String(endpoint),
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** Waits until `node` has logged a ring of `size` nodes. */
export async function ringOf(node: Node, size: number, timeout = 60_000): Promise<void> {
  await node.proc.event("ring_changed", (e) => e.nodes === size, { timeout });
}

/** A cluster: n1 first, the others seeded with n1's endpoint; resolves once all see all. */
export async function startCluster(
  count: number,
  args: string[] = [],
  prefix = "n",
): Promise<Node[]> {
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode(`${prefix}1`, args));
    for (let i = 2; i <= count; i++) {
      nodes.push(await startNode(`${prefix}${i}`, ["--seed", nodes[0].endpoint, ...args]));
    }
    if (count > 1) await Promise.all(nodes.map((n) => ringOf(n, count)));
    return nodes;
  } catch (error) {
    await disposeAll(nodes);
    throw error;
  }
}

/** Kills every node still running. */
export async function disposeAll(nodes: Node[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n[Symbol.asyncDispose]()));
}

/** Runs client_put_get with `--json` and returns its exit code and results. */
export async function client(
  nodes: string[],
  args: string[],
  options: { netns?: string; timeout?: number } = {},
): Promise<{ code: number; results: OpResult[]; stdout: string; stderr: string }> {
  const result = await runOnce("14", "client_put_get", [
    ...nodes.flatMap((n) => ["--node", n]),
    "--json",
    ...args,
  ], { netns: options.netns, timeout: options.timeout ?? 60_000 });
  const results = result.stdoutLines.filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as OpResult
  );
  return { code: result.code, results, stdout: result.stdout, stderr: result.stderr };
}

/**
 * A node's local copy of each key (`get --consistency local`): asked from this process
 * over a DEALER, or by the client inside `netns` (the test network is not reachable from
 * the root namespace).
 */
export async function localValues(
  node: string,
  prefix: string,
  count: number,
  options: { netns?: string } = {},
): Promise<Map<string, string | null>> {
  if (!options.netns) return await localDirect(node, prefix, count);
  const { results } = await client([node], [
    "get",
    prefix,
    "--count",
    String(count),
    "--consistency",
    "local",
    "--retries",
    "1",
  ], options);
  return new Map(results.map((r) => [r.key, r.found ? r.value ?? null : null]));
}

async function localDirect(
  node: string,
  prefix: string,
  count: number,
): Promise<Map<string, string | null>> {
  const loops: Promise<void>[] = [];
  const transport = new DealerTransport({
    clock: systemClock,
    serve: (dealer, onFrames) => {
      loops.push((async () => {
        try {
          for await (const frames of dealer) onFrames(frames);
        } catch {
          // closed
        }
      })());
    },
  });
  try {
    const out = new Map<string, string | null>();
    const text = new TextDecoder();
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const key = count > 1 ? `${prefix}${i}` : prefix;
      const reply = await transport.request(node, {
        kind: "get",
        id: 0,
        key,
        consistency: "local",
      }, 10_000);
      const item = reply.kind === "get_ok" ? reply.item : null;
      out.set(key, item?.value ? text.decode(item.value) : null);
    }));
    return out;
  } finally {
    transport.close();
    await Promise.allSettled(loops);
  }
}

/** Polls until `check` holds for a node's local copies. */
export async function waitLocal(
  what: string,
  node: string,
  prefix: string,
  count: number,
  check: (values: Map<string, string | null>) => boolean,
  options: { netns?: string; timeoutMs?: number } = {},
): Promise<Map<string, string | null>> {
  let last = new Map<string, string | null>();
  await waitFor(what, async () => {
    last = await localValues(node, prefix, count, options);
    return check(last);
  }, { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 500 });
  return last;
}
