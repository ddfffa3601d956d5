/**
 * client_app: drives and watches the Lab 22 hub. One executable, four modes (subcommands):
 * - `client` (default): DEALER request clients on the broker's frontend, REQ-compatible
 *   envelope `["", body]`, `--window` requests in flight each, optional `--rate`;
 * - `worker`: a DEALER echo worker on the broker's backend (answers with the very frames
 *   it got, envelope included);
 * - `tap`: a SUB on the capture socket, printing (or counting) what passes and the gaps;
 * - `watch`: a live view of the broker's `/metrics` (redrawn in place on a TTY, plain
 *   lines when piped, one JSON object per scrape with `--json`).
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import { latencySummary, toHex } from "@lib/async/mod.ts";
import { endpoint, int, oneOf, type RoleContext, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Dealer, Subscriber } from "@lib/zmq/mod.ts";
import { parseCapture } from "../internal/capture.ts";
import { buildView, renderView } from "../internal/metrics_view.ts";
import { httpUrl } from "../internal/options.ts";
import { type MetricFamily, parsePrometheusText } from "../internal/prometheus_text.ts";
import { bodySeq, requestBody } from "../internal/request_body.ts";

interface ClientOptions {
  connect: string;
  clients: number;
  count: number;
  window: number;
  rate: number;
  size: number;
  timeout: number;
  name: string;
  statsInterval: number;
  json?: boolean;
}

const EMPTY = new Uint8Array(0);
const LATENCY_SAMPLES = 4096;

/** One DEALER client: keeps `window` requests in flight until `count` are answered or lost. */
async function runClient(ctx: RoleContext, o: ClientOptions, index: number, totals: ClientTotals) {
  const dealer = new Dealer({
    routingId: `${o.name}-${index}`,
    linger: 0,
    sendHighWaterMark: 10_000,
  });
  ctx.defer(() => dealer.close());
  dealer.connect(o.connect);
  const inFlight = new Map<number, number>(); // seq -> sent at (bounded by --window)
  let slot = Promise.withResolvers<void>();
  let seq = 0;
  const receiver = (async () => {
    for await (const frames of dealer) {
      try {
        if (frames.length !== 2 || frames[0].length !== 0) {
          throw new BadMessageError(`expected ["", body], got ${frames.length} frames`);
        }
        const s = bodySeq(frames[1], o.size);
        const sentAt = inFlight.get(s);
        if (sentAt === undefined) {
          totals.late++;
          continue; // answered after its timeout (already counted lost)
        }
        inFlight.delete(s);
        totals.samples[totals.replied % LATENCY_SAMPLES] = performance.now() - sentAt;
        totals.replied++;
        slot.resolve();
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        totals.bad++;
        ctx.badMessage(error.reason, { socket: "frontend", client: index });
      }
    }
  })();
  const expire = () => {
    const now = performance.now();
    for (const [s, at] of inFlight) {
      if (now - at < o.timeout) break; // insertion order = send order
      inFlight.delete(s);
      if (ctx.signal.aborted) {
        // The whole topology may be stopping (a demo's Ctrl+C): not a loss of the hub's.
        totals.unanswered++;
        continue;
      }
      totals.lost++;
      ctx.log.limited("warn", "request_lost", { client: index, seq: s, timeout_ms: o.timeout });
    }
    slot.resolve();
  };
  const timer = setInterval(expire, Math.max(10, Math.floor(o.timeout / 4)));
  try {
    const interval = o.rate > 0 ? 1000 / o.rate : 0;
    let next = performance.now();
    while (!ctx.signal.aborted && (o.count === 0 || seq < o.count)) {
      while (inFlight.size >= o.window && !ctx.signal.aborted) {
        await Promise.race([slot.promise, ctx.stopped]);
        slot = Promise.withResolvers<void>();
      }
      if (ctx.signal.aborted) break;
      if (interval > 0) {
        const wait = next - performance.now();
        if (wait > 0) await ctx.sleep(wait);
        next = Math.max(next + interval, performance.now() - 1000);
        if (ctx.signal.aborted) break;
      }
      seq++;
      inFlight.set(seq, performance.now());
      const frames = [EMPTY, requestBody(seq, o.size)];
      if (!dealer.sendSync(frames)) await dealer.send(frames);
      totals.sent++;
    }
    // Wait for the replies still in flight (each expires after --timeout at the latest).
    await ctx.drain(async (signal) => {
      while (inFlight.size > 0 && !signal.aborted) {
        await Promise.race([slot.promise, new Promise((r) => signal.addEventListener("abort", r))]);
        slot = Promise.withResolvers<void>();
      }
    }, { what: `replies of client ${index}` });
    totals.unanswered += inFlight.size;
    inFlight.clear();
  } finally {
    clearInterval(timer);
    dealer.close();
    await receiver.catch(() => {});
  }
}

interface ClientTotals {
  sent: number;
  replied: number;
  lost: number;
  /** Requests still unanswered once the client was asked to stop (not counted as lost). */
  unanswered: number;
  late: number;
  bad: number;
  samples: number[];
}

function clientSummary(t: ClientTotals) {
  return {
    sent: t.sent,
    replied: t.replied,
    lost: t.lost,
    unanswered_at_stop: t.unanswered,
    late: t.late,
    bad: t.bad,
    latency_ms: latencySummary(t.samples.slice(0, Math.min(t.replied, LATENCY_SAMPLES))),
  };
}

const client = {
  summary: "DEALER request clients on the broker frontend (REQ envelope, window, rate)",
  configure: (cmd: import("@lib/role/mod.ts").Command) =>
    cmd
      .option("--connect <endpoint>", "broker frontend", endpoint, "tcp://127.0.0.1:5620")
      .option("--clients <n>", "client sockets in this process", int({ min: 1, max: 1000 }), 1)
      .option("--count <n>", "requests per client (0 = until stopped)", int({ min: 0 }), 0)
      .option("--window <n>", "requests in flight per client", int({ min: 1, max: 10_000 }), 1)
      .option(
        "--rate <n>",
        "requests per second per client (0 = as fast as the window allows)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--size <bytes>",
        "request body size (>= 8)",
        int({ min: 8, max: 16 * 1024 * 1024 }),
        64,
      )
      .option(
        "--timeout <ms>",
        "a request not answered in time is counted lost (exit 1); one still open after a stop request is counted unanswered_at_stop",
        int({ min: 10 }),
        2500,
      )
      .option(
        "--name <prefix>",
        "routing identity prefix (identity = <prefix>-<n>)",
        `client-${Deno.pid}`,
      )
      .option(
        "--stats-interval <ms>",
        "period of the `client_stats` event (0 = off)",
        int({ min: 0 }),
        5000,
      )
      .option("--json", "print the final summary as JSON on stdout"),
  async run(o: ClientOptions, ctx: RoleContext) {
    const totals: ClientTotals = {
      sent: 0,
      replied: 0,
      lost: 0,
      unanswered: 0,
      late: 0,
      bad: 0,
      samples: [],
    };
    ctx.log.info("clients_started", {
      clients: o.clients,
      connect: o.connect,
      window: o.window,
      rate: o.rate,
    });
    ctx.every(o.statsInterval, () => ctx.log.info("client_stats", clientSummary(totals)));
    await Promise.all(Array.from({ length: o.clients }, (_, i) => runClient(ctx, o, i, totals)));
    const summary = clientSummary(totals);
    ctx.log.info("clients_done", summary);
    ctx.print(
      o.json
        ? JSON.stringify(summary)
        : `sent ${summary.sent} replied ${summary.replied} lost ${summary.lost} ` +
          `latency p50 ${summary.latency_ms.p50} ms p99 ${summary.latency_ms.p99} ms`,
    );
    if (summary.lost > 0 || summary.bad > 0) ctx.exitCode = 1;
  },
};

const worker = {
  summary: "DEALER echo worker on the broker backend",
  configure: (cmd: import("@lib/role/mod.ts").Command) =>
    cmd
      .option("--connect <endpoint>", "broker backend", endpoint, "tcp://127.0.0.1:5621")
      .option("--delay <ms>", "time to 'work' on each request", int({ min: 0 }), 0)
      .option(
        "--stats-interval <ms>",
        "period of the `worker_stats` event (0 = off)",
        int({ min: 0 }),
        5000,
      ),
  async run(o: { connect: string; delay: number; statsInterval: number }, ctx: RoleContext) {
    const dealer = new Dealer({
      linger: 1000,
      sendHighWaterMark: 10_000,
      receiveHighWaterMark: 10_000,
    });
    ctx.defer(() => dealer.close());
    dealer.connect(o.connect);
    ctx.log.info("worker_ready", { connect: o.connect });
    let handled = 0;
    ctx.every(o.statsInterval, () => ctx.log.info("worker_stats", { handled }));
    await ctx.serve(dealer, async (frames) => {
      // [identity..., "", body...]: a request needs its envelope delimiter to be answered.
      if (frames.findIndex((f) => f.length === 0) < 1) {
        throw new BadMessageError(
          `expected [identity, "", body...], got ${frames.length} frames without a delimiter after an identity`,
        );
      }
      if (o.delay > 0) await ctx.sleep(o.delay);
      if (!dealer.sendSync(frames)) await dealer.send(frames);
      handled++;
    }, { name: "backend" });
    ctx.log.info("worker_stats", { handled });
  },
};

const tap = {
  summary: "SUB on the capture socket: prints or counts captured traffic and gaps",
  configure: (cmd: import("@lib/role/mod.ts").Command) =>
    cmd
      .option("--connect <endpoint>", "broker capture PUB", endpoint, "tcp://127.0.0.1:5622")
      .option("--direction <dir>", "f2b, b2f or all", oneOf("all", "f2b", "b2f"), "all")
      .option("--quiet", "count only (no line per message)")
      .option("--receive-hwm <n>", "SUB receive high-water mark", int({ min: 1 }), 1000)
      .option(
        "--stats-interval <ms>",
        "period of the `tap_stats` event (0 = off)",
        int({ min: 0 }),
        5000,
      )
      .option("--json", "one JSON object per captured message"),
  async run(
    o: {
      connect: string;
      direction: string;
      quiet?: boolean;
      receiveHwm: number;
      statsInterval: number;
      json?: boolean;
    },
    ctx: RoleContext,
  ) {
    const sub = new Subscriber({ receiveHighWaterMark: o.receiveHwm });
    ctx.defer(() => sub.close());
    sub.subscribe(o.direction === "all" ? "" : o.direction);
    sub.connect(o.connect);
    const last = { f2b: 0, b2f: 0 };
    const counts = { received: 0, gaps: 0, missed: 0 };
    ctx.log.info("tap_ready", { connect: o.connect, direction: o.direction });
    ctx.every(o.statsInterval, () => ctx.log.info("tap_stats", { ...counts }));
    await ctx.serve(sub, (frames) => {
      const c = parseCapture(frames);
      counts.received++;
      const prev = last[c.direction];
      if (prev > 0 && c.seq > prev + 1) {
        counts.gaps++;
        counts.missed += c.seq - prev - 1;
      }
      last[c.direction] = c.seq;
      if (o.quiet) return;
      const bytes = c.frames.reduce((n, f) => n + f.length, 0);
      const preview = c.frames.map((f) => toHex(f, 16));
      ctx.print(
        o.json
          ? JSON.stringify({
            direction: c.direction,
            seq: c.seq,
            ts: c.wallMs,
            frames: c.frames.length,
            bytes,
            hex: preview,
          })
          : `${
            new Date(c.wallMs).toISOString()
          } ${c.direction} #${c.seq} ${c.frames.length} frames ${bytes} B [${preview.join(" | ")}]`,
      );
    }, { name: "capture" });
    ctx.log.info("tap_stats", { ...counts });
  },
};

const watch = {
  summary: "live view of the broker's /metrics",
  configure: (cmd: import("@lib/role/mod.ts").Command) =>
    cmd
      .option(
        "--metrics <url>",
        "the broker's metrics URL",
        httpUrl,
        "http://127.0.0.1:9464/metrics",
      )
      .option("--interval <ms>", "scrape period", int({ min: 100 }), 1000)
      .option("--top <n>", "top talkers shown", int({ min: 0, max: 100 }), 5)
      .option("--count <n>", "scrapes before exiting (0 = until stopped)", int({ min: 0 }), 0)
      .option("--json", "one JSON object per scrape on stdout"),
  async run(
    o: { metrics: string; interval: number; top: number; count: number; json?: boolean },
    ctx: RoleContext,
  ) {
    // Redrawn in place on a terminal (without clearing the screen: the lab runner's roles
    // share it), plain snapshots when piped.
    const mode = Deno.stdout.isTerminal() ? "ansi" : "plain";
    const rows = () => {
      try {
        return Deno.consoleSize().rows;
      } catch {
        return undefined;
      }
    };
    let drawn = 0;
    let previous: MetricFamily[] | undefined;
    let previousAt = 0;
    let scrapes = 0;
    while (!ctx.signal.aborted && (o.count === 0 || scrapes < o.count)) {
      try {
        const response = await fetch(o.metrics, {
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(o.interval * 2)]),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const text = await response.text();
        const families = parsePrometheusText(text);
        const at = performance.now();
        const view = buildView(families, previous, previous ? (at - previousAt) / 1000 : 0);
        previous = families;
        previousAt = at;
        scrapes++;
        if (o.json) ctx.print(JSON.stringify(view));
        else {
          const frame = terminalFrame(renderView(view, o.metrics, o.top), {
            mode,
            previousLines: drawn,
            rows: rows(),
          });
          drawn = frame.lines;
          ctx.print(frame.text);
        }
      } catch (error) {
        if (ctx.signal.aborted) break;
        ctx.log.limited("warn", "scrape_failed", { url: o.metrics, error: String(error) });
      }
      await ctx.sleep(o.interval);
    }
  },
};

await runRole({
  name: "client_app",
  summary:
    "Drives and watches the hub: request clients, echo workers, capture tap, live metrics view",
  commands: { client, worker, tap, watch },
});
