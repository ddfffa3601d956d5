/**
 * Lab 17 test helpers: a Raft cluster of real consensus_node processes, one per test host
 * in network namespaces (`createTestNetwork`), with kill -9 / restart, leader lookup from
 * the nodes' JSON events, and the checks every test runs (never two leaders in a term).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  createTestNetwork,
  type RoleEvent,
  type RoleProcess,
  runOnce,
  spawnRole,
  type TempDir,
  tempDir,
  type TestNetwork,
  waitFor,
} from "@lib/testing/mod.ts";
import type { RegisterOp } from "./internal/linearizability.ts";

/** Peer (PUB) and client (ROUTER) ports on every test host. */
export const PEER_PORT = 5700;
/** Client port. */
export const CLIENT_PORT = 5800;

/** Flags that make elections quick in tests. */
export const FAST = [
  "--election-min",
  "500",
  "--election-max",
  "1000",
  "--heartbeat",
  "50",
  "--status-interval",
  "500",
  "--view",
  "none",
  "--snapshot-every",
  "100",
];

/** A cluster of consensus_node processes in network namespaces, plus a client host. */
export class NetCluster implements AsyncDisposable {
  readonly ids: string[];
  readonly procs = new Map<string, RoleProcess>();
  /** Every process that ever ran per node (restarts included), for the event checks. */
  readonly history = new Map<string, RoleProcess[]>();
  readonly net: TestNetwork;
  readonly dir: TempDir;
  readonly extra: string[];

  private constructor(net: TestNetwork, dir: TempDir, ids: string[], extra: string[]) {
    this.net = net;
    this.dir = dir;
    this.ids = ids;
    this.extra = extra;
  }

  /** Builds the network (hosts n1..nN and "client") and starts every node. */
  static async start(n = 5, extra: string[] = []): Promise<NetCluster> {
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const net = await createTestNetwork({ hosts: [...ids, "client"] });
    let dir: TempDir | undefined;
    try {
      dir = await tempDir();
    } catch (error) {
      await net.close();
      throw error;
    }
    const cluster = new NetCluster(net, dir, ids, extra);
    try {
      await Promise.all(ids.map((id) => cluster.startNode(id)));
      return cluster;
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The client endpoints of every node. */
  get clientEndpoints(): string[] {
    return this.ids.map((id) => `tcp://${this.net.host(id).address}:${CLIENT_PORT}`);
  }

  /** Starts (or restarts) one node; waits until it listens. */
  async startNode(id: string): Promise<RoleProcess> {
    const host = this.net.host(id);
    const peers = this.ids.filter((p) => p !== id).map((p) =>
      `${p}=tcp://${this.net.host(p).address}:${PEER_PORT}`
    );
    const proc = await spawnRole("17", "consensus_node", [
      "--id",
      id,
      "--bind",
      `tcp://${host.address}:${PEER_PORT}`,
      "--client-bind",
      `tcp://${host.address}:${CLIENT_PORT}`,
      "--peer",
      peers.join(","),
      "--data-dir",
      this.dir.path,
      ...FAST,
      ...this.extra,
    ], { netns: host.netns });
    this.procs.set(id, proc);
    this.history.set(id, [...(this.history.get(id) ?? []), proc]);
    await proc.event("state_restored", undefined, { timeout: 60_000 });
    return proc;
  }

  /** kill -9 one node. */
  async kill(id: string): Promise<void> {
    const proc = this.procs.get(id);
    this.procs.delete(id);
    if (proc) await proc.kill();
  }

  /** The running node that is leader in the highest term, from its latest role event. */
  leader(): { id: string; term: number } | undefined {
    let best: { id: string; term: number } | undefined;
    for (const [id, proc] of this.procs) {
      const last = [...proc.events].reverse().find((e) => e.event === "role_changed");
      if (last?.state === "leader" && (!best || Number(last.term) > best.term)) {
        best = { id, term: Number(last.term) };
      }
    }
    return best;
  }

  /** Waits for a leader (optionally one that satisfies `pred`). */
  async waitLeader(
    pred: (l: { id: string; term: number }) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<{ id: string; term: number }> {
    return await waitFor("a leader", () => {
      const l = this.leader();
      return l && pred(l) ? l : undefined;
    }, { timeoutMs });
  }

  /** Every `became_leader` event of every process that ever ran: [node, term]. */
  leaderships(): [string, number][] {
    const out: [string, number][] = [];
    for (const [id, procs] of this.history) {
      for (const p of procs) {
        for (const e of p.events) if (e.event === "became_leader") out.push([id, Number(e.term)]);
      }
    }
    return out;
  }

  /** Asserts Election Safety over every node's log of terms: never two leaders in one term. */
  assertOneLeaderPerTerm(): number {
    const byTerm = new Map<number, string>();
    for (const [id, term] of this.leaderships()) {
      const other = byTerm.get(term);
      assert.ok(
        other === undefined || other === id,
        `two leaders in term ${term}: ${other} and ${id}`,
      );
      byTerm.set(term, id);
    }
    return byTerm.size;
  }

  /** Runs client_proposer in the client host (a CLI invocation) and returns its JSON lines. */
  async client(args: string[], timeout = 60_000): Promise<Record<string, unknown>[]> {
    const result = await runOnce("17", "client_proposer", [
      "--node",
      this.clientEndpoints.join(","),
      "--json",
      ...args,
    ], { netns: this.net.host("client").netns, timeout });
    assert.equal(
      result.code,
      0,
      `client_proposer ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`,
    );
    return parseJsonLines(result.stdoutLines);
  }

  /** Starts a long-running client workload in the client host. */
  spawnClient(args: string[]): Promise<RoleProcess> {
    return spawnRole("17", "client_proposer", [
      "--node",
      this.clientEndpoints.join(","),
      "--json",
      ...args,
    ], { netns: this.net.host("client").netns });
  }

  /** Kills every process, then removes the network and the data. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const procs of this.history.values()) {
      for (const p of procs) await p[Symbol.asyncDispose]();
    }
    await this.net.close();
    await this.dir[Symbol.asyncDispose]();
  }
}

/** JSON objects among stdout lines. */
export function parseJsonLines(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // not ours
    }
  }
  return out;
}

/**
 * The register history of a workload's `op` lines: completed operations as they are,
 * writes with an unknown outcome open-ended (ret = Infinity), failed reads left out.
 */
export function registerHistory(ops: Record<string, unknown>[]): RegisterOp[] {
  const history: RegisterOp[] = [];
  for (const o of ops) {
    if (o.kind !== "op") continue;
    const write = o.op === "put";
    if (o.status === "ok") {
      history.push({
        kind: write ? "write" : "read",
        value: (o.value as string | null) ?? null,
        call: Number(o.call),
        ret: Number(o.ret),
        client: String(o.client),
      });
    } else if (write) {
      history.push({ kind: "write", value: String(o.value), call: Number(o.call), ret: Infinity });
    }
  }
  return history;
}

/** The latest event named `name` of a process, if any. */
export function lastEvent(proc: RoleProcess, name: string): RoleEvent | undefined {
  for (let i = proc.events.length - 1; i >= 0; i--) {
    if (proc.events[i].event === name) return proc.events[i];
  }
  return undefined;
}
