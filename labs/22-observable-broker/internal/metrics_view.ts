/**
 * What `client_app watch` shows: a view computed from two scrapes of the broker's
 * `/metrics` (rates need the previous one), and its rendering as text lines.
 *
 * @module
 */
import type { MetricFamily } from "./prometheus_text.ts";

/** One direction's line. */
export interface DirectionView {
  direction: string;
  forwarded: number;
  perSecond: number;
  bytes: number;
  dropped: number;
  captureDropped: number;
}

/** The whole view. */
export interface MetricsView {
  uptimeSeconds: number;
  paused: boolean;
  directions: DirectionView[];
  roundTrip: { count: number; meanMs: number; p50Ms: number; p99Ms: number };
  pendingRequests: number;
  peers: number;
  peersEvicted: number;
  captureSent: number;
  badMessages: number;
  top: { peer: string; requests: number; replies: number; bytes: number }[];
}

/** Samples named `name` (a histogram's `_bucket`/`_sum`/`_count` live in its family). */
function samples(families: MetricFamily[], name: string) {
  return families.flatMap((f) => f.samples.filter((s) => s.name === name));
}

function sum(families: MetricFamily[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples(families, name)) {
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/**
 * Quantile estimate from cumulative buckets, as Prometheus' `histogram_quantile`: linear
 * within the bucket that holds the rank (the lower bound of the first bucket is 0); the
 * highest finite bound if the rank falls in +Inf. NaN with no samples.
 *
 * @example
 * ```ts
 * import { histogramQuantile } from "./metrics_view.ts";
 * histogramQuantile(0.5, [[0.1, 2], [0.2, 4], [Infinity, 4]]); // 0.1
 * ```
 */
export function histogramQuantile(q: number, buckets: [number, number][]): number {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + (bound - prevBound) * (rank - prevCount) / (count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/**
 * Builds the view from this scrape and the previous one (`dtSeconds` apart).
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prometheus_text.ts";
 * import { buildView } from "./metrics_view.ts";
 * const f = parsePrometheusText('broker_forwarded_messages_total{direction="f2b"} 10\n');
 * buildView(f, undefined, 1).directions[0].forwarded; // 10
 * ```
 */
export function buildView(
  now: MetricFamily[],
  previous: MetricFamily[] | undefined,
  dtSeconds: number,
): MetricsView {
  const directions = ["f2b", "b2f"].map((direction) => {
    const forwarded = sum(now, "broker_forwarded_messages_total", { direction });
    const before = previous
      ? sum(previous, "broker_forwarded_messages_total", { direction })
      : forwarded;
    return {
      direction,
      forwarded,
      perSecond: dtSeconds > 0 ? Math.max(0, forwarded - before) / dtSeconds : 0,
      bytes: sum(now, "broker_forwarded_bytes_total", { direction }),
      dropped: sum(now, "broker_dropped_messages_total", { direction }),
      captureDropped: sum(now, "broker_capture_dropped_total", { direction }),
    };
  });
  const buckets = samples(now, "broker_round_trip_seconds_bucket").map((s): [number, number] => [
    s.labels.le === "+Inf" ? Infinity : Number(s.labels.le),
    s.value,
  ]);
  const count = sum(now, "broker_round_trip_seconds_count");
  const total = sum(now, "broker_round_trip_seconds_sum");
  const peers = new Map<
    string,
    { peer: string; requests: number; replies: number; bytes: number }
  >();
  for (const s of samples(now, "broker_peer_messages_total")) {
    const p = peers.get(s.labels.peer) ??
      { peer: s.labels.peer, requests: 0, replies: 0, bytes: 0 };
    if (s.labels.direction === "f2b") p.requests = s.value;
    else p.replies = s.value;
    peers.set(s.labels.peer, p);
  }
  for (const s of samples(now, "broker_peer_bytes_total")) {
    const p = peers.get(s.labels.peer);
    if (p) p.bytes += s.value;
  }
  return {
    uptimeSeconds: sum(now, "broker_uptime_seconds"),
    paused: sum(now, "broker_paused") === 1,
    directions,
    roundTrip: {
      count,
      meanMs: count > 0 ? (total / count) * 1000 : 0,
      p50Ms: histogramQuantile(0.5, buckets) * 1000,
      p99Ms: histogramQuantile(0.99, buckets) * 1000,
    },
    pendingRequests: sum(now, "broker_pending_requests"),
    peers: sum(now, "broker_peers"),
    peersEvicted: sum(now, "broker_peers_evicted_total"),
    captureSent: sum(now, "broker_capture_messages_total"),
    badMessages: sum(now, "broker_bad_messages_total"),
    top: [...peers.values()].sort((a, b) => (b.requests + b.replies) - (a.requests + a.replies)),
  };
}

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : "-");

/**
 * The view as text lines (a table per section).
 *
 * @example
 * ```ts
 * import { buildView, renderView } from "./metrics_view.ts";
 * console.log(renderView(buildView([], undefined, 1), "http://127.0.0.1:9464/metrics", 5).join("\n"));
 * ```
 */
export function renderView(v: MetricsView, source: string, top: number): string[] {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `monitored_broker ${source}  up ${v.uptimeSeconds.toFixed(1)} s  ${
      v.paused ? "PAUSED" : "forwarding"
    }`,
    `${"direction".padEnd(10)}${pad("forwarded", 12)}${pad("msg/s", 10)}${pad("bytes", 14)}${
      pad("dropped", 9)
    }${pad("cap.drop", 10)}`,
  ];
  for (const d of v.directions) {
    lines.push(
      `${d.direction.padEnd(10)}${pad(d.forwarded, 12)}${pad(d.perSecond.toFixed(0), 10)}${
        pad(d.bytes, 14)
      }${pad(d.dropped, 9)}${pad(d.captureDropped, 10)}`,
    );
  }
  lines.push(
    `round trip: ${v.roundTrip.count} measured, mean ${ms(v.roundTrip.meanMs)}, p50 ~${
      ms(v.roundTrip.p50Ms)
    }, p99 ~${ms(v.roundTrip.p99Ms)}`,
    `pending requests ${v.pendingRequests}  peers ${v.peers} (evicted ${v.peersEvicted})  captured ${v.captureSent}  bad messages ${v.badMessages}`,
    `${"top talker".padEnd(24)}${pad("requests", 10)}${pad("replies", 10)}${pad("bytes", 14)}`,
  );
  for (const p of v.top.slice(0, top)) {
    lines.push(
      `${p.peer.slice(0, 23).padEnd(24)}${pad(p.requests, 10)}${pad(p.replies, 10)}${
        pad(p.bytes, 14)
      }`,
    );
  }
  return lines;
}
