/**
 * archival_worker: the DEALER back end. Takes records from the gateway by credit, appends
 * them to the shared hash-chained log (fsync before the ack) and acks them.
 * `archival_worker verify <file>` checks a log and reports its first bad record.
 *
 * @module
 */
import { ConfigError, endpoint, int, runRole } from "@lib/role/mod.ts";
import { systemClock } from "@lib/async/mod.ts";
import { Dealer, ZmqError } from "@lib/zmq/mod.ts";
import { ChainDamagedError, ChainStore, readCommitted } from "../internal/chain_store.ts";
import { MAX_REQUEST_BYTES } from "../internal/protocol.ts";
import { verifyChainFile } from "../internal/verify_chain.ts";
import { WorkerSession } from "../internal/worker_session.ts";

interface Options {
  gateway: string;
  chain: string;
  capacity: number;
  batchMax: number;
  heartbeat: number;
  gatewayTimeout: number;
  delay: number;
  fsync: boolean;
  identity?: string;
}

interface VerifyOptions {
  file: string;
  index?: string;
  json?: boolean;
}

await runRole<Options>({
  name: "archival_worker",
  summary: "DEALER worker: appends records to a hash-chained log (fsync before ack)",
  configure: (cmd) =>
    cmd
      .option(
        "--gateway <endpoint>",
        "gateway backend to connect to",
        endpoint,
        "tcp://127.0.0.1:5552",
      )
      .option("--chain <file>", "hash-chained log file (shared by all workers)", "audit.log")
      .option(
        "--capacity <n>",
        "credit: records held unacknowledged at most",
        int({ min: 1, max: 100_000 }),
        128,
      )
      .option("--batch-max <n>", "records per append (one fsync each)", int({ min: 1 }), 256)
      .option("--heartbeat <ms>", "heartbeat interval", int({ min: 10 }), 1000)
      .option(
        "--gateway-timeout <ms>",
        "register again after this much gateway silence",
        int({ min: 30 }),
        3000,
      )
      .option("--delay <ms>", "extra delay per batch (simulates a slow disk)", int({ min: 0 }), 0)
      .option("--no-fsync", "skip fsync (benchmark peer only: acks are then NOT durable)")
      .option("--identity <name>", "routing id (default: w-<pid>)"),
  validate(options) {
    // The log's directory is created at start; a log path that is a directory is not usable.
    let isDirectory = false;
    try {
      isDirectory = Deno.statSync(options.chain).isDirectory;
    } catch {
      // absent (created at start) or unreadable (open reports it)
    }
    if (isDirectory) {
      throw new ConfigError(
        `option '--chain <file>' argument ${JSON.stringify(options.chain)} is invalid. ` +
          `expected a log file, got a directory`,
      );
    }
  },
  async run(options, ctx) {
    const dir = options.chain.replace(/[\\/][^\\/]*$/, "");
    if (dir !== options.chain && dir !== "") await Deno.mkdir(dir, { recursive: true });
    let store: ChainStore;
    try {
      store = await ChainStore.open(options.chain, { fsync: options.fsync });
    } catch (error) {
      if (!(error instanceof ChainDamagedError)) throw error;
      // A committed (maybe acknowledged) record is damaged: never truncate it; stop.
      ctx.log.error("chain_damaged", {
        chain: options.chain,
        seq: error.seq,
        reason: error.reason,
        error: error.message,
      });
      ctx.exitCode = 1;
      return;
    }
    ctx.defer(() => store.close());
    const identity = options.identity ?? `w-${Deno.pid}`;
    const dealer = new Dealer({
      routingId: identity,
      linger: 1000,
      maxMessageSize: 2 * MAX_REQUEST_BYTES,
    });
    ctx.defer(() => dealer.close());
    dealer.connect(options.gateway);
    ctx.log.info("connecting", {
      endpoint: options.gateway,
      identity,
      chain: options.chain,
      seq: store.seq,
      fsync: options.fsync,
    });
    const session = new WorkerSession({
      capacity: options.capacity,
      batchMax: options.batchMax,
      heartbeatMs: options.heartbeat,
      gatewayTimeoutMs: options.gatewayTimeout,
      delayMs: options.delay,
    }, {
      // Fire-and-forget: a full queue (EAGAIN) drops the message (counted); the gateway's
      // record timeout re-dispatches a record whose ack was lost, the store dedups it.
      send: (frames) =>
        void dealer.send(frames).catch((error) => {
          if (error instanceof ZmqError && error.code === "ENOTSOCK") return;
          session.stats.sendFailures++;
          if (!(error instanceof ZmqError && error.code === "EAGAIN")) {
            ctx.log.limited("warn", "send_failed", { error: String(error) });
          }
        }),
      append: (items) => store.append(items),
      clock: systemClock,
      log: ctx.log,
    });
    session.start();
    // Keeps reading after the stop signal: BYE_OK and late records arrive while draining.
    const receiving = ctx.serve(dealer, (frames) => session.onMessage(frames), {
      name: "gateway",
      untilClosed: true,
    });
    ctx.every(Math.max(10, options.heartbeat / 2), () => session.tick());
    await session.run(ctx.signal);
    // BYE_OK normally comes within a round trip; wait at most half the drain budget (and
    // 2 s) for it, then store what arrived, within the role's one drain budget.
    const byeWaitMs = Math.min(2000, ctx.drainBudgetMs() / 2);
    await ctx.drain((signal) => session.finish(byeWaitMs, signal), { what: "held records" });
    ctx.log.info("worker_done", {
      stored: session.stats.stored,
      duplicates: session.stats.duplicates,
      batches: session.stats.batches,
      seq: store.seq,
    });
    // Flush the last ACKs to a live gateway; do not linger for one that is gone.
    dealer.close({ linger: session.byeAcknowledged ? 1000 : 0 });
    await receiving;
  },
  commands: {
    verify: {
      summary: "Check a hash-chained log; exit 1 with the first bad record",
      configure: (cmd) =>
        cmd.argument("<file>", "log file to check")
          .option(
            "--index <file>",
            "id index whose committed records the log must hold (default: <file>.idx if present)",
          )
          .option("--json", "print the report as JSON"),
      async run(options: VerifyOptions, ctx) {
        let report;
        try {
          const committed = readCommitted(options.index ?? `${options.file}.idx`);
          report = await verifyChainFile(options.file, committed);
        } catch (error) {
          // Bad input (no such file, a directory, no permission): one line, exit 2.
          ctx.log.error("cannot_read", { file: options.file, error: (error as Error).message });
          ctx.exitCode = 2;
          return;
        }
        if (options.json) ctx.print(JSON.stringify(report));
        else if (report.ok) {
          ctx.print(
            `ok: ${report.entries} entries, head ${report.head}` +
              (report.tornTail ? " (unterminated last line ignored: a crash mid-append)" : ""),
          );
        } else {
          const f = report.fault!;
          ctx.print(`bad record at seq ${f.seq} (line ${f.line}): ${f.reason}`);
        }
        if (report.ok) {
          ctx.log.info("chain_ok", { entries: report.entries, head: report.head });
          return;
        }
        ctx.log.error("chain_invalid", { ...report.fault, entries_ok: report.entries });
        ctx.exitCode = 1;
      },
    },
  },
});
