/**
 * echo_worker: a 7/MDP worker (the Guide's `mdworker` on `mdwrkapi`) that answers every
 * request with its own body. `--delay` makes it slow, `--fail-rate` makes it abandon a
 * share of requests (DISCONNECT and a fresh session), so clients' retries show.
 *
 * @module
 */
import { delay, systemClock } from "@lib/async/mod.ts";
import {
  InFlight,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
  MdpWorker,
} from "@lib/patterns/mod.ts";
import { ConfigError, endpoint, float, int, runRole } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";

interface Options {
  broker: string;
  service: string;
  delay: number;
  failRate: number;
  heartbeatInterval: number;
  liveness: number;
}

await runRole<Options>({
  name: "echo_worker",
  summary: "7/MDP worker that echoes requests (with --delay and --fail-rate for demos)",
  configure: (cmd) =>
    cmd
      .option(
        "--broker <endpoint>",
        "majordomo_broker to connect to",
        endpoint,
        "tcp://127.0.0.1:5512",
      )
      .option(
        "--service <name>",
        "the one service this worker registers (run several workers for several)",
        "echo",
      )
      .option("--delay <ms>", "time spent per request", int({ min: 0, max: 3_600_000 }), 0)
      .option(
        "--fail-rate <p>",
        "share of requests abandoned (DISCONNECT, new session): shows retries",
        float({ min: 0, max: 1 }),
        0,
      )
      .option(
        "--heartbeat-interval <ms>",
        "heartbeat interval (as the broker's)",
        int({ min: 10 }),
        MDP_HEARTBEAT_INTERVAL_MS,
      )
      .option(
        "--liveness <n>",
        "silent intervals before the broker is dead",
        int({ min: 1, max: 100 }),
        MDP_HEARTBEAT_LIVENESS,
      ),
  validate(options) {
    const bytes = new TextEncoder().encode(options.service).length;
    if (bytes === 0 || bytes > 255 || options.service.startsWith("mmi.")) {
      throw new ConfigError(
        `expected --service of 1..255 bytes outside "mmi.", got "${options.service}"`,
      );
    }
  },
  async run(options, ctx) {
    const log = ctx.log.child({ service: options.service });
    let socket: Dealer | undefined;
    let sendDropped = 0;
    const work = new InFlight<number>();
    let seq = 0;
    const worker: MdpWorker = new MdpWorker({
      clock: systemClock,
      log,
      send: (frames) => {
        const current = socket;
        if (!current || current.closed) throw new Error("no connected socket");
        try {
          if (current.sendSync(frames)) return; // no promise per message when it can go now
        } catch {
          sendDropped++;
          return;
        }
        current.send(frames).catch(() => {
          if (!current.closed) sendDropped++;
        });
      },
      connect: () => {
        const fresh = new Dealer({ linger: 1000 });
        fresh.connect(options.broker);
        socket = fresh;
        // Heartbeats are read while a request is delayed, and while the role drains.
        ctx.serve(fresh, (frames) => {
          const request = worker.receive(frames);
          if (!request) return;
          if (ctx.signal.aborted) {
            // Stopping: not started; the client's retry goes to another worker.
            worker.discard();
            return;
          }
          if (options.failRate > 0 && Math.random() < options.failRate) {
            worker.discard();
            log.info("simulated_failure", { session: worker.session });
            worker.restart("simulated failure (--fail-rate)");
            return;
          }
          const id = ++seq;
          work.add(id);
          log.debug("request_received", { session: request.session, frames: request.body.length });
          (options.delay > 0 ? delay(options.delay) : Promise.resolve())
            .then(() => {
              if (worker.reply(request, request.body)) {
                log.debug("replied", { frames: request.body.length });
              }
            })
            .finally(() => work.done(id));
        }, { name: "broker", untilClosed: true }).catch(() => {});
      },
      disconnect: () => socket?.close({ linger: 0 }),
    }, {
      service: options.service,
      heartbeatIntervalMs: options.heartbeatInterval,
      liveness: options.liveness,
    });

    const tickMs = Math.max(10, Math.min(250, Math.floor(options.heartbeatInterval / 4)));
    ctx.every(tickMs, () => worker.tick(systemClock.now()));
    worker.start();
    await ctx.stopped;
    // Finish what is in hand, then DISCONNECT: the broker forgets this worker at once.
    await ctx.drain(() => work.whenSettled(), { what: "requests in hand" });
    worker.disconnect();
    log.info("worker_stats", { ...worker.stats(), send_dropped: sendDropped });
    socket?.close(); // linger: the DISCONNECT leaves
  },
});
