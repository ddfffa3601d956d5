/**
 * majordomo_broker: the Guide's Majordomo broker (7/MDP 0.1 with 8/MMI) on one ROUTER for
 * clients and workers, with bounded per-service queues, request deadlines and a live table.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS } from "@lib/patterns/mod.ts";
import { byteSize, endpoint, int, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { MajordomoBroker } from "../internal/broker.ts";
import { renderTable } from "../internal/table.ts";

interface Options {
  bind: string;
  heartbeatInterval: number;
  liveness: number;
  queueSize: number;
  requestTimeout: number;
  maxServices: number;
  maxWorkers: number;
  maxMessageSize: number;
  tableInterval: number;
  json: boolean;
  statsInterval: number;
}

await runRole<Options>({
  name: "majordomo_broker",
  summary: "7/MDP broker with 8/MMI: per-service queues, LRU dispatch, heartbeats, live table",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint for clients and workers",
        endpoint,
        "tcp://127.0.0.1:5512",
      )
      .option(
        "--heartbeat-interval <ms>",
        "heartbeat interval, both ways",
        int({ min: 10 }),
        MDP_HEARTBEAT_INTERVAL_MS,
      )
      .option(
        "--liveness <n>",
        "silent intervals before a worker is dead",
        int({ min: 1, max: 100 }),
        MDP_HEARTBEAT_LIVENESS,
      )
      .option(
        "--queue-size <n>",
        "waiting requests per service; more get a 503 error reply",
        int({ min: 1, max: 1_000_000 }),
        1000,
      )
      .option(
        "--request-timeout <ms>",
        "a request no worker took this long gets a 504 error reply",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--max-services <n>",
        "services known at once",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option(
        "--max-workers <n>",
        "workers known at once (one more gets DISCONNECT)",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option(
        "--max-message-size <size>",
        "largest message accepted (libzmq drops the peer past it)",
        byteSize,
        16 * 1024 * 1024,
      )
      .option(
        "--table-interval <ms>",
        "redraw the service table this often (0 = off)",
        int({ min: 0 }),
        1000,
      )
      .option("--json", "print the table as one JSON object per interval", false)
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  async run(options, ctx) {
    const router = new Router({
      mandatory: true,
      maxMessageSize: options.maxMessageSize,
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
    });
    await router.bind(options.bind);
    ctx.listening(router);
    let sendDropped = 0;
    const broker = new MajordomoBroker({
      clock: systemClock,
      log: ctx.log,
      // Fire-and-forget: a peer that left (EHOSTUNREACH) or a full queue (EAGAIN) drops the
      // message; clients retry and worker liveness covers lost heartbeats.
      send: (frames) => {
        const dropped = (error: unknown) => {
          sendDropped++;
          ctx.log.limited("warn", "send_dropped", {
            error: error instanceof Error ? error.message : String(error),
            dropped: sendDropped,
          });
        };
        // The synchronous path first (no promise per message); it declines rather than wait.
        try {
          if (router.sendSync(frames)) return;
        } catch (error) {
          return dropped(error);
        }
        router.send(frames).catch(dropped);
      },
    }, {
      heartbeatIntervalMs: options.heartbeatInterval,
      liveness: options.liveness,
      queueSize: options.queueSize,
      requestTimeoutMs: options.requestTimeout,
      maxServices: options.maxServices,
      maxWorkers: options.maxWorkers,
    });

    const tty = !options.json && Deno.stdout.isTerminal();
    let lastPlain = "";
    let drawn = 0;
    ctx.every(options.tableInterval, () => {
      const rows = broker.table();
      if (options.json) {
        ctx.print(
          JSON.stringify({ ts: new Date().toISOString(), ...broker.stats(), services: rows }),
        );
        return;
      }
      const text = renderTable(rows, broker.stats());
      if (!tty && text === lastPlain) return; // piped: a snapshot only when something changed
      lastPlain = text;
      // In place on a terminal, never clearing it (the lab runner's roles share it).
      const frame = terminalFrame(text.split("\n"), {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
        rows: tty ? Deno.consoleSize().rows : undefined,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    });
    ctx.every(
      Math.max(10, Math.min(250, options.heartbeatInterval / 4)),
      () => broker.tick(systemClock.now()),
    );
    ctx.every(
      options.statsInterval,
      () => ctx.log.info("stats", { ...broker.stats(), send_dropped: sendDropped }),
    );

    // Served until closed: replies from workers keep arriving while the broker drains.
    const serving = ctx.serve(router, (frames) => broker.onMessage(frames), {
      name: "router",
      untilClosed: true,
    });
    serving.catch(() => {});
    await ctx.stopped;
    broker.stopAccepting();
    await ctx.drain(() => broker.whenSettled(), { what: "requests held by workers" });
    const refused = broker.abandon();
    ctx.log.info("drained", {
      ...broker.stats(),
      refused_at_stop: refused,
      send_dropped: sendDropped,
    });
  },
});
