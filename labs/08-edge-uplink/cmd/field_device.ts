/**
 * field_device: takes readings (a simulated sensor), keeps them in a bounded on-disk queue
 * and forwards them to a central_receiver over 6/PPP: READY on every (re)connect,
 * heartbeats both ways with liveness 3, reconnects with capped exponential backoff and full
 * jitter, fails over along `--receiver` (a circuit breaker per receiver) and fails back to
 * the preferred one every `--failback-after` ms. `--fleet N` runs N such devices in one
 * process (each its own socket, queue and session), for benchmarks and demos.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { delay, systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { ParanoidPirateWorker } from "@lib/patterns/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import {
  endpoint,
  int,
  type Logger,
  oneOf,
  repeatable,
  type RoleContext,
  runRole,
  writableDir,
} from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import { Outbox, type OverflowPolicy } from "../internal/outbox.ts";
import { HEARTBEAT, parseMessage, READY } from "../internal/protocol.ts";
import { Uplink } from "../internal/uplink.ts";

interface Options {
  receiver: string[];
  id: string;
  fleet: number;
  storeDir: string;
  buffer: number;
  overflow: OverflowPolicy;
  interval: number;
  count: number;
  batch: number;
  window: number;
  ackTimeout: number;
  heartbeatInterval: number;
  heartbeatLiveness: number;
  reconnectMax: number;
  breakerFailures: number;
  breakerCooldown: number;
  failbackAfter: number;
  statsInterval: number;
  seed: number;
}

await runRole<Options>({
  name: "field_device",
  summary:
    "Takes readings, keeps them in a bounded on-disk queue and forwards them with 6/PPP heartbeats, failover and a circuit breaker per receiver",
  configure: (cmd) =>
    cmd
      .option(
        "--receiver <endpoint>",
        "central_receiver endpoint, in order of preference (the first is the primary)",
        repeatable(endpoint),
        ["tcp://127.0.0.1:5581"],
      )
      .option("--id <name>", "device id (default: the host name)", "")
      .option(
        "--fleet <n>",
        "run n devices in this process (ids <id>-1 ... <id>-n)",
        int({
          min: 1,
          max: 1000,
        }),
        1,
      )
      .option(
        "--store-dir <dir>",
        "directory of the on-disk queue (<id>.db per device)",
        writableDir,
        "field_device-data",
      )
      .option(
        "--buffer <n>",
        "most readings held on disk per device",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--overflow <policy>",
        "when the buffer is full: drop-oldest (counted, reported) or block (the sensor waits)",
        oneOf("drop-oldest", "block"),
        "drop-oldest",
      )
      .option(
        "--interval <ms>",
        "time between readings (0: as fast as the queue takes them)",
        int({
          min: 0,
        }),
        1000,
      )
      .option(
        "--count <n>",
        "stop taking readings after n (0: never stop)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--batch <n>",
        "most readings per batch",
        int({ min: 1, max: 1000 }),
        100,
      )
      .option(
        "--window <n>",
        "batches in flight",
        int({ min: 1, max: 1000 }),
        8,
      )
      .option(
        "--ack-timeout <ms>",
        "resend from the oldest unacked after",
        int({ min: 10 }),
        3000,
      )
      .option(
        "--heartbeat-interval <ms>",
        "6/PPP heartbeat interval",
        int({ min: 10 }),
        1000,
      )
      .option(
        "--heartbeat-liveness <n>",
        "silent intervals before the receiver is dead",
        int({ min: 1, max: 100 }),
        3,
      )
      .option(
        "--reconnect-max <ms>",
        "cap of the reconnect backoff (from one interval, doubling, full jitter)",
        int({ min: 10 }),
        32_000,
      )
      .option(
        "--breaker-failures <n>",
        "lost sessions in a row that open a receiver's breaker",
        int({ min: 1 }),
        2,
      )
      .option(
        "--breaker-cooldown <ms>",
        "open breaker: wait before one trial (doubles per failed trial, up to 8x)",
        int({ min: 10 }),
        10_000,
      )
      .option(
        "--failback-after <ms>",
        "on a backup receiver, try the preferred ones again every (0: never fail back)",
        int({ min: 0 }),
        30_000,
      )
      .option(
        "--stats-interval <ms>",
        "log device_stats every (0: off)",
        int({ min: 0 }),
        10_000,
      )
      .option("--seed <n>", "sensor simulation seed", int({ min: 0 }), 1),
  async run(options, ctx) {
    const base = options.id || Deno.hostname();
    mkdirSync(options.storeDir, { recursive: true });
    const ids = options.fleet === 1
      ? [base]
      : Array.from({ length: options.fleet }, (_, i) => `${base}-${i + 1}`);
    await Promise.all(ids.map((id, i) => runDevice(id, i, options, ctx)));
  },
});

/** One device: queue, sensor, 6/PPP session, uplink. Returns when drained after the stop. */
async function runDevice(
  id: string,
  index: number,
  options: Options,
  ctx: RoleContext,
): Promise<void> {
  const log: Logger = ctx.log.child({ device: id });
  const outbox = new Outbox(`${options.storeDir}/${id}.db`, {
    capacity: options.buffer,
    overflow: options.overflow,
  });
  ctx.defer(() => outbox.close());
  let socket: Dealer | undefined;
  let sendRejected = 0;
  const send = (frames: Uint8Array[]) => {
    const current = socket;
    if (!current || current.closed) throw new Error("no session");
    current.send(frames).catch(() => {
      // A full send queue (EAGAIN) or a socket closed under the send: the batch's ack
      // timeout (or the next session) sends it again; a heartbeat is simply missed.
      if (!current.closed) sendRejected++;
    });
  };
  const uplink = new Uplink({
    clock: systemClock,
    log,
    device: id,
    epoch: outbox.epoch,
    receivers: options.receiver,
    queue: outbox,
    send,
    window: options.window,
    batchSize: options.batch,
    ackTimeoutMs: options.ackTimeout,
    heartbeatIntervalMs: options.heartbeatInterval,
    breakerFailures: options.breakerFailures,
    breakerCooldownMs: options.breakerCooldown,
    failbackAfterMs: options.failbackAfter,
  });

  const open = (target: string | undefined) => {
    socket?.close({ linger: 0 });
    socket = undefined;
    if (target === undefined) {
      log.limited("warn", "no_receiver_available", {
        breakers: uplink.breakers(),
      });
      return;
    }
    // libzmq retries a refused TCP connect by itself; one try per session keeps the
    // reconnect timing ours (the jittered backoff), so devices do not storm a receiver.
    const fresh = new Dealer({
      linger: 0,
      reconnectInterval: options.heartbeatInterval * options.heartbeatLiveness,
      sendHighWaterMark: options.window * 4 + 16,
    });
    fresh.connect(target);
    socket = fresh;
    uplink.sessionStarted(target);
    ctx.serve(fresh, (frames) => {
      if (socket !== fresh) return; // a late message from a dropped session
      const body = pirate.receive(frames);
      uplink.heard();
      if (!body) return;
      pirate.discard(); // an ACK is not a request: nothing stays in hand
      const message = parseMessage(body);
      if (message.kind !== "ack") {
        throw new BadMessageError(
          `expected ACK or HEARTBEAT, got ${message.kind}`,
        );
      }
      uplink.onAck(message.ack);
    }, { name: "receiver", untilClosed: true }).catch(() => {});
  };

  const pirate: ParanoidPirateWorker = new ParanoidPirateWorker({
    clock: systemClock,
    log,
    send,
    connect: () => open(uplink.choose()),
    disconnect: () => {
      uplink.sessionLost();
      socket?.close({ linger: 0 });
      socket = undefined;
    },
  }, {
    ready: READY,
    heartbeat: HEARTBEAT,
    heartbeatIntervalMs: options.heartbeatInterval,
    liveness: options.heartbeatLiveness,
    backoff: {
      initialMs: options.heartbeatInterval,
      maxMs: Math.max(options.reconnectMax, options.heartbeatInterval),
      jitter: "full",
    },
  });

  const tickMs = Math.max(
    10,
    Math.min(100, Math.floor(options.heartbeatInterval / 4)),
  );
  ctx.every(tickMs, () => {
    const now = systemClock.now();
    pirate.tick(now);
    const back = uplink.failbackTarget(now);
    if (back !== undefined) {
      open(back);
      send([new TextEncoder().encode(READY)]); // READY on every (re)connect (6/PPP)
    }
    uplink.tick();
  });
  ctx.every(options.statsInterval, () => {
    log.info("device_stats", {
      ...uplink.stats(),
      dropped: outbox.dropped,
      send_rejected: sendRejected,
      ...pirate.stats(),
    });
  });
  pirate.start();
  log.info("device_started", {
    epoch: outbox.epoch,
    queued: outbox.size,
    next_seq: outbox.nextSeq,
    receivers: options.receiver,
  });

  let samplingDone = false;
  let allAcked = false;
  ctx.every(tickMs, () => {
    if (samplingDone && !allAcked && outbox.size === 0) {
      allAcked = true;
      log.info("all_acked", { ...uplink.stats(), dropped: outbox.dropped });
    }
  });
  samplingDone = await sample(index, options, ctx, log, outbox, () => uplink.pump());
  await ctx.stopped;
  pirate.stop();
  // Drain: what is queued goes out while the budget lasts; the rest stays on disk.
  await ctx.drain(async (signal) => {
    while (outbox.size > 0 && !signal.aborted) await delay(20, { signal });
  }, { what: `${id}: queued readings` });
  log.info("device_stopped", { ...uplink.stats(), dropped: outbox.dropped });
  socket?.close({ linger: 0 });
}

/** The simulated sensor: a random walk, one reading per `--interval`, into the outbox. */
async function sample(
  index: number,
  options: Options,
  ctx: RoleContext,
  log: Logger,
  outbox: Outbox,
  pump: () => void,
): Promise<boolean> {
  const random = seededRandom(options.seed * 1000 + index);
  let value = 20;
  let taken = 0;
  let droppedReported = outbox.dropped;
  let blockedSince: number | null = null;
  const limit = options.count > 0 ? options.count : Infinity;
  while (!ctx.signal.aborted && taken < limit) {
    const n = options.interval === 0 ? Math.min(options.batch, limit - taken) : 1;
    const values = [];
    for (let i = 0; i < n; i++) {
      value += (random() - 0.5) * 0.2;
      values.push({ t: Date.now(), v: Math.round(value * 1000) / 1000 });
    }
    if (options.overflow === "block" && outbox.free < n) {
      if (blockedSince === null) {
        blockedSince = Date.now();
        log.warn("sampling_blocked", {
          queued: outbox.size,
          buffer: options.buffer,
        });
      }
      await ctx.sleep(Math.max(5, Math.min(options.interval, 50)));
      continue;
    }
    if (blockedSince !== null) {
      log.info("sampling_resumed", { blocked_ms: Date.now() - blockedSince });
      blockedSince = null;
    }
    const result = outbox.append(values);
    taken += result.appended.length;
    if (result.dropped > 0) {
      log.limited("warn", "readings_dropped", {
        dropped: outbox.dropped - droppedReported,
        total_dropped: outbox.dropped,
        buffer: options.buffer,
      });
      droppedReported = outbox.dropped;
    }
    pump();
    if (options.interval > 0) await ctx.sleep(options.interval);
    else await delay(0);
  }
  if (taken < limit) return false;
  log.info("sampling_done", { taken, queued: outbox.size });
  return true;
}
