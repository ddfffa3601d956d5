/**
 * log_collector — the ventilator: reads log lines (files, directories with --follow,
 * stdin, or --generate N), cuts them into numbered batches and PUSHes them to the
 * parsers. At most --window batches are unacknowledged at once (backpressure: reading
 * stops while the window is full); batches not acknowledged by the sink within
 * --ack-timeout are re-sent. SIGTERM stops reading and waits for every batch to be
 * acknowledged (bounded by --shutdown-timeout).
 *
 * @module
 */
import { ConfigError, endpoint, float, int, list, runRole } from "@lib/role/mod.ts";
import { Dealer, Push } from "@lib/zmq/mod.ts";
import { Checkpoint, CheckpointError } from "../internal/checkpoint.ts";
import { Collector } from "../internal/collector.ts";
import { delay } from "../internal/delay.ts";
import { generateLines } from "../internal/generator.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { type InputLine, readLines, readRange } from "../internal/line_source.ts";
import {
  decodeAck,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_WINDOW,
  encodeBatch,
  MAX_BATCH_LINES,
  newRunId,
  PIPE_HWM,
  ProtocolError,
} from "../internal/protocol.ts";

interface Options {
  bind: string;
  acks: string;
  input?: string[];
  checkpoint?: string;
  follow: boolean;
  generate?: number;
  seed?: number;
  malformedRatio: number;
  rate: number;
  batchSize: number;
  window: number;
  ackTimeout: number;
  maxLineBytes: number;
  pollInterval: number;
  flushInterval: number;
  statsInterval: number;
  shutdownTimeout: number;
}

await runRole<Options>({
  name: "log_collector",
  summary: "Ventilator: batches log lines to the parsers, re-sends until the sink acks",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "PUSH endpoint the parsers connect to",
        endpoint,
        "tcp://127.0.0.1:5521",
      )
      .option(
        "--acks <endpoint>",
        "storage_writer ack endpoint (ROUTER) to connect to",
        endpoint,
        "tcp://127.0.0.1:5523",
      )
      .option("--input <paths>", "comma-separated files, directories or - (stdin)", list)
      .option(
        "--checkpoint <file>",
        "input checkpoint: resume from it after a crash (file inputs only, not stdin)",
      )
      .option("--follow", "keep tailing files and directories for new lines", false)
      .option(
        "--generate <n>",
        "generate N lines of mixed realistic traffic instead of --input",
        int({ min: 1 }),
      )
      .option("--seed <n>", "seed of the generator (default random)", int({ min: 0 }))
      .option(
        "--malformed-ratio <r>",
        "share of malformed generated lines",
        float({ min: 0, max: 1 }),
        0.02,
      )
      .option(
        "--rate <lines/s>",
        "generated lines per second (0 = as fast as backpressure allows)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--batch-size <n>",
        "lines per batch",
        int({ min: 1, max: MAX_BATCH_LINES }),
        DEFAULT_BATCH_SIZE,
      )
      .option(
        "--window <n>",
        "most unacknowledged batches in flight",
        int({ min: 1, max: 4096 }),
        DEFAULT_WINDOW,
      )
      .option(
        "--ack-timeout <ms>",
        "re-send a batch not acknowledged after this (doubles per retry)",
        int({ min: 10 }),
        DEFAULT_ACK_TIMEOUT_MS,
      )
      .option(
        "--max-line-bytes <n>",
        "longer lines are cut and dead-lettered",
        int({ min: 64 }),
        DEFAULT_MAX_LINE_BYTES,
      )
      .option("--poll-interval <ms>", "follow-mode poll interval", int({ min: 10 }), 250)
      .option(
        "--flush-interval <ms>",
        "send a partial batch once its oldest line waited this long",
        int({ min: 10 }),
        1000,
      )
      .option(
        "--stats-interval <ms>",
        "how often the stats event is logged",
        int({ min: 10 }),
        1000,
      ),
  async run(options, ctx) {
    if ((options.input === undefined) === (options.generate === undefined)) {
      throw new ConfigError("expected exactly one of --input <paths> or --generate <n>");
    }
    if (options.follow && options.generate !== undefined) {
      throw new ConfigError("expected --follow only with --input, got it with --generate");
    }
    if (options.checkpoint !== undefined && (options.input ?? ["-"]).includes("-")) {
      throw new ConfigError("expected --checkpoint only with file or directory --input");
    }
    let checkpoint: Checkpoint | undefined;
    if (options.checkpoint !== undefined) {
      try {
        checkpoint = Checkpoint.load(options.checkpoint) ??
          Checkpoint.create(options.checkpoint, newRunId());
      } catch (error) {
        if (error instanceof CheckpointError) throw new ConfigError(error.message);
        throw error;
      }
    }
    // A resumed run keeps its id, so re-sent batches keep their ids (the sink's dedup keys).
    const run = checkpoint?.run ?? newRunId();
    const push = new Push({ sendHighWaterMark: PIPE_HWM, linger: 0 });
    const acks = new Dealer({ routingId: run, linger: 0, maxMessageSize: 64 * 1024 });
    ctx.defer(() => {
      push.close();
      acks.close();
    });
    await push.bind(options.bind);
    acks.connect(options.acks);
    ctx.listening(push, { run });

    const collector = new Collector({
      run,
      batchSize: options.batchSize,
      window: options.window,
      ackTimeout: options.ackTimeout,
      firstSeq: checkpoint?.nextSeq,
      checkpoint,
      // After a failed drain the socket is closed: the batch stays unacknowledged and is
      // reported in drain_timeout.
      send: (batch) =>
        push.send(encodeBatch(batch)).catch((error) => {
          if (!push.closed) throw error;
        }),
    });
    // After a signal everything (reading, draining) must end shortly before the runtime's
    // shutdown deadline: then the socket is closed, which also unblocks a stuck send.
    const drainStop = new AbortController();
    const budget = Math.max(
      0,
      options.shutdownTimeout - Math.min(1000, options.shutdownTimeout / 4),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => (timer = setTimeout(() => drainStop.abort(), budget));
    drainStop.signal.addEventListener("abort", () => push.close(), { once: true });
    ctx.signal.addEventListener("abort", arm, { once: true });
    const stop = new AbortController(); // ends the helper loops once the drain is over
    const stats = () => {
      const mem = Deno.memoryUsage();
      return {
        ...collector.stats(),
        rss: mem.rss,
        heap_used: mem.heapUsed,
      };
    };

    const ackLoop = (async () => {
      for await (const frames of acks) {
        try {
          const ack = decodeAck(frames);
          if (!collector.onAck(ack)) ctx.log.debug("duplicate_ack", { run: ack.run, seq: ack.seq });
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          ctx.log.warn("bad_message", { reason: error.reason, socket: "acks" });
        }
      }
    })();
    const resendLoop = (async () => {
      while (!stop.signal.aborted) {
        await delay(Math.max(5, Math.floor(options.ackTimeout / 4)), stop.signal);
        for (const entry of collector.window.due()) {
          ctx.log.info("resend", { seq: entry.seq, attempt: entry.attempts, lines: entry.lines });
          await collector.resend(entry.payload);
        }
      }
    })();
    const flushLoop = (async () => {
      while (!stop.signal.aborted) {
        await delay(Math.max(5, Math.floor(options.flushInterval / 4)), stop.signal);
        await collector.flushStale(options.flushInterval, drainStop.signal);
      }
    })();
    const statsLoop = (async () => {
      while (!stop.signal.aborted) {
        ctx.log.info("stats", stats());
        await delay(options.statsInterval, stop.signal);
      }
    })();

    if (checkpoint) {
      ctx.log.info("checkpoint_loaded", {
        path: checkpoint.path,
        next_seq: checkpoint.nextSeq,
        files: checkpoint.files.size,
        pending: checkpoint.restored.length,
      });
    }
    // Batches that were sent but not acknowledged when the last run died: the same lines
    // (re-read from their byte ranges) under the same ids.
    for (const { seq, segments } of checkpoint?.restored ?? []) {
      if (ctx.signal.aborted) break;
      const lines: InputLine[] = [];
      for (const segment of segments) {
        const got = await readRange(segment, options.maxLineBytes);
        if (got) lines.push(...got);
        else ctx.log.error("replay_lost", { seq, ...segment, reason: "file gone or changed" });
      }
      if (lines.length === 0) continue;
      if (await collector.replay(seq, lines, segments, ctx.signal)) {
        ctx.log.info("replayed", { seq, lines: lines.length });
      }
    }
    const source = options.generate !== undefined
      ? generateLines({
        count: options.generate,
        random: seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32)),
        malformedRatio: options.malformedRatio,
        rate: options.rate,
        signal: ctx.signal,
      })
      : readLines({
        inputs: options.input!,
        follow: options.follow,
        maxLineBytes: options.maxLineBytes,
        pollInterval: options.pollInterval,
        signal: ctx.signal,
        sleep: ctx.sleep,
        resume: checkpoint?.files,
      });
    for await (const line of source) {
      await collector.push(line, ctx.signal);
      if (ctx.signal.aborted) break;
    }
    ctx.log.info("input_done", {
      lines: collector.stats().lines,
      stopped_by_signal: ctx.signal.aborted,
    });

    const drained = await collector.drain(drainStop.signal);
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", arm);
    stop.abort();
    acks.close();
    push.close();
    await Promise.all([ackLoop, resendLoop, flushLoop, statsLoop]);
    const final = stats();
    ctx.print(JSON.stringify({ run, drained, ...collector.stats() }));
    if (!drained) {
      ctx.log.error("drain_timeout", final);
      throw new Error(
        `drain timed out: ${
          final.in_flight_lines + final.buffered
        } accepted lines were not acknowledged`,
      );
    }
    ctx.log.info("drained", final);
  },
});
