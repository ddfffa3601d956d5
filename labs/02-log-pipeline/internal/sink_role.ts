/**
 * The storage_writer role's wiring: options, their checks, and `run` around the
 * {@linkcode Sink} engine (dedup, rotated NDJSON, commit journal).
 *
 * @module
 */
import { delay } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  type Command,
  ConfigError,
  endpoint,
  int,
  type RoleContext,
  writableDir,
} from "@lib/role/mod.ts";
import { Pull, Router, ZmqError } from "@lib/zmq/mod.ts";
import { DrainOnStop } from "./drain_on_stop.ts";
import { decodeParsed, DRAIN_IDLE_MS, encodeAck, MAX_MESSAGE_BYTES, PIPE_HWM } from "./protocol.ts";
import { Sink } from "./sink.ts";

/** storage_writer's options. */
export interface SinkRoleOptions {
  shutdownTimeout: number;
  bind: string;
  ackBind: string;
  outDir: string;
  rotateBytes: number;
  writeDelay: number;
  statsInterval: number;
}

/** Adds storage_writer's options. */
export function configureSink(cmd: Command): Command {
  return cmd
    .option(
      "--bind <endpoint>",
      "PULL endpoint the parsers connect to",
      endpoint,
      "tcp://127.0.0.1:5522",
    )
    .option(
      "--ack-bind <endpoint>",
      "ROUTER endpoint collectors connect to for acks",
      endpoint,
      "tcp://127.0.0.1:5523",
    )
    .option(
      "--out-dir <dir>",
      "directory for records-*.ndjson, dead-letter-*.ndjson and dedup state",
      writableDir,
      "./log-pipeline-data",
    )
    .option(
      "--rotate-bytes <n>",
      "start a new file when the current one would exceed this",
      int({ min: 1024 }),
      64 * 1024 * 1024,
    )
    .option(
      "--write-delay <ms>",
      "demo/fault option: wait this long before writing each batch (a slow disk)",
      int({ min: 0 }),
      0,
    )
    .option(
      "--stats-interval <ms>",
      "how often the counts event is logged",
      int({ min: 10 }),
      1000,
    );
}

/** `--out-dir` must be a writable directory (also the default; created if missing). */
export function validateSink(options: SinkRoleOptions): void {
  try {
    writableDir(options.outDir);
  } catch (error) {
    throw new ConfigError(`--out-dir: ${(error as Error).message}`);
  }
}

/** The sink: pull parsed batches, store each once, ack it. */
export async function runSink(options: SinkRoleOptions, ctx: RoleContext): Promise<void> {
  const sink = new Sink({ dir: options.outDir, rotateBytes: options.rotateBytes });
  const rolledBack = sink.counts().rolled_back_bytes;
  if (rolledBack > 0) ctx.log.warn("uncommitted_rolled_back", { bytes: rolledBack });
  const pull = new Pull({ receiveHighWaterMark: PIPE_HWM, maxMessageSize: MAX_MESSAGE_BYTES });
  const acks = new Router({ routerMandatory: true, linger: 1000, maxMessageSize: 64 * 1024 });
  ctx.defer(() => {
    pull.close();
    acks.close();
  });
  await pull.bind(options.bind);
  await acks.bind(options.ackBind);
  ctx.listening(pull, { channel: "data", out_dir: options.outDir });
  ctx.listening(acks, { channel: "acks" });
  // On a stop: store the batches still on their way (until none came for
  // DRAIN_IDLE_MS, within the drain budget), then stop pulling and close.
  const idleClose = new DrainOnStop(() => pull.close(), DRAIN_IDLE_MS, 2 ** 31 - 1);
  ctx.defer(() => idleClose.dispose());
  let serving: Promise<void> = Promise.resolve();
  ctx.signal.addEventListener("abort", () => {
    idleClose.start();
    void ctx.drain(() => serving, { what: "batches on their way" }).then((finished) => {
      if (!finished) pull.close();
    });
  }, { once: true });

  const report = (event: string) =>
    ctx.log.info(event, { ...sink.counts(), dedup_entries: sink.dedupSize });
  ctx.every(options.statsInterval, () => report("counts"));
  // Nothing is expected from the collectors' DEALERs: anything that comes is bad input.
  const ackInbox = ctx.serve(acks, (frames) => {
    throw new BadMessageError(`unexpected message of ${frames.length} frames on the ack socket`);
  }, { name: "acks", untilClosed: true });

  serving = ctx.serve(pull, async (frames) => {
    idleClose.busy();
    try {
      // Checked before storing: schema, counts, and every record a JSON object with an
      // id of this batch (BadMessageError: logged by serve, dropped, never stored).
      const parsed = decodeParsed(frames);
      if (options.writeDelay > 0) await delay(options.writeDelay);
      const ack = sink.store(parsed);
      if (ack.duplicate) ctx.log.info("duplicate_batch", { run: ack.run, seq: ack.seq });
      else {
        ctx.log.debug("batch_stored", {
          run: ack.run,
          seq: ack.seq,
          stored: ack.stored,
          dead: ack.dead,
          parser: parsed.parser,
        });
      }
      try {
        await acks.send(encodeAck(ack));
      } catch (error) {
        // The collector is gone (EHOSTUNREACH) or not reading (EAGAIN): it re-sends.
        if (!(error instanceof ZmqError) || acks.closed) throw error;
        ctx.log.limited("warn", "ack_unroutable", {
          run: ack.run,
          seq: ack.seq,
          code: error.code,
        }, `ack_unroutable:${error.code}`);
      }
    } finally {
      idleClose.idle();
    }
  }, { name: "data", untilClosed: true });
  await serving;
  sink.close(); // fsync + close files, compact dedup state
  report("final_counts");
  const c = sink.counts();
  ctx.print(
    JSON.stringify({
      received: c.received,
      parsed: c.parsed,
      dead_lettered: c.dead_lettered,
      stored: c.stored,
      duplicates: c.duplicates,
    }),
  );
  acks.close();
  await ackInbox;
}
