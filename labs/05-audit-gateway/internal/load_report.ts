/**
 * The load client's records and per-round report.
 *
 * @module
 */
import type { ClientRecord, ClientSession } from "./client_session.ts";
import { latencySummary } from "@lib/async/mod.ts";

/**
 * The records one simulated client sends in a round: ids `<prefix>-c<client>-r<n>`.
 *
 * @example
 * ```ts
 * auditRecords("run1", 0, 2)[1].id; // "run1-c0-r1"
 * ```
 */
export function auditRecords(
  prefix: string,
  client: number,
  count: number,
  filler = "",
): ClientRecord[] {
  const actions = ["login", "read", "update"];
  return Array.from({ length: count }, (_, r) => ({
    id: `${prefix}-c${client}-r${r}`,
    record: {
      actor: `user-${client}`,
      action: actions[r % actions.length],
      resource: `doc/${r}`,
      ...(filler ? { data: filler } : {}),
    },
  }));
}

/** One round's figures (the client's `summary` event). */
export interface RoundSummary {
  round: number;
  clients: number;
  records: number;
  acked: number;
  failed: number;
  unacked: number;
  busy_replies: number;
  resends: number;
  duplicate_acks: number;
  ack_mismatches: number;
  elapsed_ms: number;
  acks_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * Sums the sessions of a round into its summary.
 *
 * @example
 * ```ts
 * const summary = roundSummary(1, sessions, 10, performance.now() - started);
 * ```
 */
export function roundSummary(
  round: number,
  sessions: readonly ClientSession[],
  recordsPerClient: number,
  elapsedMs: number,
): RoundSummary {
  const sum = (key: keyof ClientSession["stats"]) => sessions.reduce((n, s) => n + s.stats[key], 0);
  const latencies: number[] = [];
  for (const s of sessions) for (const ack of s.acks.values()) latencies.push(ack.latencyMs);
  const failed = sessions.reduce((n, s) => n + s.failed.size, 0);
  const records = sessions.length * recordsPerClient;
  const latency = latencySummary(latencies);
  return {
    round,
    clients: sessions.length,
    records,
    acked: latencies.length,
    failed,
    unacked: records - latencies.length - failed,
    busy_replies: sum("busy"),
    resends: sum("resends"),
    duplicate_acks: sum("duplicateAcks"),
    ack_mismatches: sum("mismatches"),
    elapsed_ms: Math.round(elapsedMs),
    acks_per_s: elapsedMs > 0 ? Math.round(latencies.length / (elapsedMs / 1000)) : 0,
    p50_ms: latency.p50,
    p99_ms: latency.p99,
    max_ms: latency.max,
  };
}

/**
 * One line for people.
 *
 * @example
 * ```ts
 * formatSummary(summary); // "round 1: acked 10/10 (failed 0, busy 0, resends 0) in 5 ms: ..."
 * ```
 */
export function formatSummary(s: RoundSummary): string {
  return `round ${s.round}: acked ${s.acked}/${s.records} (failed ${s.failed}, busy ` +
    `${s.busy_replies}, resends ${s.resends}) in ${s.elapsed_ms} ms: ${s.acks_per_s} acks/s, ` +
    `p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms`;
}
