/**
 * monitored_service: one service of a traced chain (gateway → auth → orders → inventory:
 * one process each, `--name` and `--next`). Requests come in on a ROUTER and go on over a
 * DEALER, the W3C traceparent/tracestate in their own frames at every hop; finished spans go
 * to the trace_collector over PUSH through a bounded batching exporter that drops (and
 * counts) rather than wait. `monitored_service load` drives requests into a chain.
 *
 * @module
 */

import { delay, latencySummary, systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  ConfigError,
  endpoint,
  float,
  int,
  oneOf,
  type RoleContext,
  runRole,
} from "@lib/role/mod.ts";
import { Dealer, Push, Router } from "@lib/zmq/mod.ts";
import { BatchExporter } from "../internal/exporter.ts";
import { cryptoRandomBytes, HeadSampler, IdGenerator } from "../internal/ids.ts";
import { decodeReply, encodeRequest, text } from "../internal/protocol.ts";
import { ServiceHop } from "../internal/service.ts";
import { parseTraceParent } from "../internal/trace_context.ts";

interface ServiceOptions {
  name: string;
  bind: string;
  next?: string;
  collector: string;
  tracing: "on" | "off";
  sampleRatio: number;
  workMs: number;
  failRate: number;
  timeout: number;
  maxInFlight: number;
  exportQueue: number;
  batchSize: number;
  batchInterval: number;
  exportHwm: number;
  exportSndbuf: number;
  statsInterval: number;
}

interface LoadOptions {
  target: string;
  requests: number;
  concurrency: number;
  rate: number;
  timeout: number;
  item: string;
  failAt?: string;
  traceparent?: string;
  tracestate?: string;
  json: boolean;
}

/** At stop, spans that cannot be handed over for this long are given up. */
const STALL_MS = 500;
/** Largest request frame a service accepts (the traceparent and tracestate limits, a body). */
const MAX_REQUEST_FRAME_BYTES = 64 * 1024;

/** Latency samples kept by `load` (a ring past this). */
const MAX_SAMPLES = 100_000;

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

function serviceName(value: string): string {
  if (!NAME.test(value)) {
    throw new ConfigError(`expected a name of a-z, 0-9, _ and - (1..64, a letter first)`);
  }
  return value;
}

function collectorEndpoint(value: string): string {
  return value === "off" ? value : endpoint(value);
}

/** Epoch ms with the monotonic clock's resolution (span times). */
const wallNow = () => performance.timeOrigin + performance.now();

await runRole<ServiceOptions>({
  name: "monitored_service",
  summary: "A traced service hop (ROUTER in, DEALER to --next, spans PUSHed to the collector)",
  configure: (cmd) =>
    cmd
      .option("--name <name>", "service name (service.name in spans)", serviceName, "gateway")
      .option("--bind <endpoint>", "ROUTER endpoint for requests", endpoint, "tcp://127.0.0.1:5525")
      .option("--next <endpoint>", "the next service's endpoint (none: the last hop)", endpoint)
      .option(
        "--collector <endpoint>",
        "trace_collector PULL endpoint, or off",
        collectorEndpoint,
        "tcp://127.0.0.1:5520",
      )
      .option(
        "--tracing <on|off>",
        "off: no trace context, no spans (baseline)",
        oneOf("on", "off"),
        "on",
      )
      .option(
        "--sample-ratio <r>",
        "head sampling of traces started here (0..1; below the root the parent decides)",
        float({ min: 0, max: 1 }),
        1,
      )
      .option("--work-ms <ms>", "simulated work per request", int({ min: 0, max: 60_000 }), 0)
      .option(
        "--fail-rate <r>",
        "share of requests failed on purpose",
        float({ min: 0, max: 1 }),
        0,
      )
      .option("--timeout <ms>", "wait this long for the next hop", int({ min: 1 }), 5000)
      .option(
        "--max-in-flight <n>",
        "requests waiting on the next hop at most",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option(
        "--export-queue <n>",
        "spans held for export at most; more are dropped and counted",
        int({ min: 1, max: 1_000_000 }),
        4096,
      )
      .option("--batch-size <n>", "spans per export batch", int({ min: 1, max: 4096 }), 256)
      .option("--batch-interval <ms>", "export at least this often", int({ min: 1 }), 200)
      .option(
        "--export-hwm <n>",
        "batches queued in the PUSH socket at most",
        int({ min: 1, max: 100_000 }),
        64,
      )
      .option(
        "--export-sndbuf <bytes>",
        "kernel send buffer of the PUSH socket (0 = OS default)",
        int({ min: 0 }),
        0,
      )
      .option("--stats-interval <ms>", "log stats this often (0 = never)", int({ min: 0 }), 5000),
  async run(options, ctx) {
    const tracing = options.tracing === "on";
    // Requests are small (ids, trace context, a msgpack body): a bigger frame is refused by
    // libzmq and that caller dropped, instead of being buffered whole.
    const router = new Router({
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
      maxMessageSize: MAX_REQUEST_FRAME_BYTES,
    });
    ctx.defer(() => router.close());
    await router.bind(options.bind);
    ctx.listening(router);

    let dealer: Dealer | undefined;
    if (options.next) {
      dealer = new Dealer({ receiveHighWaterMark: 10_000, sendHighWaterMark: 10_000, linger: 0 });
      dealer.connect(options.next);
    }
    let push: Push | undefined;
    if (tracing && options.collector !== "off") {
      push = new Push({
        sendHighWaterMark: options.exportHwm,
        linger: 500, // at stop: the time libzmq gets for batches already handed over
        ...(options.exportSndbuf > 0 ? { sendBufferSize: options.exportSndbuf } : {}),
      });
      push.connect(options.collector);
    }
    const exporter = new BatchExporter({
      trySend: (frame) => {
        if (!push) return true; // --collector off: spans are counted as exported nowhere
        try {
          return push.sendSync(frame);
        } catch {
          return false;
        }
      },
    }, { service: options.name, maxQueue: options.exportQueue, batchSize: options.batchSize });

    let flushScheduled = false;
    const scheduleFlush = () => {
      if (flushScheduled) return;
      flushScheduled = true;
      setTimeout(() => {
        flushScheduled = false;
        exporter.flush();
      }, 0);
    };
    let replyDropped = 0;
    let forwardDropped = 0;
    const hop = new ServiceHop({
      clock: systemClock,
      wallNow,
      log: ctx.log,
      reply: (route, frames) => {
        const all = [...route, ...frames];
        try {
          if (router.sendSync(all)) return;
        } catch {
          replyDropped++; // the caller left
          return;
        }
        router.send(all).catch(() => replyDropped++);
      },
      forward: (frames) => {
        if (!dealer) return false;
        try {
          if (dealer.sendSync(frames)) return true;
        } catch {
          return false;
        }
        dealer.send(frames).catch(() => forwardDropped++); // the timeout answers it
        return true;
      },
      exportSpan: (span) => {
        exporter.add(span);
        if (exporter.batchReady) scheduleFlush();
      },
    }, {
      name: options.name,
      next: options.next,
      tracing,
      sampler: new HeadSampler(options.sampleRatio),
      ids: new IdGenerator(cryptoRandomBytes),
      workMs: options.workMs,
      failRate: options.failRate,
      random: Math.random,
      timeoutMs: options.timeout,
      maxInFlight: options.maxInFlight,
    });

    const stats = () => ({
      name: options.name,
      ...hop.stats(),
      export: exporter.stats(),
      reply_dropped: replyDropped,
      forward_dropped: forwardDropped,
    });
    ctx.every(options.batchInterval, () => exporter.flush());
    ctx.every(100, () => hop.tick(systemClock.now()));
    ctx.every(options.statsInterval, () => ctx.log.info("stats", stats()));

    if (dealer) {
      const replies = ctx.serve(dealer, (frames) => hop.onReply(frames), {
        name: "next",
        untilClosed: true,
      });
      replies.catch(() => {});
    }
    await ctx.serve(router, (frames) => {
      const delimiter = frames.findIndex((f) => f.length === 0);
      if (delimiter < 1) throw new BadMessageError("no routing frames before an empty delimiter");
      hop.onRequest(frames.slice(0, delimiter), frames.slice(delimiter));
    }, { name: "frontend" });

    // Stopped: let requests in flight finish (their replies are still served), then flush.
    await ctx.drain(async (signal) => {
      // ctx.sleep returns at once after the stop: wait on the drain's own signal instead.
      while (hop.busy > 0 && !signal.aborted) await delay(10, { signal });
    }, { what: "requests in flight" });
    const abandoned = hop.abandon();
    // Spans get what is left of the budget while they make progress; a collector that takes
    // nothing for STALL_MS (stalled or gone) is not waited for: the rest count as lost.
    await ctx.drain(async (signal) => {
      let progressAt = performance.now();
      while (exporter.flush() >= 0 && exporter.held > 0 && !signal.aborted) {
        const before = exporter.held;
        await delay(10, { signal });
        if (exporter.flush() > 0 || exporter.held < before) progressAt = performance.now();
        else if (performance.now() - progressAt > STALL_MS) {
          ctx.log.warn("collector_stalled", { held: exporter.held });
          return;
        }
      }
    }, { what: "spans to export" });
    const lost = exporter.abandon();
    dealer?.close();
    ctx.log.info("exporter_stats", { ...stats(), abandoned, lost_at_stop: lost });
  },
  commands: {
    load: {
      summary: "Drive requests into a chain (its first service) and report latency",
      configure: (cmd) =>
        cmd
          .option("--target <endpoint>", "the first service", endpoint, "tcp://127.0.0.1:5525")
          .option("--requests <n>", "requests to make (0 = until stopped)", int({ min: 0 }), 100)
          .option("--concurrency <n>", "requests in flight", int({ min: 1, max: 10_000 }), 1)
          .option("--rate <n>", "requests per second at most (0 = no limit)", float({ min: 0 }), 0)
          .option("--timeout <ms>", "per request", int({ min: 1 }), 10_000)
          .option("--item <text>", "what the requests ask for", "book")
          .option("--fail-at <name>", "ask this service to fail each request", serviceName)
          .option("--traceparent <value>", "send this traceparent verbatim (default: none)")
          .option("--tracestate <value>", "send this tracestate verbatim (default: none)")
          .option("--json", "print one JSON line per reply", false),
      run: (options: LoadOptions, ctx: RoleContext) => runLoad(options, ctx),
    },
  },
});

async function runLoad(options: LoadOptions, ctx: RoleContext): Promise<void> {
  const dealer = new Dealer({ linger: 0, receiveHighWaterMark: 100_000 });
  dealer.connect(options.target);
  const inFlight = new Map<string, number>(); // request id → monotonic start
  const latencies: number[] = [];
  const tally = { sent: 0, ok: 0, errors: 0, timeouts: 0, sendFailed: 0 };
  const body = { item: options.item, ...(options.failAt ? { failAt: options.failAt } : {}) };
  const started = performance.now();
  const finished = Promise.withResolvers<void>();
  let nextId = 0;
  const done = () => options.requests > 0 && tally.sent >= options.requests && inFlight.size === 0;

  const pump = () => {
    while (
      !ctx.signal.aborted && inFlight.size < options.concurrency &&
      (options.requests === 0 || tally.sent < options.requests) &&
      (options.rate === 0 || tally.sent < ((performance.now() - started) / 1000) * options.rate)
    ) {
      const id = String(++nextId);
      const frames = encodeRequest(id, options.traceparent ?? "", options.tracestate ?? "", body);
      inFlight.set(id, performance.now());
      tally.sent++;
      try {
        if (!dealer.sendSync(frames)) {
          dealer.send(frames).catch(() => {
            tally.sendFailed++;
            inFlight.delete(id);
          });
        }
      } catch {
        tally.sendFailed++;
        inFlight.delete(id);
      }
    }
    if (done()) finished.resolve();
  };

  const replies = ctx.serve(dealer, (frames) => {
    const reply = decodeReply(frames);
    const id = text(reply.requestId);
    const start = inFlight.get(id);
    if (start === undefined) return; // timed out already
    inFlight.delete(id);
    const ms = performance.now() - start;
    if (latencies.length < MAX_SAMPLES) latencies.push(ms);
    else latencies[(tally.ok + tally.errors) % MAX_SAMPLES] = ms; // bounded: the latest
    if (reply.ok) tally.ok++;
    else tally.errors++;
    if (options.json) {
      const parsed = parseTraceParent(reply.traceresponse);
      ctx.print(JSON.stringify({
        id,
        ok: reply.ok,
        traceresponse: reply.traceresponse,
        traceId: parsed.ok ? parsed.value.traceId : null,
        ms: Number(ms.toFixed(3)),
        ...(reply.ok ? {} : { error: text(reply.body).slice(0, 200) }),
      }));
    }
    pump();
  }, { name: "target", untilClosed: true });
  replies.catch(() => {});
  ctx.every(20, () => {
    const now = performance.now();
    for (const [id, start] of inFlight) {
      if (now - start >= options.timeout) {
        inFlight.delete(id);
        tally.timeouts++;
        ctx.log.limited("warn", "request_timeout", { id, ms: options.timeout });
      }
    }
    pump();
  });
  pump();
  await Promise.race([finished.promise, ctx.stopped]);
  const seconds = (performance.now() - started) / 1000;
  const summary = latencySummary(latencies);
  ctx.log.info("summary", {
    ...tally,
    seconds: Number(seconds.toFixed(3)),
    rps: Math.round((tally.ok + tally.errors) / Math.max(seconds, 1e-9)),
    latency_ms: summary,
  });
  dealer.close();
  if (tally.timeouts > 0 || tally.sendFailed > 0) ctx.exitCode = 1;
}
