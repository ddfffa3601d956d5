/**
 * central_receiver: the queue side of 6/PPP (READY, heartbeats both ways, per-device
 * liveness 3) that stores readings durably (`node:sqlite`, committed and fsynced) before it
 * acknowledges them, exactly once and in order per device (see `internal/ingest.ts`).
 * Several receivers may share one `--db` (the central storage behind them). Serves a live
 * per-device view on stdout: redrawn in place on a terminal, snapshots when piped, JSON
 * lines with `--json`.
 *
 * @module
 */
import { systemClock, toHex } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { InFlight, SequenceTracker, WorkerQueue } from "@lib/patterns/mod.ts";
import {
  endpoint,
  int,
  InvalidArgumentError,
  runRole,
  terminalFrame,
  writableFile,
} from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { type Batch, encodeAck, HEARTBEAT, parseMessage } from "../internal/protocol.ts";
import { ReadingStore } from "../internal/reading_store.ts";
import { buildRows, renderTable, type SessionInfo } from "../internal/view.ts";

interface Options {
  bind: string;
  db: string;
  name: string;
  maxDevices: number;
  heartbeatInterval: number;
  heartbeatLiveness: number;
  groupCommit: number;
  viewInterval: number;
  json: boolean;
  simulateOutage?: { everyMs: number; forMs: number };
}

/** `--simulate-outage <every>:<for>` (ms): a demo/fault-injection knob. */
function outageSpec(value: string): { everyMs: number; forMs: number } {
  const m = /^(\d+):(\d+)$/.exec(value.trim());
  const everyMs = m ? Number(m[1]) : NaN;
  const forMs = m ? Number(m[2]) : NaN;
  if (!(everyMs > 0 && forMs > 0 && forMs < everyMs)) {
    throw new InvalidArgumentError(
      `expected <every ms>:<for ms> with 0 < for < every, e.g. 20000:8000, got "${value}"`,
    );
  }
  return { everyMs, forMs };
}

interface Peer {
  rid: Uint8Array;
  device?: string;
}

const heartbeatFrame = new TextEncoder().encode(HEARTBEAT);

await runRole<Options>({
  name: "central_receiver",
  summary:
    "Stores readings durably (node:sqlite) before acking, exactly once per reading id; live per-device view",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint devices connect to",
        endpoint,
        "tcp://127.0.0.1:5581",
      )
      .option(
        "--db <file>",
        "readings database (may be shared by several receivers)",
        writableFile,
        "central_receiver.db",
      )
      .option(
        "--name <name>",
        "this receiver's name, stored with each reading",
        "receiver",
      )
      .option(
        "--max-devices <n>",
        "most device sessions at once (more are refused)",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--heartbeat-interval <ms>",
        "6/PPP heartbeat interval",
        int({ min: 10 }),
        1000,
      )
      .option(
        "--heartbeat-liveness <n>",
        "silent intervals before a device is lost",
        int({ min: 1, max: 100 }),
        3,
      )
      .option(
        "--group-commit <n>",
        "most batches stored in one transaction",
        int({ min: 1, max: 10_000 }),
        64,
      )
      .option(
        "--view-interval <ms>",
        "redraw the per-device view every (0: off)",
        int({ min: 0 }),
        1000,
      )
      .option(
        "--json",
        "print view snapshots and device events as JSON lines",
        false,
      )
      .option(
        "--simulate-outage <every:for>",
        "demo/fault injection: every <every> ms go silent for <for> ms (no reads, heartbeats or acks), like a pulled cable",
        outageSpec,
      ),
  async run(options, ctx) {
    const store = new ReadingStore(options.db, options.name);
    ctx.defer(() => store.close());
    const router = new Router({
      routerMandatory: true,
      maxMessageSize: 1 << 20,
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
    });
    ctx.defer(() => router.close());
    await router.bind(options.bind);
    ctx.listening(router);

    const peers = new WorkerQueue<string, never, Peer>({
      clock: systemClock,
      maxWorkers: options.maxDevices,
      heartbeatIntervalMs: options.heartbeatInterval,
      liveness: options.heartbeatLiveness,
    });
    const sessions = new Map<string, SessionInfo>(); // by device id, for the view
    const sequences = new SequenceTracker<string>();
    let pending: { key: string; batch: Batch }[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const counts = {
      stored: 0,
      duplicates: 0,
      missing: 0,
      rewinds: 0,
      acks: 0,
      sendFailed: 0,
    };

    // Simulated outage: the receiver neither reads nor beats, as if its cable were pulled.
    let silentUntil = 0;
    const silent = () => {
      if (silentUntil === 0) return false;
      if (systemClock.now() < silentUntil) return true;
      silentUntil = 0;
      ctx.log.info("simulated_outage_over", {});
      return false;
    };
    const outage = options.simulateOutage;
    if (outage) {
      ctx.every(outage.everyMs, () => {
        silentUntil = systemClock.now() + outage.forMs;
        ctx.log.warn("simulated_outage", { for_ms: outage.forMs });
      });
    }
    const emit = (event: string, fields: Record<string, unknown>) => {
      if (options.json) ctx.print(JSON.stringify({ event, ...fields }));
    };
    // Acks in flight, so the drain on stop waits until they are handed to libzmq.
    const acksInFlight = new InFlight<number>();
    let ackSeq = 0;
    const sendTo = (rid: Uint8Array, frames: Uint8Array[], ack = false) => {
      const id = ++ackSeq;
      if (ack) acksInFlight.add(id);
      router.send([rid, ...frames]).catch(() => counts.sendFailed++).finally(() => {
        if (ack) acksInFlight.done(id);
      });
    };
    const admit = (key: string, rid: Uint8Array): boolean => {
      if (peers.has(key)) return true;
      const { outcome } = peers.ready(key, { rid });
      if (outcome === "refused") {
        ctx.log.limited("warn", "device_refused", {
          peer: key,
          max_devices: options.maxDevices,
        });
        return false;
      }
      return true;
    };

    const flush = () => {
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      flushTimer = undefined;
      if (pending.length === 0) return;
      const work = pending;
      pending = [];
      const now = Date.now();
      const verdicts = store.storeBatches(work.map((w) => w.batch), now);
      verdicts.forEach((v, i) => {
        const { key } = work[i];
        const peer = peers.get(key);
        counts.stored += v.store.length;
        counts.duplicates += v.duplicates;
        counts.missing += v.missing;
        for (const r of v.store) sequences.observe(v.device, v.epoch, r.seq);
        if (v.missing > 0) {
          ctx.log.limited("warn", "gap", {
            device: v.device,
            missing: v.missing,
            upto: v.upto,
          });
        }
        if (v.status === "rewind") counts.rewinds++;
        ctx.log.debug("stored", {
          device: v.device,
          stored: v.store.length,
          duplicates: v.duplicates,
          upto: v.upto,
          status: v.status,
        });
        emit("stored", {
          device: v.device,
          stored: v.store.length,
          upto: v.upto,
          status: v.status,
        });
        if (peer) {
          sendTo(
            peer.data.rid,
            encodeAck({
              device: v.device,
              epoch: v.epoch,
              upto: v.upto,
              status: v.status,
            }),
            true,
          );
          counts.acks++;
        }
      });
    };

    const serving = ctx.serve(router, (frames) => {
      if (silent()) return; // what arrives during a simulated outage is lost, as on the wire
      if (frames.length < 2) {
        throw new BadMessageError(
          `expected a routing id and a message, got ${frames.length} frame(s)`,
        );
      }
      const rid = frames[0];
      const key = toHex(rid);
      const message = parseMessage(frames.slice(1));
      switch (message.kind) {
        case "ready": {
          const { outcome } = peers.ready(key, { rid });
          if (outcome === "refused") {
            ctx.log.limited("warn", "device_refused", {
              peer: key,
              max_devices: options.maxDevices,
            });
            return;
          }
          peers.heard(key, { heartbeat: true });
          ctx.log.info("device_ready", { peer: key, outcome });
          emit("device_ready", { peer: key });
          sendTo(rid, [heartbeatFrame]); // answer at once: the device knows we are alive
          return;
        }
        case "heartbeat":
          // As in the Guide's ppqueue, any message registers the peer (a device whose
          // connection libzmq re-established without a new READY).
          if (admit(key, rid)) peers.heard(key, { heartbeat: true });
          return;
        case "batch": {
          if (!admit(key, rid)) return;
          peers.heard(key, { heartbeat: true }); // a 6/PPP peer: its silence expires it
          const peer = peers.get(key)!;
          if (peer.data.device !== message.batch.device) {
            peers.ready(key, { rid, device: message.batch.device });
            peers.heard(key, { heartbeat: true });
          }
          if (
            !sessions.has(message.batch.device) &&
            sessions.size >= options.maxDevices
          ) {
            ctx.log.limited("warn", "device_refused", {
              device: message.batch.device,
            });
            return;
          }
          sessions.set(message.batch.device, {
            online: true,
            lastSeen: systemClock.now(),
          });
          pending.push({ key, batch: message.batch });
          if (pending.length >= options.groupCommit) flush();
          else flushTimer ??= setTimeout(flush, 0);
          return;
        }
        case "ack":
          throw new BadMessageError(
            "expected READY, HEARTBEAT or BATCH from a device, got ACK",
          );
      }
    }, { name: "devices" });

    const tickMs = Math.max(
      10,
      Math.min(100, Math.floor(options.heartbeatInterval / 4)),
    );
    ctx.every(tickMs, () => {
      const now = systemClock.now();
      for (const { worker } of peers.tick(now)) {
        const device = worker.data.device;
        ctx.log.warn("device_lost", {
          peer: worker.key,
          device,
          silent_ms: Math.round(now - worker.lastSeen),
        });
        emit("device_lost", { peer: worker.key, device });
        if (device) {
          sessions.set(device, { online: false, lastSeen: worker.lastSeen });
        }
      }
      if (silent()) return;
      for (const worker of peers.heartbeatDue(now)) {
        sendTo(worker.data.rid, [heartbeatFrame]);
        if (worker.data.device) {
          const s = sessions.get(worker.data.device);
          if (s) {
            s.online = true;
            s.lastSeen = worker.lastSeen;
          }
        }
      }
    });
    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0; // lines of the previous frame (redrawn over on a terminal)
    ctx.every(options.viewInterval, () => {
      const rows = buildRows(store.devices(), sessions, systemClock.now());
      if (options.json) {
        for (const row of rows) {
          ctx.print(JSON.stringify({ event: "device", ...row }));
        }
        return;
      }
      const lines = renderTable(
        rows,
        `${options.name}: ${rows.length} device(s), ${counts.stored} stored since start`,
      );
      let rowsOnScreen: number | undefined;
      try {
        rowsOnScreen = tty ? Deno.consoleSize().rows : undefined;
      } catch {
        rowsOnScreen = undefined;
      }
      const frame = terminalFrame(lines, {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
        rows: rowsOnScreen,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    });
    ctx.every(
      10_000,
      () =>
        ctx.log.info("receiver_stats", {
          ...counts,
          ...peers.stats(),
          ...sequences.totals(),
        }),
    );

    await serving;
    // Batches received before the stop are stored and acked; the acks go out before exit.
    flush();
    await ctx.drain(() => acksInFlight.whenSettled(), { what: "acks" });
    ctx.log.info("receiver_stats", {
      ...counts,
      ...peers.stats(),
      ...sequences.totals(),
    });
  },
});
