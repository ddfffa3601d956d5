/**
 * trace_collector: the telemetry plane's sink. PULLs span batches from every
 * monitored_service, assembles out-of-order spans into traces (completed after
 * `--trace-timeout` of silence, memory bounded), finds each trace's critical path, serves a
 * waterfall page and a JSON API over HTTP, and writes each completed trace as an OTLP/JSON
 * file (`--export-dir`).
 *
 * @module
 */

import { systemClock } from "@lib/async/mod.ts";
import {
  byteSize,
  endpoint,
  int,
  type ListenAddress,
  listenAddress,
  runRole,
  terminalFrame,
  writableDir,
} from "@lib/role/mod.ts";
import { Pull } from "@lib/zmq/mod.ts";
import { type CompletedTrace, TraceAssembler } from "../internal/assembler.ts";
import { toOtlp } from "../internal/otlp.ts";
import { decodeBatch } from "../internal/span.ts";
import { renderTable, type ServiceTally } from "../internal/view.ts";
import WATERFALL_HTML from "../waterfall.html" with { type: "text" };

interface Options {
  bind: string;
  http: ListenAddress | null;
  traceTimeout: number;
  maxTraces: number;
  maxSpansPerTrace: number;
  keep: number;
  exportDir?: string;
  receiveBuffer: number;
  tableInterval: number;
  json: boolean;
  statsInterval: number;
}

/** OTLP files being written at most; past it a completed trace is not written (counted). */
const MAX_PENDING_WRITES = 64;
/** Largest span batch frame accepted (4096 spans of ~4 KiB). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Services tallied at most (names come from the wire). */
const MAX_SERVICES = 256;

await runRole<Options>({
  name: "trace_collector",
  summary: "PULLs spans, assembles traces, critical path, waterfall page, OTLP/JSON files",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "PULL endpoint for span batches",
        endpoint,
        "tcp://127.0.0.1:5520",
      )
      .option("--http <host:port>", "waterfall page and JSON API, or off", listenAddress, {
        hostname: "127.0.0.1",
        port: 5529,
      })
      .option(
        "--trace-timeout <ms>",
        "a trace with no new span for this long is complete",
        int({ min: 10 }),
        2000,
      )
      .option(
        "--max-traces <n>",
        "open traces at most (the longest idle is completed early)",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option(
        "--max-spans-per-trace <n>",
        "spans per trace at most",
        int({ min: 1, max: 100_000 }),
        1000,
      )
      .option(
        "--keep <n>",
        "completed traces kept for the page",
        int({ min: 1, max: 100_000 }),
        200,
      )
      .option(
        "--export-dir <dir>",
        "write each completed trace as <trace-id>.otlp.json here",
        writableDir,
      )
      .option("--receive-buffer <size>", "kernel receive buffer (0 = OS default)", byteSize, 0)
      .option("--table-interval <ms>", "redraw the trace table (0 = off)", int({ min: 0 }), 1000)
      .option("--json", "print each completed trace's summary as a JSON line", false)
      .option("--stats-interval <ms>", "log stats this often (0 = never)", int({ min: 0 }), 10_000),
  async run(options, ctx) {
    const pull = new Pull({
      receiveHighWaterMark: 1000,
      // A frame bigger than any batch is refused by libzmq (that peer is dropped) before
      // it is held in memory: without it, one 400 MB frame was buffered whole.
      maxMessageSize: MAX_BATCH_BYTES,
      ...(options.receiveBuffer > 0 ? { receiveBufferSize: options.receiveBuffer } : {}),
    });
    ctx.defer(() => pull.close());
    await pull.bind(options.bind);
    ctx.listening(pull);

    const assembler = new TraceAssembler({
      timeoutMs: options.traceTimeout,
      maxTraces: options.maxTraces,
      maxSpansPerTrace: options.maxSpansPerTrace,
      keepCompleted: options.keep,
    });
    const services = new Map<string, ServiceTally>();
    const writes = new Set<Promise<void>>();
    let exported = 0;
    let exportSkipped = 0;

    const completed = (traces: CompletedTrace[]) => {
      for (const trace of traces) {
        const s = trace.summary;
        // debug: one line per trace is too many at load (the table and --json show them).
        ctx.log.debug("trace_complete", {
          trace_id: s.traceId,
          root: `${s.rootService}: ${s.rootName}`,
          spans: s.spanCount,
          duration_ms: Number(s.durationMs.toFixed(3)),
          error: s.error,
          errors: s.errorCount,
          orphans: s.orphans,
          reason: s.reason,
        });
        if (options.json) ctx.print(JSON.stringify(s));
        if (!options.exportDir) continue;
        if (writes.size >= MAX_PENDING_WRITES) {
          exportSkipped++;
          ctx.log.limited("warn", "export_skipped", {
            trace_id: s.traceId,
            skipped: exportSkipped,
          });
          continue;
        }
        const path = `${options.exportDir}/${s.traceId}.otlp.json`;
        const write = Deno.writeTextFile(path, JSON.stringify(toOtlp(trace.spans)) + "\n")
          .then(() => {
            exported++;
            ctx.log.debug("otlp_written", { path });
          })
          .catch((error) =>
            ctx.log.limited("error", "export_failed", { path, error: String(error) })
          )
          .finally(() => writes.delete(write));
        writes.add(write);
      }
    };

    // HTTP: the page and the JSON it reads.
    let http: Deno.HttpServer | undefined;
    if (options.http) {
      const listening = Promise.withResolvers<void>();
      http = Deno.serve({
        hostname: options.http.hostname,
        port: options.http.port,
        onListen: ({ hostname, port }) => {
          ctx.log.info("http_listening", { url: `http://${hostname}:${port}/` });
          listening.resolve();
        },
        onError: (error) => {
          ctx.log.limited("warn", "http_error", { error: String(error) });
          return new Response("internal error", { status: 500 });
        },
      }, (request) => {
        const url = new URL(request.url);
        if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
        if (url.pathname === "/" || url.pathname === "/index.html") {
          return new Response(WATERFALL_HTML, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        }
        if (url.pathname === "/api/traces") {
          return Response.json({
            stats: assembler.stats(),
            servicesDropped: [...services.values()].reduce((n, t) => n + t.dropped, 0),
            services: Object.fromEntries(services),
            traces: assembler.recent().map((t) => t.summary),
          });
        }
        const m = /^\/api\/traces\/([0-9a-f]{32})(\/otlp)?$/.exec(url.pathname);
        const trace = m ? assembler.get(m[1]) : undefined;
        if (trace) return Response.json(m![2] ? toOtlp(trace.spans) : trace);
        return new Response("not found", { status: 404 });
      });
      ctx.defer(() => http?.shutdown());
      await listening.promise;
    }

    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    let lastPlain = "";
    ctx.every(options.json ? 0 : options.tableInterval, () => {
      const lines = renderTable(assembler.recent(), assembler.stats(), services, 12);
      const text = lines.join("\n");
      if (!tty && text === lastPlain) return;
      lastPlain = text;
      const frame = terminalFrame(lines, {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
        rows: tty ? Deno.consoleSize().rows : undefined,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    });
    ctx.every(
      Math.max(10, Math.min(100, options.traceTimeout / 4)),
      () => completed(assembler.tick(systemClock.now())),
    );
    ctx.every(options.statsInterval, () =>
      ctx.log.info("stats", {
        ...assembler.stats(),
        otlp_files: exported,
        export_skipped: exportSkipped,
        services: Object.fromEntries(services),
      }));

    await ctx.serve(pull, (frames) => {
      const batch = decodeBatch(frames);
      let tally = services.get(batch.service);
      if (!tally) {
        if (services.size >= MAX_SERVICES) services.delete(services.keys().next().value!);
        services.set(batch.service, tally = { batches: 0, spans: 0, dropped: 0 });
      }
      tally.batches++;
      tally.spans += batch.spans.length;
      tally.dropped = Math.max(tally.dropped, batch.dropped);
      const now = systemClock.now();
      for (const span of batch.spans) completed(assembler.add(span, now).evicted);
    }, { name: "spans" });

    // Stopped: whatever is open is complete now; wait for the files.
    // Every one is written (still at most MAX_PENDING_WRITES at a time: the next starts when
    // one ends); only what the drain budget cannot cover is skipped (and counted).
    const last = assembler.completeAll();
    let handled = 0;
    await ctx.drain(async (signal) => {
      const aborted = new Promise((r) => signal.addEventListener("abort", r, { once: true }));
      while (handled < last.length) {
        while (options.exportDir && writes.size >= MAX_PENDING_WRITES && !signal.aborted) {
          await Promise.race([...writes, aborted]);
        }
        if (signal.aborted) break;
        completed([last[handled++]]);
      }
      await Promise.race([Promise.allSettled([...writes]), aborted]);
    }, { what: "OTLP files" });
    if (handled < last.length) { // past the drain budget: not started, counted
      exportSkipped += last.length - handled;
      ctx.log.warn("export_skipped", { at_stop: last.length - handled, skipped: exportSkipped });
    }
    ctx.log.info("collector_stats", {
      ...assembler.stats(),
      otlp_files: exported,
      export_skipped: exportSkipped,
      services: Object.fromEntries(services),
    });
  },
});
