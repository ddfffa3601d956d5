/**
 * The log_collector role's wiring: options, their checks, and `run` (sockets, loops,
 * drain). The engine itself is {@linkcode Collector}; dispatch to parsers is
 * {@linkcode CreditDispatch}.
 *
 * @module
 */
import { delay, systemClock } from "@lib/async/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import {
  type Command,
  ConfigError,
  endpoint,
  float,
  int,
  type RoleContext,
} from "@lib/role/mod.ts";
import { Dealer, Router, ZmqError } from "@lib/zmq/mod.ts";
import { Checkpoint, CheckpointError } from "./checkpoint.ts";
import { Collector } from "./collector.ts";
import { CreditDispatch } from "./credit_dispatch.ts";
import { generateLines } from "./generator.ts";
import { type InputLine, readLines, readRange } from "./line_source.ts";
import { inputPaths } from "./path_checks.ts";
import {
  type Batch,
  CREDIT_REFRESH_MS,
  decodeAck,
  decodeCredit,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_WINDOW,
  encodeBatch,
  MAX_BATCH_BYTES,
  MAX_BATCH_LINES,
  MAX_PARSER_WINDOW,
  newRunId,
} from "./protocol.ts";

/** log_collector's options. */
export interface CollectorRoleOptions {
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
  maxBatchBytes: number;
  window: number;
  ackTimeout: number;
  maxLineBytes: number;
  pollInterval: number;
  flushInterval: number;
  statsInterval: number;
  shutdownTimeout: number;
}

/** Adds log_collector's options. */
export function configureCollector(cmd: Command): Command {
  return cmd
    .option(
      "--bind <endpoint>",
      "ROUTER endpoint the parsers connect to (they ask for batches with credit)",
      endpoint,
      "tcp://127.0.0.1:5521",
    )
    .option(
      "--acks <endpoint>",
      "storage_writer ack endpoint (ROUTER) to connect to",
      endpoint,
      "tcp://127.0.0.1:5523",
    )
    .option("--input <paths>", "comma-separated files, directories or - (stdin)", inputPaths)
    .option(
      "--checkpoint <file>",
      "input checkpoint: resume from it after a crash (file inputs only, not stdin)",
    )
    .option("--follow", "keep tailing files and directories for new lines", false)
    .option(
      "--generate <n>",
      "generate N lines of mixed realistic traffic instead of --input (0 = until stopped)",
      int({ min: 0 }),
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
      "most lines per batch",
      int({ min: 1, max: MAX_BATCH_LINES }),
      DEFAULT_BATCH_SIZE,
    )
    .option(
      "--max-batch-bytes <n>",
      "most line bytes per batch (keeps every message under the 64 MiB limit)",
      int({ min: 1024, max: MAX_BATCH_BYTES }),
      DEFAULT_MAX_BATCH_BYTES,
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
    );
}

/** Checks the options together, and the input paths, before anything opens. */
export function validateCollector(options: CollectorRoleOptions): void {
  if ((options.input === undefined) === (options.generate === undefined)) {
    throw new ConfigError("expected exactly one of --input <paths> or --generate <n>");
  }
  if (options.follow && options.generate !== undefined) {
    throw new ConfigError("expected --follow only with --input, got it with --generate");
  }
  if (options.checkpoint !== undefined && (options.input ?? ["-"]).includes("-")) {
    throw new ConfigError("expected --checkpoint only with file or directory --input");
  }
  if (options.checkpoint !== undefined) {
    try {
      Checkpoint.load(options.checkpoint);
    } catch (error) {
      if (error instanceof CheckpointError) throw new ConfigError(error.message);
      throw error;
    }
  }
}

/** The collector: read, batch, dispatch by credit, resend, drain. */
export async function runCollector(options: CollectorRoleOptions, ctx: RoleContext): Promise<void> {
  const clock = systemClock;
  const checkpoint = options.checkpoint === undefined
    ? undefined
    : Checkpoint.load(options.checkpoint) ?? Checkpoint.create(options.checkpoint, newRunId());
  // A resumed run keeps its id, so re-sent batches keep their ids (the sink's dedup keys).
  const run = checkpoint?.run ?? newRunId();
  // routerMandatory: a batch for a parser that is gone fails (EHOSTUNREACH) instead of
  // vanishing; the HWM is above any parser's window, so credit is the real bound.
  const parsers = new Router({
    routerMandatory: true,
    sendHighWaterMark: 2 * MAX_PARSER_WINDOW,
    linger: 0,
    maxMessageSize: 64 * 1024,
  });
  const acks = new Dealer({ routingId: run, linger: 0, maxMessageSize: 64 * 1024 });
  ctx.defer(() => {
    parsers.close();
    acks.close();
  });
  await parsers.bind(options.bind);
  acks.connect(options.acks);
  ctx.listening(parsers, { run });

  const dispatch = new CreditDispatch({ clock, expireMs: 10 * CREDIT_REFRESH_MS });
  const loops = new AbortController(); // ends the helper loops and sends once the drain is over
  let unreachable = 0;
  // A batch in the window is always sent, even after the stop signal (the drain waits for
  // its ack): only the end of the drain ends a wait for credit.
  const send = async (batch: Batch): Promise<void> => {
    const frames = encodeBatch(batch);
    for (;;) {
      // No parser with credit: wait (the batch is in the window; its ack timer runs).
      const peer = await dispatch.acquire(loops.signal);
      if (!peer || parsers.closed) return; // stopping: reported by drain_timeout if unacked
      try {
        await parsers.send([peer.id, ...frames]);
        return;
      } catch (error) {
        if (parsers.closed) return;
        if (!(error instanceof ZmqError)) throw error;
        // EHOSTUNREACH (parser gone) or EAGAIN (its queue is full): forget it, try another.
        dispatch.remove(peer);
        unreachable++;
        ctx.log.limited("warn", "parser_unreachable", { code: error.code }, "parser_unreachable");
      }
    }
  };
  const collector = new Collector({
    run,
    batchSize: options.batchSize,
    maxBatchBytes: options.maxBatchBytes,
    window: options.window,
    ackTimeout: options.ackTimeout,
    firstSeq: checkpoint?.nextSeq,
    checkpoint,
    clock,
    send,
  });
  const stats = () => {
    const mem = Deno.memoryUsage();
    return {
      ...collector.stats(),
      ...dispatch.stats(),
      parser_unreachable: unreachable,
      rss: mem.rss,
      heap_used: mem.heapUsed,
    };
  };

  // Credit reports and acks are read until the sockets close (also while draining).
  const creditLoop = ctx.serve(parsers, (frames) => {
    const { peer, credit } = decodeCredit(frames);
    if (!dispatch.onCredit(peer, credit)) {
      ctx.log.limited("warn", "parser_refused", { reason: "too many parsers" }, "parser_refused");
    }
  }, { name: "parsers", untilClosed: true });
  const ackLoop = ctx.serve(acks, (frames) => {
    const ack = decodeAck(frames);
    if (!collector.onAck(ack)) ctx.log.debug("duplicate_ack", { run: ack.run, seq: ack.seq });
  }, { name: "acks", untilClosed: true });
  const resendLoop = (async () => {
    while (!loops.signal.aborted) {
      await delay(Math.max(5, Math.floor(options.ackTimeout / 4)), { signal: loops.signal });
      for (const entry of collector.window.due()) {
        ctx.log.limited("info", "resend", {
          seq: entry.seq,
          attempt: entry.attempts,
          lines: entry.weight,
        }, "resend");
        await collector.resend(entry.payload, loops.signal);
      }
    }
  })();
  const flushLoop = (async () => {
    while (!loops.signal.aborted) {
      await delay(Math.max(5, Math.floor(options.flushInterval / 4)), { signal: loops.signal });
      await collector.flushStale(options.flushInterval, loops.signal);
    }
  })();
  ctx.log.info("stats", stats());
  ctx.every(options.statsInterval, () => {
    dispatch.expire();
    ctx.log.info("stats", stats());
  });

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
      count: options.generate === 0 ? Infinity : options.generate,
      random: seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32)),
      malformedRatio: options.malformedRatio,
      rate: options.rate,
      signal: ctx.signal,
    })
    : readLines({
      inputs: options.input!,
      follow: options.follow,
      // A line is never bigger than a batch may be.
      maxLineBytes: Math.min(options.maxLineBytes, options.maxBatchBytes),
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

  // Without a stop signal the drain waits for every ack; after one it gets the drain
  // budget of --shutdown-timeout.
  let drained = ctx.signal.aborted ? false : await collector.drain(ctx.signal);
  if (!drained) {
    drained = await ctx.drain(async (signal) => {
      if (!(await collector.drain(signal))) throw new Error("not every batch was acknowledged");
    }, { what: "unacknowledged batches" });
  }
  loops.abort();
  parsers.close();
  acks.close();
  await Promise.all([creditLoop, ackLoop, resendLoop, flushLoop]);
  const final = stats();
  ctx.print(JSON.stringify({ run, drained, ...collector.stats() }));
  if (!drained) {
    // Never silent: what was read but not stored is in the log and in the exit code.
    ctx.log.error("drain_timeout", final);
    ctx.exitCode = 1;
    return;
  }
  ctx.log.info("drained", final);
}
