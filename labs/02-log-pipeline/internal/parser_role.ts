/**
 * The log_parser role's wiring: options, their checks, and `run`. It asks the collector
 * for batches with credit reports (at most `--window` batches held at once), parses and
 * anonymises each ({@linkcode processBatch}) and PUSHes the result to the sink.
 *
 * @module
 */
import { type Command, ConfigError, endpoint, int, type RoleContext } from "@lib/role/mod.ts";
import { Dealer, Push } from "@lib/zmq/mod.ts";
import { Anonymiser, MIN_SECRET_BYTES } from "./anonymiser.ts";
import { DrainOnStop } from "./drain_on_stop.ts";
import { processBatch } from "./line_parser.ts";
import {
  CREDIT_REFRESH_MS,
  decodeBatch,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_PARSER_WINDOW,
  DRAIN_IDLE_MS,
  encodeCredit,
  encodeParsed,
  MAX_MESSAGE_BYTES,
  MAX_PARSER_WINDOW,
  PIPE_HWM,
} from "./protocol.ts";

/** log_parser's options. */
export interface ParserRoleOptions {
  shutdownTimeout: number;
  collector: string;
  sink: string;
  secret?: string;
  window: number;
  maxLineBytes: number;
  statsInterval: number;
}

/** Adds log_parser's options. */
export function configureParser(cmd: Command): Command {
  return cmd
    .option(
      "--collector <endpoint>",
      "log_collector ROUTER endpoint to connect to",
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
      "--window <n>",
      "most batches this parser holds at once (its credit)",
      int({ min: 1, max: MAX_PARSER_WINDOW }),
      DEFAULT_PARSER_WINDOW,
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
    );
}

/** The secret is required and long enough: checked before the first log line. */
export function validateParser(options: ParserRoleOptions): void {
  if (options.secret === undefined) {
    throw new ConfigError("expected a pseudonymisation secret: --secret or LOG_PARSER_SECRET");
  }
  const bytes = new TextEncoder().encode(options.secret).length;
  if (bytes < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `--secret: expected at least ${MIN_SECRET_BYTES} bytes, got ${bytes}`,
    );
  }
}

/** The parser: credit out, batches in, parsed batches to the sink. */
export async function runParser(options: ParserRoleOptions, ctx: RoleContext): Promise<void> {
  const anon = new Anonymiser(options.secret!);
  const name = `log_parser-${Deno.pid}`;
  const batches = new Dealer({
    receiveHighWaterMark: MAX_PARSER_WINDOW,
    sendHighWaterMark: PIPE_HWM,
    maxMessageSize: MAX_MESSAGE_BYTES,
    linger: 0,
  });
  // immediate: no queueing towards a sink that is not connected (the send waits instead);
  // linger: the last batch gets this long to reach the sink at shutdown.
  const push = new Push({
    sendHighWaterMark: PIPE_HWM,
    immediate: true,
    linger: Math.min(2000, Math.floor(options.shutdownTimeout / 2)),
  });
  ctx.defer(() => {
    batches.close();
    push.close();
  });
  batches.connect(options.collector);
  push.connect(options.sink);
  ctx.log.info("connected", { collector: options.collector, sink: options.sink });

  // Credit: absolute counters, re-sent after every batch and every second (a restarted
  // collector learns about this parser from the next report). A report that does not fit
  // the queue (collector gone) is dropped and counted: the next one says the same.
  let received = 0, done = 0, lines = 0, dead = 0, creditDropped = 0;
  const report = () => {
    if (batches.closed) return;
    batches.send(encodeCredit({ window: options.window, received, done })).catch(() =>
      creditDropped++
    );
  };
  report();
  ctx.every(CREDIT_REFRESH_MS, report);
  const stats = () => ({
    batches: done,
    lines,
    dead_lettered: dead,
    window: options.window,
    in_hand: received - done,
    credit_dropped: creditDropped,
  });
  ctx.every(options.statsInterval, () => ctx.log.info("stats", stats()));

  // On a stop: finish the batches already on their way (until none came for
  // DRAIN_IDLE_MS), then stop reading. If the batch in hand cannot reach the sink within
  // the drain budget (sink gone), give it up: the collector re-sends it.
  const idleClose = new DrainOnStop(() => batches.close(), DRAIN_IDLE_MS, 2 ** 31 - 1);
  ctx.defer(() => idleClose.dispose());
  let serving: Promise<void> = Promise.resolve();
  ctx.signal.addEventListener("abort", () => {
    idleClose.start();
    void ctx.drain(() => serving, { what: "batches in hand" }).then((finished) => {
      if (finished) return;
      push.close({ linger: 0 });
      batches.close();
    });
  }, { once: true });

  serving = ctx.serve(batches, async (frames) => {
    idleClose.busy();
    try {
      const batch = decodeBatch(frames); // BadMessageError: logged by serve, dropped
      received++;
      ctx.log.debug("batch_received", {
        run: batch.run,
        seq: batch.seq,
        lines: batch.lines.length,
      });
      const out = processBatch(batch.lines, {
        anon,
        run: batch.run,
        seq: batch.seq,
        oversize: batch.oversize ? new Map(batch.oversize) : undefined,
        invalidUtf8: batch.invalid_utf8 ? new Set(batch.invalid_utf8) : undefined,
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
        batches.close();
        return;
      }
      done++;
      lines += batch.lines.length;
      dead += out.dead.length;
      report();
      ctx.log.debug("batch_parsed", {
        run: batch.run,
        seq: batch.seq,
        records: out.count,
        dead: out.dead.length,
      });
    } finally {
      idleClose.idle();
    }
  }, { name: "collector", untilClosed: true });
  await serving;
  ctx.log.info("stats", stats());
}
