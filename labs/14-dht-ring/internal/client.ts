/**
 * client_put_get's logic: runs puts, gets and deletes against the ring through any node
 * (each node coordinates), failing over to the next `--node` on a timeout or refusal, with
 * a window of requests in flight; and collects the `ring` view from every node.
 *
 * @module
 */

import { Backoff, delay } from "@lib/async/mod.ts";
import type { Transport } from "./node.ts";
import type { Reply, Request, RingOk } from "./protocol.ts";

/** Options of {@link runOps}. */
export interface ClientOptions {
  nodes: string[];
  timeoutMs: number;
  /** Attempts per request, over the nodes in turn. */
  retries: number;
  window: number;
  /** Pause after each operation, per window slot (0 = none). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** One finished operation. */
export interface OpResult {
  op: "put" | "get" | "del";
  key: string;
  ok: boolean;
  /** The value written, or read (utf-8); null: not found or deleted. */
  value?: string | null;
  found?: boolean;
  stamp?: { wall: number; counter: number; node: string };
  acks?: number;
  replies?: number;
  error?: string;
  /** The node that answered. */
  via?: string;
  attempts: number;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Sends one request with failover; resolves with the reply and the node that gave it. */
export async function requestWithFailover(
  transport: Transport,
  options: ClientOptions,
  message: Request,
  start = 0,
): Promise<{ reply: Reply; via: string; attempts: number } | { error: string; attempts: number }> {
  let last = "no attempt";
  // Every node once at once; then a capped, jittered pause before each further attempt
  // (a ring still forming, a coordinator that lost its quorum for a moment).
  const backoff = new Backoff({ initialMs: 100, maxMs: 2000 });
  for (let attempt = 0; attempt < options.retries; attempt++) {
    if (attempt >= options.nodes.length) await delay(backoff.next(), { signal: options.signal });
    if (options.signal?.aborted) return { error: "stopped", attempts: attempt };
    const via = options.nodes[(start + attempt) % options.nodes.length];
    try {
      const reply = await transport.request(via, message, options.timeoutMs);
      if (reply.kind === "error") {
        last = `${via}: ${reply.reason}`;
        continue;
      }
      return { reply, via, attempts: attempt + 1 };
    } catch (error) {
      last = `${via}: ${(error as Error).message}`;
    }
  }
  return { error: last, attempts: options.retries };
}

/**
 * Runs `count` operations (keys `key`, or `key0..key{count-1}` when count > 1) with a window
 * in flight, calling `onResult` for each as it finishes.
 */
export async function runOps(
  transport: Transport,
  options: ClientOptions,
  op: "put" | "get" | "del",
  spec: { key: string; value?: string; count: number; consistency: string },
  onResult: (result: OpResult) => void,
): Promise<{ ok: number; failed: number }> {
  let next = 0, ok = 0, failed = 0;
  const one = async (i: number) => {
    const key = spec.count > 1 ? `${spec.key}${i}` : spec.key;
    const value = op === "put"
      ? (spec.count > 1 ? `${spec.value ?? ""}${i}` : spec.value ?? "")
      : null;
    const message: Request = op === "get"
      ? {
        kind: "get",
        id: 0,
        key,
        consistency: spec.consistency as "one" | "quorum" | "all" | "local",
      }
      : {
        kind: "put",
        id: 0,
        key,
        value: value === null ? null : utf8.encode(value),
        consistency: spec.consistency as "one" | "quorum" | "all",
      };
    const outcome = await requestWithFailover(transport, options, message, i);
    if ("error" in outcome && outcome.error === "stopped") return; // not tried: no result
    if ("error" in outcome) {
      failed++;
      onResult({ op, key, ok: false, error: outcome.error, attempts: outcome.attempts });
      return;
    }
    const { reply, via, attempts } = outcome;
    if (reply.kind === "put_ok") {
      ok++;
      onResult({
        op,
        key,
        ok: true,
        value,
        stamp: { wall: reply.wall, counter: reply.counter, node: reply.node },
        acks: reply.acks,
        via,
        attempts,
      });
    } else if (reply.kind === "get_ok") {
      ok++;
      const item = reply.item;
      onResult({
        op,
        key,
        ok: true,
        found: item !== null && item.value !== null,
        value: item?.value ? text.decode(item.value) : null,
        stamp: item ? { wall: item.wall, counter: item.counter, node: item.node } : undefined,
        replies: reply.replies,
        via,
        attempts,
      });
    } else {
      failed++;
      onResult({ op, key, ok: false, error: `unexpected reply ${reply.kind}`, via, attempts });
    }
  };
  const workers = Array.from({ length: Math.min(options.window, spec.count) }, async () => {
    while (next < spec.count && !options.signal?.aborted) {
      await one(next++);
      if (options.intervalMs) await delay(options.intervalMs, { signal: options.signal });
    }
  });
  await Promise.all(workers);
  return { ok, failed };
}

/** One node's answer in the ring view (or why it gave none). */
export interface NodeView {
  endpoint: string;
  info?: RingOk;
  error?: string;
}

/** Asks the first node that answers for the ring, then every member for its own load. */
export async function collectRing(
  transport: Transport,
  options: ClientOptions,
): Promise<{ ring?: RingOk; views: NodeView[]; error?: string }> {
  const first = await requestWithFailover(transport, options, { kind: "ring", id: 0 });
  if ("error" in first) return { views: [], error: first.error };
  if (first.reply.kind !== "ring_ok") return { views: [], error: `unexpected ${first.reply.kind}` };
  const ring = first.reply;
  const views = await Promise.all(
    ring.members.filter((m) => m.status === "up").map(async (m): Promise<NodeView> => {
      try {
        const reply = await transport.request(
          m.endpoint,
          { kind: "ring", id: 0 },
          options.timeoutMs,
        );
        return reply.kind === "ring_ok"
          ? { endpoint: m.endpoint, info: reply }
          : { endpoint: m.endpoint, error: reply.kind };
      } catch (error) {
        return { endpoint: m.endpoint, error: (error as Error).message };
      }
    }),
  );
  return { ring, views };
}

/** The ring as table lines: node, liveness, tokens, share, keys; then max/mean keys. */
export function ringTable(ring: RingOk, views: NodeView[]): string[] {
  const byId = new Map(views.filter((v) => v.info).map((v) => [v.info!.node, v.info!]));
  const lines = [
    `ring seen by ${ring.node}: N=${ring.n} R=${ring.r} W=${ring.w}`,
    `${"node".padEnd(22)} ${"status".padEnd(6)} ${"liveness".padEnd(8)} ${"tokens".padStart(6)} ${
      "share".padStart(7)
    } ${"keys".padStart(8)} ${"hints".padStart(6)}`,
  ];
  const counts: number[] = [];
  for (const m of [...ring.members].sort((a, b) => a.id.localeCompare(b.id))) {
    const info = byId.get(m.id);
    if (info && m.status === "up") counts.push(info.keys);
    lines.push(
      `${m.id.slice(0, 22).padEnd(22)} ${m.status.padEnd(6)} ${m.liveness.padEnd(8)} ${
        String(m.vnodes).padStart(6)
      } ${(m.share * 100).toFixed(1).padStart(6)}% ${
        (info ? String(info.keys) : "-").padStart(8)
      } ${(info ? String(info.hints) : "-").padStart(6)}`,
    );
  }
  if (counts.length > 0) {
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const max = Math.max(...counts);
    lines.push(
      `keys: total ${counts.reduce((a, b) => a + b, 0)} (replicas), max/mean ${
        mean > 0 ? (max / mean).toFixed(2) : "-"
      }`,
    );
  }
  return lines;
}
