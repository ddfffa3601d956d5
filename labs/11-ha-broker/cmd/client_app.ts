/**
 * client_app: the Guide's `bstarcli`. Sends numbered requests (ASCII decimal, the echo
 * service's body) to the active broker with Lazy Pirate timeouts, and fails over to the
 * other broker when one gets no reply. Each reply must echo its request.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { AbortedError, zmqReqFactory } from "@lib/patterns/mod.ts";
import { endpoint, int, repeatable, runRole } from "@lib/role/mod.ts";
import { FailoverClient } from "../internal/failover_client.ts";

interface Options {
  server: string[];
  timeout: number;
  retries: number;
  settle: number;
  maxFailovers: number;
  count: number;
  interval: number;
  json?: boolean;
}

await runRole<Options>({
  name: "client_app",
  summary: "Lazy Pirate client of the Binary Star pair: fails over to the other broker",
  configure: (cmd) =>
    cmd
      .option(
        "--server <endpoint>",
        "brokers to try in order (repeat or comma-separate: primary first)",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5511,tcp://127.0.0.1:5512" }),
        ["tcp://127.0.0.1:5511", "tcp://127.0.0.1:5512"],
      )
      .option("--timeout <ms>", "wait this long for each reply", int({ min: 10 }), 1000)
      .option(
        "--retries <n>",
        "attempts on one broker before failing over (1 = the Guide's bstarcli)",
        int({ min: 1, max: 100 }),
        1,
      )
      .option(
        "--settle <ms>",
        "wait after a failover before sending (>= 2 broker heartbeats, or the passive refuses)",
        int({ min: 0 }),
        2000,
      )
      .option(
        "--max-failovers <n>",
        "failovers for one request before it fails",
        int({ min: 0, max: 1_000_000 }),
        10,
      )
      .option("--count <n>", "requests to send, then exit (0 = until stopped)", int({ min: 0 }), 0)
      .option("--interval <ms>", "pause after each reply", int({ min: 0 }), 1000)
      .option("--json", "print one JSON object per reply instead of a line"),
  async run(options, ctx) {
    const client = new FailoverClient({
      servers: options.server,
      connect: (server) => zmqReqFactory({ endpoint: server }),
      timeoutMs: options.timeout,
      retries: options.retries,
      settleMs: options.settle,
      maxFailovers: options.maxFailovers,
      clock: systemClock,
      signal: ctx.signal,
      onFailover: (info) => {
        ctx.log.warn("failover", { ...info });
        if (!options.json) ctx.print(`failover: ${info.from} -> ${info.to} (${info.reason})`);
      },
    });
    ctx.defer(() => client.close());
    let failed = 0;
    let badReplies = 0;
    for (let seq = 1; options.count === 0 || seq <= options.count; seq++) {
      if (ctx.signal.aborted) break;
      const body = String(seq);
      const started = systemClock.now();
      try {
        const { reply, server, failovers } = await client.request([
          new TextEncoder().encode(body),
        ]);
        const rttMs = Math.round((systemClock.now() - started) * 10) / 10;
        const got = reply.length === 1 ? new TextDecoder().decode(reply[0]) : undefined;
        if (got !== body) {
          badReplies++;
          failed++;
          ctx.badMessage("reply does not echo the request", {
            seq,
            server,
            frames: reply.length,
          });
          continue;
        }
        ctx.log.info("reply", { seq, server, rtt_ms: rttMs, failovers });
        ctx.print(
          options.json
            ? JSON.stringify({ seq, server, rtt_ms: rttMs, failovers })
            : `reply ${seq} from ${server} in ${rttMs} ms`,
        );
      } catch (error) {
        if (error instanceof AbortedError) break;
        failed++;
        ctx.log.error("request_failed", { seq, error: (error as Error).message });
        if (!options.json) ctx.print(`request ${seq} failed: ${(error as Error).message}`);
      }
      if (options.interval > 0) await ctx.sleep(options.interval);
    }
    const stats = client.stats();
    ctx.log.info("summary", { ...stats, failed, badReplies });
    // A bounded run fails if a request did; a stopped service run does not.
    if (options.count > 0 && failed > 0) ctx.exitCode = 1;
  },
});
