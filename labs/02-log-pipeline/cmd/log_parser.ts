/**
 * log_parser — the worker: PULLs batches from the collector, parses every line (RFC 5424,
 * RFC 3164, combined access log, JSON lines) into the ECS-style schema, pseudonymises
 * addresses and user names with a keyed HMAC, redacts emails, card numbers and secrets,
 * and PUSHes records plus dead letters to the storage writer. Stateless: run as many as
 * you like; a killed parser's batches are re-sent by the collector.
 *
 * @module
 */
import { ConfigError, endpoint, int, runRole } from "@lib/role/mod.ts";
import { Pull, Push } from "@lib/zmq/mod.ts";
import { Anonymiser, MIN_SECRET_BYTES } from "../internal/anonymiser.ts";
import { DrainOnStop } from "../internal/drain_on_stop.ts";
import { processBatch } from "../internal/line_parser.ts";
import {
  decodeBatch,
  DEFAULT_MAX_LINE_BYTES,
  DRAIN_IDLE_MS,
  encodeParsed,
  MAX_MESSAGE_BYTES,
  PIPE_HWM,
  ProtocolError,
} from "../internal/protocol.ts";

interface Options {
  shutdownTimeout: number;
  collector: string;
  sink: string;
  secret?: string;
  maxLineBytes: number;
  statsInterval: number;
}

await runRole<Options>({
  name: "log_parser",
  summary: "Worker: parses, normalises and anonymises log batches",
  configure: (cmd) =>
    cmd
      .option(
        "--collector <endpoint>",
        "log_collector PUSH endpoint to connect to",
        endpoint,
        "tcp://127.0.0.1:5521",
      )
      .option(
        "--sink <endpoint>",
        "storage_writer PULL endpoint to connect to",
        endpoint,
        "tcp://127.0.0.1:5522",
      )
      .option(
        "--secret <text>",
        `HMAC key for pseudonyms (>= ${MIN_SECRET_BYTES} bytes; prefer the env var)`,
      )
      .option(
        "--max-line-bytes <n>",
        "line limit the collector uses (for dead-letter reasons)",
        int({ min: 64 }),
        DEFAULT_MAX_LINE_BYTES,
      )
      .option(
        "--stats-interval <ms>",
        "how often the stats event is logged",
        int({ min: 10 }),
        5000,
      ),
  async run(options, ctx) {
    if (options.secret === undefined) {
      throw new ConfigError("expected a pseudonymisation secret: --secret or LOG_PARSER_SECRET");
    }
    let anon: Anonymiser;
    try {
      anon = new Anonymiser(options.secret);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    const name = `log_parser-${Deno.pid}`;
    const pull = new Pull({ receiveHighWaterMark: PIPE_HWM, maxMessageSize: MAX_MESSAGE_BYTES });
    // immediate: no queueing towards a sink that is not connected (the send waits instead);
    // linger: the last batch gets this long to reach the sink at shutdown.
    const push = new Push({
      sendHighWaterMark: PIPE_HWM,
      immediate: true,
      linger: Math.min(2000, Math.floor(options.shutdownTimeout / 2)),
    });
    ctx.defer(() => {
      pull.close();
      push.close();
    });
    pull.connect(options.collector);
    push.connect(options.sink);
    // On a signal: finish the batches already on their way (until none came for
    // DRAIN_IDLE_MS), then stop pulling. If the batch in hand cannot be handed to the sink
    // before the shutdown deadline (sink gone), give it up: the collector re-sends it.
    const budget = options.shutdownTimeout - Math.min(1000, options.shutdownTimeout / 4);
    const drain = new DrainOnStop(() => pull.close(), DRAIN_IDLE_MS, budget / 2);
    const giveUp = new DrainOnStop(() => push.close({ linger: 0 }), budget, budget);
    ctx.signal.addEventListener("abort", () => {
      drain.start();
      giveUp.start();
    }, { once: true });
    ctx.defer(() => {
      drain.dispose();
      giveUp.dispose();
    });
    ctx.log.info("connected", { collector: options.collector, sink: options.sink });

    let batches = 0, lines = 0, dead = 0, lastStats = performance.now();
    for await (const frames of pull) {
      let batch;
      try {
        batch = decodeBatch(frames);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        ctx.log.warn("bad_message", { reason: error.reason, socket: "collector" });
        drain.idle();
        continue;
      }
      drain.busy();
      ctx.log.debug("batch_received", {
        run: batch.run,
        seq: batch.seq,
        lines: batch.lines.length,
      });
      const out = processBatch(batch.lines, {
        anon,
        run: batch.run,
        seq: batch.seq,
        oversize: batch.oversize ? new Map(batch.oversize as [number, number][]) : undefined,
        maxLineBytes: options.maxLineBytes,
      });
      try {
        await push.send(encodeParsed({
          run: batch.run,
          seq: batch.seq,
          lines: batch.lines.length,
          count: out.count,
          records: out.ndjson,
          dead: out.dead,
          parser: name,
        }));
      } catch (error) {
        if (!push.closed) throw error;
        ctx.log.warn("batch_abandoned", {
          run: batch.run,
          seq: batch.seq,
          reason: "sink unreachable at shutdown",
        });
        break;
      }
      drain.idle();
      batches++;
      lines += batch.lines.length;
      dead += out.dead.length;
      ctx.log.debug("batch_parsed", {
        run: batch.run,
        seq: batch.seq,
        records: out.count,
        dead: out.dead.length,
      });
      if (performance.now() - lastStats >= options.statsInterval) {
        lastStats = performance.now();
        ctx.log.info("stats", { batches, lines, dead_lettered: dead });
      }
    }
    ctx.log.info("stats", { batches, lines, dead_lettered: dead });
  },
});
