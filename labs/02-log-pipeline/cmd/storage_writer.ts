/**
 * storage_writer — the sink: PULLs parsed batches, drops batches it stored before
 * (dedup by batch id), appends records and dead letters to rotated NDJSON files (fsync on
 * rotation and on shutdown), then acknowledges each batch to its collector over a
 * ROUTER (routing id = collector run id). Prints the counts received, parsed,
 * dead-lettered and stored.
 *
 * @module
 */
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { Pull, Router, ZmqError } from "@lib/zmq/mod.ts";
import { delay } from "../internal/delay.ts";
import { DrainOnStop } from "../internal/drain_on_stop.ts";
import {
  decodeParsed,
  DRAIN_IDLE_MS,
  encodeAck,
  MAX_MESSAGE_BYTES,
  PIPE_HWM,
  ProtocolError,
} from "../internal/protocol.ts";
import { Sink } from "../internal/sink.ts";

interface Options {
  shutdownTimeout: number;
  bind: string;
  ackBind: string;
  outDir: string;
  rotateBytes: number;
  writeDelay: number;
  statsInterval: number;
}

await runRole<Options>({
  name: "storage_writer",
  summary: "Sink: dedups, stores rotated NDJSON, acknowledges batches to the collector",
  configure: (cmd) =>
    cmd
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
      ),
  async run(options, ctx) {
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
    // On a signal: store the batches still on their way (until none came for
    // DRAIN_IDLE_MS, at most half the shutdown timeout), then stop pulling and close.
    const drain = new DrainOnStop(() => pull.close(), DRAIN_IDLE_MS, options.shutdownTimeout / 2);
    ctx.signal.addEventListener("abort", () => drain.start(), { once: true });
    ctx.defer(() => drain.dispose());

    const stop = new AbortController();
    const report = (event: string) =>
      ctx.log.info(event, { ...sink.counts(), dedup_entries: sink.dedupSize });
    const statsLoop = (async () => {
      while (!stop.signal.aborted) {
        await delay(options.statsInterval, stop.signal);
        report("counts");
      }
    })();
    // Acks from the collector's DEALER are not expected; read and drop anything that comes.
    const ackInbox = (async () => {
      for await (const frames of acks) {
        ctx.log.warn("bad_message", {
          reason: `unexpected message of ${frames.length} frames on the ack socket`,
          socket: "acks",
        });
      }
    })();

    for await (const frames of pull) {
      drain.busy();
      let parsed;
      try {
        parsed = decodeParsed(frames);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        ctx.log.warn("bad_message", { reason: error.reason, socket: "data" });
        drain.idle();
        continue;
      }
      if (options.writeDelay > 0) await delay(options.writeDelay);
      const ack = sink.store(parsed);
      if (ack.duplicate) ctx.log.info("duplicate_batch", { run: ack.run, seq: ack.seq });
      else {ctx.log.debug("batch_stored", {
          run: ack.run,
          seq: ack.seq,
          stored: ack.stored,
          dead: ack.dead,
          parser: parsed.parser,
        });}
      try {
        await acks.send(encodeAck(ack));
      } catch (error) {
        // The collector is gone (EHOSTUNREACH): it re-sends after it comes back, if ever.
        if (!(error instanceof ZmqError) || acks.closed) throw error;
        ctx.log.warn("ack_unroutable", { run: ack.run, seq: ack.seq, code: error.code });
      }
      drain.idle();
    }
    sink.close(); // fsync + close files, compact dedup state
    stop.abort();
    await statsLoop;
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
  },
});
