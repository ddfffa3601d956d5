/**
 * audit_gateway: the ROUTER front end. Clients (DEALER/REQ) send audit records; the gateway
 * hands them to archival workers by credit (least loaded first) on a second ROUTER and
 * acknowledges a record only once a worker made it durable. In-flight work is bounded:
 * above `--max-inflight`, clients get `busy` with a retry-after.
 *
 * @module
 */
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { Router, ZmqError } from "@lib/zmq/mod.ts";
import { GatewayCore } from "../internal/gateway_core.ts";
import {
  encodeReply,
  gatewayFrames,
  MAX_REQUEST_BYTES,
  MAX_WORKER_BODY_BYTES,
} from "../internal/protocol.ts";

interface Options {
  frontend: string;
  backend: string;
  maxInflight: number;
  retryAfter: number;
  heartbeat: number;
  workerTimeout: number;
  recentIds: number;
  statsInterval: number;
  hwm: number;
  shutdownTimeout: number;
}

await runRole<Options>({
  name: "audit_gateway",
  summary: "ROUTER front end: acks audit records once a worker made them durable",
  configure: (cmd) =>
    cmd
      .option(
        "--frontend <endpoint>",
        "ROUTER for clients (bind)",
        endpoint,
        "tcp://127.0.0.1:5551",
      )
      .option("--backend <endpoint>", "ROUTER for workers (bind)", endpoint, "tcp://127.0.0.1:5552")
      .option(
        "--max-inflight <n>",
        "records accepted and not yet acked, at most (above: busy)",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option("--retry-after <ms>", "smallest retry_after_ms in a busy reply", int({ min: 1 }), 20)
      .option("--heartbeat <ms>", "liveness check interval", int({ min: 10 }), 1000)
      .option(
        "--worker-timeout <ms>",
        "a worker silent this long is dead: its records are re-dispatched",
        int({ min: 30 }),
        3000,
      )
      .option(
        "--recent-ids <n>",
        "acked ids remembered for instant duplicate answers",
        int({ min: 0, max: 10_000_000 }),
        100_000,
      )
      .option("--stats-interval <ms>", "log a stats event this often (0 = off)", int({ min: 0 }), 0)
      .option("--hwm <n>", "high-water mark per peer (messages)", int({ min: 1 }), 10_000),
  async run(options, ctx) {
    // libzmq drops peers sending far over the limits; up to these sizes the core logs
    // bad_message for oversize frames itself.
    const frontend = new Router({
      maxMessageSize: 16 * MAX_REQUEST_BYTES,
      linger: 1000,
      sendHighWaterMark: options.hwm,
      receiveHighWaterMark: options.hwm,
    });
    const backend = new Router({
      mandatory: true,
      maxMessageSize: 2 * MAX_WORKER_BODY_BYTES,
      linger: 1000,
      sendHighWaterMark: options.hwm,
      receiveHighWaterMark: options.hwm,
    });
    ctx.defer(() => frontend.close());
    ctx.defer(() => backend.close());
    await frontend.bind(options.frontend);
    ctx.listening(frontend, { socket: "frontend" });
    await backend.bind(options.backend);
    ctx.listening(backend, { socket: "backend" });

    const sendFailed = (what: string) => (error: unknown) => {
      if (!(error instanceof ZmqError && error.code === "ENOTSOCK")) {
        ctx.log.warn("send_failed", { to: what, error: String(error) });
      }
    };
    const core: GatewayCore = new GatewayCore({
      maxInflight: options.maxInflight,
      workerTimeoutMs: options.workerTimeout,
      retryAfterMs: options.retryAfter,
      recentIds: options.recentIds,
      now: () => performance.now(),
    }, {
      reply: (envelope, reply) =>
        void frontend.send([...envelope, encodeReply(reply)]).catch(sendFailed("client")),
      toWorker: (worker, command, body) =>
        void backend.send(gatewayFrames(worker, command, body)).catch((error) => {
          if (error instanceof ZmqError && error.code === "EHOSTUNREACH") {
            core.workerUnreachable(worker);
          } else sendFailed("worker")(error);
        }),
      log: (level, event, fields) => ctx.log[level](event, fields),
    });

    const frontLoop = (async () => {
      for await (const frames of frontend) core.onClient(frames);
    })();
    const backLoop = (async () => {
      for await (const frames of backend) core.onWorker(frames);
    })();
    ctx.every(options.heartbeat, () => core.tick());
    ctx.every(options.statsInterval, () => ctx.log.info("stats", statsFields(core)));
    await ctx.stopped;
    // Draining: admit nothing new (busy), keep dispatching and acking what is in flight.
    core.stopAccepting();
    ctx.log.info("draining", { inflight: core.inflight, workers: core.workers });
    // Until nothing is in flight or no worker is left (what is still queued was never acked:
    // its clients retry), at most --shutdown-timeout minus 1 s (left for closing).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      core.settled(),
      new Promise((r) => timer = setTimeout(r, Math.max(0, options.shutdownTimeout - 1000))),
    ]);
    clearTimeout(timer);
    ctx.log.info("drained", { ...statsFields(core), unacked: core.inflight });
    frontend.close();
    backend.close();
    await Promise.allSettled([frontLoop, backLoop]);
  },
});

function statsFields(core: GatewayCore): Record<string, unknown> {
  return {
    inflight: core.inflight,
    queued: core.queued,
    workers: core.workers,
    accepted: core.stats.accepted,
    acked: core.stats.acked,
    busy: core.stats.busy,
    duplicates: core.stats.duplicates,
    redispatched: core.stats.redispatched,
    bad_messages: core.stats.badMessages,
  };
}
