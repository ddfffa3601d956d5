/**
 * audit_gateway: the ROUTER front end. Clients (DEALER/REQ) send audit records; the gateway
 * hands them to archival workers by credit (least loaded first) on a second ROUTER and
 * acknowledges a record only once a worker made it durable. In-flight work is bounded:
 * above `--max-inflight`, clients get `busy` with a retry-after.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { systemClock } from "@lib/async/mod.ts";
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { Router, ZmqError } from "@lib/zmq/mod.ts";
import { GatewayCore } from "../internal/gateway_core.ts";
import { MAX_REQUEST_BYTES, MAX_WORKER_BODY_BYTES } from "../internal/protocol.ts";

interface Options {
  frontend: string;
  backend: string;
  maxInflight: number;
  retryAfter: number;
  heartbeat: number;
  workerTimeout: number;
  recordTimeout: number;
  quarantine: number;
  recentIds: number;
  statsInterval: number;
  hwm: number;
}

/**
 * Frontend messages handled in a row before the frontend loop gives the event loop a turn
 * (the backend's acks, timers, signals): a flood on the frontend cannot starve the rest.
 */
const FRONTEND_BURST = 64;

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
        "--record-timeout <ms>",
        "a record held this long by a live worker is re-dispatched; the worker is quarantined",
        int({ min: 100 }),
        10_000,
      )
      .option(
        "--quarantine <ms>",
        "first quarantine of a worker that let a record time out (doubles, up to 32x)",
        int({ min: 1 }),
        10_000,
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
    // libzmq drops peers sending far over the limits; up to these sizes the core answers
    // oversize requests itself (invalid when the id is readable).
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

    const code = (error: unknown) => error instanceof ZmqError ? error.code : undefined;
    const sendFailed = (to: string, error: unknown) =>
      ctx.log.limited("warn", "send_failed", { to, error: String(error) }, `send_failed:${to}`);
    // Sends are fire-and-forget (the core never waits); a full queue (EAGAIN) or a gone
    // peer rejects later, and the core counts it (a record not sent is queued again).
    const core: GatewayCore = new GatewayCore({
      maxInflight: options.maxInflight,
      workerTimeoutMs: options.workerTimeout,
      recordTimeoutMs: options.recordTimeout,
      quarantineMs: options.quarantine,
      retryAfterMs: options.retryAfter,
      recentIds: options.recentIds,
    }, {
      clock: systemClock,
      log: ctx.log,
      reply: (frames) =>
        void frontend.send(frames).catch((error) => {
          if (code(error) === "ENOTSOCK") return;
          core.replyNotSent();
          if (code(error) !== "EAGAIN") sendFailed("client", error);
        }),
      toWorker: (frames, worker, recordId) =>
        void backend.send(frames).catch((error) => {
          if (code(error) === "ENOTSOCK") return;
          if (code(error) === "EHOSTUNREACH") core.workerUnreachable(worker);
          else if (recordId !== undefined) core.recordNotSent(worker, recordId);
          else core.replyNotSent();
          if (code(error) !== "EAGAIN" && code(error) !== "EHOSTUNREACH") {
            sendFailed("worker", error);
          }
        }),
    });

    let sinceTurn = 0;
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    // Both loops keep serving while draining (acks, and busy answers to new records) until
    // the sockets close.
    const frontLoop = ctx.serve(frontend, (frames) => {
      core.onClient(frames);
      if (++sinceTurn < FRONTEND_BURST) return;
      sinceTurn = 0;
      return turn();
    }, { name: "frontend", untilClosed: true });
    const backLoop = ctx.serve(backend, (frames) => core.onWorker(frames), {
      name: "backend",
      untilClosed: true,
    });
    ctx.every(options.heartbeat, () => core.tick());
    ctx.every(options.statsInterval, () => ctx.log.info("stats", statsFields(core)));
    await ctx.stopped;
    // Draining: admit nothing new (busy), keep dispatching and acking what is in flight,
    // until nothing is in flight or no worker is left (what is still queued was never
    // acked: its clients retry), within the role's one drain budget.
    core.stopAccepting();
    ctx.log.info("draining", { inflight: core.inflight, workers: core.workers });
    await ctx.drain(() => core.whenSettled(), { what: "records in flight" });
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
    ignored: core.stats.ignored,
    throttled_peers: core.stats.throttledPeers,
    forged_acks: core.stats.forgedAcks,
    record_timeouts: core.stats.recordTimeouts,
    quarantines: core.stats.quarantines,
    send_failures: core.stats.sendFailures,
  };
}
