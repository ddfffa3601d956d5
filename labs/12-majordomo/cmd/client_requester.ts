/**
 * client_requester: a 7/MDP client. `--mode sync` (default) is the Guide's `mdclient` on
 * `mdcliapi`: one request at a time over REQ with Lazy Pirate retries (`--timeout`,
 * `--retries`). `--mode async` is `mdclient2` on `mdcliapi2`: a DEALER keeping `--window`
 * requests in flight. Prints each reply (unless `--quiet`) and logs a `summary`.
 *
 * @module
 */
import { delay, systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  type Frames,
  MdpAsyncClient,
  MdpClient,
  MdpErrorReply,
  NoReplyError,
  zmqReqFactory,
} from "@lib/patterns/mod.ts";
import { endpoint, int, oneOf, repeatable, type RoleContext, runRole } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";

interface Options {
  broker: string;
  service: string;
  body: string[];
  requests: number;
  mode: "sync" | "async";
  window: number;
  timeout: number;
  retries: number;
  interval: number;
  quiet: boolean;
  json: boolean;
}

const decoder = new TextDecoder();

interface Tally {
  sent: number;
  replied: number;
  refused: number;
  failed: number;
  started: number;
}

await runRole<Options>({
  name: "client_requester",
  summary: "7/MDP client: synchronous with Lazy Pirate retries, or N requests in flight",
  configure: (cmd) =>
    cmd
      .option(
        "--broker <endpoint>",
        "majordomo_broker to connect to",
        endpoint,
        "tcp://127.0.0.1:5512",
      )
      .option("--service <name>", "service to call (mmi.service asks whether one exists)", "echo")
      .option("--body <frame>", "request body frame(s)", repeatable(), ["hello"])
      .option("--requests <n>", "requests to make (0 = until stopped)", int({ min: 0 }), 1)
      .option(
        "--mode <mode>",
        "sync = REQ + Lazy Pirate; async = DEALER, --window in flight",
        oneOf("sync", "async"),
        "sync",
      )
      .option("--window <n>", "async: requests in flight", int({ min: 1, max: 1000 }), 10)
      .option("--timeout <ms>", "per attempt (sync) or per request (async)", int({ min: 1 }), 2500)
      .option(
        "--retries <n>",
        "sync: attempts per request in all (1 = no retry)",
        int({ min: 1, max: 100 }),
        3,
      )
      .option("--interval <ms>", "sync: pause between requests", int({ min: 0 }), 0)
      .option("--quiet", "do not print replies", false)
      .option("--json", "print replies as JSON lines", false),
  async run(options, ctx) {
    const tally: Tally = { sent: 0, replied: 0, refused: 0, failed: 0, started: performance.now() };
    if (options.mode === "sync") await runSync(options, ctx, tally);
    else await runAsync(options, ctx, tally);
    const seconds = (performance.now() - tally.started) / 1000;
    ctx.log.info("summary", {
      mode: options.mode,
      service: options.service,
      sent: tally.sent,
      replied: tally.replied,
      refused: tally.refused,
      failed: tally.failed,
      seconds: Number(seconds.toFixed(3)),
      rps: Math.round(tally.replied / Math.max(seconds, 1e-9)),
    });
    if (tally.failed > 0 || tally.refused > 0) ctx.exitCode = 1;
  },
});

function printReply(ctx: RoleContext, options: Options, service: string, body: Frames): void {
  if (options.quiet) return;
  const frames = body.map((f) => decoder.decode(f));
  ctx.print(
    options.json ? JSON.stringify({ service, body: frames }) : `${service}: ${frames.join(" | ")}`,
  );
}

function printRefused(ctx: RoleContext, options: Options, error: MdpErrorReply): void {
  if (options.quiet) return;
  ctx.print(
    options.json
      ? JSON.stringify({ service: error.service, error: error.code, text: error.text })
      : `${error.service}: ERROR ${error.code} ${error.text}`,
  );
}

async function runSync(options: Options, ctx: RoleContext, tally: Tally): Promise<void> {
  const client = new MdpClient({
    connect: zmqReqFactory({ endpoint: options.broker }),
    timeoutMs: options.timeout,
    retries: options.retries,
    signal: ctx.signal,
    onRetry: (info) => ctx.log.warn("retry", { ...info, service: options.service }),
  });
  ctx.defer(() => client.close());
  for (let i = 0; options.requests === 0 || i < options.requests; i++) {
    if (ctx.signal.aborted) break;
    if (i > 0 && options.interval > 0) await ctx.sleep(options.interval);
    if (ctx.signal.aborted) break;
    tally.sent++;
    try {
      const body = await client.request(options.service, options.body);
      tally.replied++;
      printReply(ctx, options, options.service, body);
    } catch (error) {
      if (error instanceof MdpErrorReply) {
        tally.refused++;
        ctx.log.warn("refused", { service: error.service, code: error.code, text: error.text });
        printRefused(ctx, options, error);
      } else if (error instanceof NoReplyError) {
        tally.failed++;
        ctx.log.error("no_reply", { service: options.service, attempts: error.attempts });
        if (!options.quiet) {
          ctx.print(`${options.service}: NO REPLY after ${error.attempts} attempt(s)`);
        }
      } else if (error instanceof BadMessageError) {
        tally.failed++; // a reply that is not MDP/Client for this service: logged, dropped
        ctx.badMessage(error.reason, { socket: "broker" });
      } else if (ctx.signal.aborted) {
        tally.sent--; // interrupted by the stop: not a failure of the broker
        break;
      } else {
        tally.failed++;
        ctx.log.limited("error", "request_failed", { error: String(error) });
      }
    }
  }
}

async function runAsync(options: Options, ctx: RoleContext, tally: Tally): Promise<void> {
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(options.broker);
  let sendDropped = 0;
  const finished = Promise.withResolvers<void>();
  const client = new MdpAsyncClient({
    clock: systemClock,
    log: ctx.log,
    send: (frames) => {
      try {
        if (dealer.sendSync(frames)) return; // no promise per message when it can go now
      } catch {
        sendDropped++;
        return;
      }
      dealer.send(frames).catch(() => sendDropped++);
    },
  }, {
    timeoutMs: options.timeout,
    maxInFlight: options.window,
    onResult: (result) => {
      if (result.ok) {
        tally.replied++;
        printReply(ctx, options, result.service, result.body);
      } else if (result.error === "timeout") {
        tally.failed++;
        ctx.log.limited("warn", "timeout", { service: result.service, ms: result.rttMs });
      } else {
        tally.refused++;
        ctx.log.limited("warn", "refused", { code: result.error.code, text: result.error.text });
        printRefused(ctx, options, result.error);
      }
      pump();
    },
  });
  const pump = () => {
    while (
      !ctx.signal.aborted && (options.requests === 0 || tally.sent < options.requests) &&
      client.inFlight < options.window && client.send(options.service, options.body)
    ) tally.sent++;
    if (options.requests > 0 && tally.sent >= options.requests && client.settled()) {
      finished.resolve();
    }
  };
  const serving = ctx.serve(dealer, (frames) => client.onMessage(frames), {
    name: "broker",
    untilClosed: true,
  });
  serving.catch(() => {});
  ctx.every(Math.max(10, Math.min(100, options.timeout / 4)), () => {
    client.tick(systemClock.now());
    pump();
  });
  pump();
  await Promise.race([finished.promise, ctx.stopped]);
  if (!client.settled()) {
    await ctx.drain(async (signal) => {
      while (!client.settled() && !signal.aborted) await delay(10, { signal });
    }, { what: "requests in flight" });
    tally.failed += client.inFlight; // never answered
  }
  if (sendDropped > 0) ctx.log.warn("send_dropped", { dropped: sendDropped });
  dealer.close();
}
