/**
 * camera_feed: produces NV12 frames (4K by default) from a synthetic moving pattern or a raw
 * `.nv12` file at a target fps and streams each as [header, payload] with the payload sent
 * zero-copy out of a buffer pool. `--mode latest` publishes on PUB with a small HWM (late
 * frames are dropped per subscriber, a slow engine never slows the others); `--mode credit`
 * serves DEALER engines from a ROUTER against their credit (lossless: the slowest engine
 * paces the stream).
 *
 * @module
 */

import { systemClock, toHex } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  ConfigError,
  endpoint,
  float,
  int,
  oneOf,
  readableFile,
  runRole,
  terminalFrame,
} from "@lib/role/mod.ts";
import {
  Publisher,
  Router,
  ZERO_COPY_THRESHOLD,
  zeroCopyFramesInFlight,
  zeroCopyHeld,
  ZmqError,
} from "@lib/zmq/mod.ts";
import { setImmediate } from "node:timers";
import { frameChecksum } from "../internal/checksum.ts";
import { CreditLedger } from "../internal/credit_ledger.ts";
import { FramePool, type PoolSlot } from "../internal/frame_pool.ts";
import { nv12Size, SyntheticPattern, UHD_HEIGHT, UHD_WIDTH } from "../internal/nv12.ts";
import { cpuSeconds, rssBytes } from "../internal/process_usage.ts";
import {
  decodeControl,
  encodeHeader,
  FORMAT,
  MAX_CONTROL_BYTES,
  MAX_CREDIT,
} from "../internal/protocol.ts";
import { cameraLines, type CameraReport } from "../internal/render.ts";

interface Options {
  bind: string;
  mode: "latest" | "credit";
  width: number;
  height: number;
  fps: number;
  input?: string;
  frames: number;
  pool: number;
  sendHwm: number;
  sendBuffer: number;
  creditTimeout: number;
  maxEngines: number;
  unsafePool: boolean;
  static: boolean;
  corruptEvery: number;
  json: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  reportMs: number;
}

const evenSide = (name: string) => (value: string) => {
  const n = int({ min: 2, max: 16384 })(value);
  if (n % 2 !== 0) throw new ConfigError(`--${name} must be even for NV12, got ${n}`);
  return n;
};

/** Wall-clock µs since the Unix epoch, with sub-ms resolution. */
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;
/** One macrotask turn: lets libzmq's free callbacks and signals run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

await runRole<Options>({
  name: "camera_feed",
  summary: "Streams NV12 frames zero-copy from a buffer pool (PUB latest-frame or ROUTER credit)",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "endpoint to bind (tcp:// or ipc://)",
        endpoint,
        "tcp://127.0.0.1:5518",
      )
      .option(
        "--mode <mode>",
        "latest: PUB, small HWM, late frames dropped per engine | credit: ROUTER, lossless, paced by the slowest engine",
        oneOf("latest", "credit"),
        "latest",
      )
      .option("--width <px>", "frame width (even)", evenSide("width"), UHD_WIDTH)
      .option("--height <px>", "frame height (even)", evenSide("height"), UHD_HEIGHT)
      .option(
        "--fps <n>",
        "target frames per second; 0 = as fast as possible",
        float({ min: 0, max: 10_000 }),
        30,
      )
      .option(
        "--input <file>",
        "raw NV12 frames of --width x --height to loop over (default: a synthetic pattern)",
        readableFile,
      )
      .option(
        "--frames <n>",
        "stop after this many frames (0 = run until stopped)",
        int({ min: 0 }),
        0,
      )
      .option("--pool <n>", "frame buffers in the pool", int({ min: 1, max: 256 }), 8)
      .option(
        "--send-hwm <n>",
        "latest mode: PUB send high-water mark per engine (frames)",
        int({ min: 1, max: 1000 }),
        1,
      )
      .option(
        "--send-buffer <bytes>",
        "latest mode: kernel send buffer per connection (SO_SNDBUF; 0 = the OS's autotuning): small keeps late frames out of the kernel",
        int({ min: 0 }),
        262_144,
      )
      .option(
        "--credit-timeout <ms>",
        "credit mode: forget an engine silent this long",
        int({ min: 100 }),
        3000,
      )
      .option(
        "--max-engines <n>",
        "credit mode: most engines served",
        int({ min: 1, max: 1000 }),
        64,
      )
      .option(
        "--static",
        "render each pool buffer once and resend it (measurement: no per-frame render or checksum)",
        false,
      )
      .option(
        "--unsafe-pool",
        "TESTS ONLY: reuse buffers round-robin without waiting for libzmq (corrupts frames)",
        false,
      )
      .option(
        "--corrupt-every <n>",
        "TESTS ONLY: flip a payload byte of every n-th frame after its checksum (0 = off)",
        int({ min: 0 }),
        0,
      )
      .option("--json", "print stats as JSON lines on stdout (no view)", false)
      .option(
        "--view <mode>",
        "auto | ansi | plain | none",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--report-ms <ms>", "stats/view period", int({ min: 50 }), 1000),
  validate(options) {
    if (options.input) {
      const size = nv12Size(options.width, options.height);
      const bytes = Deno.statSync(options.input).size;
      if (bytes < size) {
        throw new ConfigError(
          `--input ${options.input} holds ${bytes} bytes, less than one ${options.width}x${options.height} NV12 frame (${size})`,
        );
      }
    }
  },
  async run(options, ctx) {
    const size = nv12Size(options.width, options.height);
    const zeroCopy = size >= ZERO_COPY_THRESHOLD;
    const pool = new FramePool({
      slots: options.pool,
      size,
      zeroCopy,
      unsafe: options.unsafePool,
      fifo: options.mode === "credit",
      inFlight: zeroCopyFramesInFlight,
      // lib/zmq's free callback says exactly which views libzmq still holds: no GC needed.
      watch: (view) => () => !zeroCopyHeld(view),
      collect: () => 0,
    });
    if (options.unsafePool) {
      ctx.log.warn("unsafe_pool", { note: "buffers are reused while libzmq may still send them" });
    }
    const stream = crypto.randomUUID().slice(0, 8);
    const pattern = new SyntheticPattern(options.width, options.height);
    const file = options.input ? await Deno.open(options.input, { read: true }) : null;
    if (file) ctx.defer(() => file.close());

    /** Fills `buffer` with the next frame of the file, looping at its end. */
    const readFrame = async (buffer: Uint8Array) => {
      let got = 0;
      while (got < size) {
        const n = await file!.read(buffer.subarray(got, size));
        if (n === null) {
          if (got > 0) ctx.log.debug("partial_frame_skipped", { bytes: got });
          got = 0; // a partial last frame is skipped: start over at the file's beginning
          await file!.seek(0, Deno.SeekMode.Start);
          continue;
        }
        got += n;
      }
    };

    // Sockets.
    const ledger = new CreditLedger({
      clock: systemClock,
      timeoutMs: options.creditTimeout,
      maxPeers: options.maxEngines,
      maxCredit: MAX_CREDIT,
    });
    const identities = new Map<string, Uint8Array>();
    let wake: (() => void) | null = null;
    let pub: Publisher | null = null;
    let router: Router | null = null;
    let served: Promise<void> = Promise.resolve();
    if (options.mode === "latest") {
      pub = new Publisher({ sendHighWaterMark: options.sendHwm, linger: 0 });
      if (options.sendBuffer > 0) pub.sendBufferSize = options.sendBuffer;
      ctx.defer(() => pub!.close());
      await pub.bind(options.bind);
      ctx.listening(pub, { mode: "latest" });
    } else {
      router = new Router({
        routerMandatory: true,
        sendHighWaterMark: MAX_CREDIT + 2,
        receiveHighWaterMark: 1000,
        // Engines send tiny control frames only: a larger frame drops that peer in libzmq
        // before it is allocated (a rogue DEALER cannot make the camera buffer gigabytes).
        maxMessageSize: MAX_CONTROL_BYTES,
        linger: 0,
      });
      ctx.defer(() => router!.close());
      await router.bind(options.bind);
      ctx.listening(router, { mode: "credit" });
      const r = router;
      served = ctx.serve(r, (frames) => {
        const [identity, ...body] = frames;
        const peer = toHex(identity);
        const message = decodeControl(body);
        if (message.kind === "bye") {
          if (ledger.forget(peer)) {
            pool.taint();
            ctx.log.info("engine_left", { engine: peer });
          }
          identities.delete(peer);
          return;
        }
        const verdict = ledger.grant(peer, message.credit);
        if (verdict === "refused") {
          throw new BadMessageError(`engine limit ${options.maxEngines} reached`);
        }
        if (verdict === "joined") {
          identities.set(peer, identity.slice());
          ctx.log.info("engine_joined", { engine: peer, credit: message.credit });
        }
        wake?.();
      }, { name: "engines" });
      ctx.every(Math.max(100, Math.floor(options.creditTimeout / 3)), () => {
        for (const peer of ledger.expire()) {
          identities.delete(peer);
          pool.taint();
          ctx.log.warn("engine_expired", { engine: peer, silent_ms: options.creditTimeout });
        }
      });
    }

    // Stats and view.
    let sent = 0, sends = 0, late = 0, poolWaits = 0, creditWaits = 0, droppedEverywhere = 0;
    let windowStart = performance.now(), windowFrames = 0;
    const cpu0 = cpuSeconds();
    const report = (): CameraReport => {
      const now = performance.now();
      const seconds = Math.max(1e-3, (now - windowStart) / 1000);
      const fps = windowFrames / seconds;
      windowStart = now;
      windowFrames = 0;
      const p = pool.stats();
      const cpu = cpuSeconds() - cpu0;
      const gb = sends * size / 1e9;
      return {
        mode: options.mode,
        endpoint: (pub ?? router)?.lastEndpoint ?? options.bind,
        width: options.width,
        height: options.height,
        source: options.input ?? "pattern",
        target_fps: options.fps,
        fps: Math.round(fps * 100) / 100,
        gbps: Math.round(fps * size * 8 / 1e9 * 1000) / 1000,
        sent,
        sends,
        late,
        pool_waits: poolWaits,
        credit_waits: creditWaits,
        pool_slots: p.slots,
        pool_free: p.free,
        pool_held: p.held,
        zero_copy_in_flight: zeroCopyFramesInFlight(),
        collections: p.collections,
        collect_ms: Math.round(p.collectMs * 10) / 10,
        freed_by_count: p.freedByCount,
        freed_by_probe: p.freedByProbe,
        freed_by_order: p.freedByOrder,
        freed_at_once: p.freedAtOnce,
        dropped_everywhere: droppedEverywhere,
        engines: options.mode === "credit" ? ledger.size : -1,
        cpu_s: Math.round(cpu * 1000) / 1000,
        cpu_s_per_gb: gb > 0 ? Math.round(cpu / gb * 1000) / 1000 : 0,
        rss_mb: Math.round(rssBytes() / 1e5) / 10,
      };
    };
    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0;
    let last: CameraReport | null = null;
    ctx.every(options.reportMs, () => {
      last = report();
      if (options.json) ctx.print(JSON.stringify({ event: "camera_stats", ...last }));
      else if (viewMode !== "none") {
        let rows: number | undefined;
        try {
          rows = Deno.consoleSize().rows;
        } catch {
          // not a terminal
        }
        const frame = terminalFrame(cameraLines(last), {
          mode: viewMode,
          previousLines: drawn,
          rows,
        });
        drawn = frame.lines;
        ctx.print(frame.text);
      }
    });

    /** Waits for a free pool buffer; null when stopping. */
    const acquire = async (): Promise<PoolSlot | null> => {
      let slot = pool.acquire();
      if (slot) return slot;
      poolWaits++;
      for (let tries = 0; !ctx.signal.aborted; tries++) {
        // A few macrotask turns first (libzmq's free callbacks run there), then 1 ms naps.
        if (tries < 4) await turn();
        else await ctx.sleep(1);
        slot = pool.acquire();
        if (slot) return slot;
      }
      return null;
    };

    /** Credit mode: waits until every engine has credit; false when stopping. */
    const creditReady = async (): Promise<boolean> => {
      if (ledger.ready()) return true;
      creditWaits++;
      while (!ctx.signal.aborted && !ledger.ready()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      return !ctx.signal.aborted;
    };

    /** --static: the checksum of each pool buffer, rendered once. */
    const staticChecksums: (number | undefined)[] = [];
    const started = performance.now();
    let tick = 0;
    const period = options.fps > 0 ? 1000 / options.fps : 0;
    while (!ctx.signal.aborted && (options.frames === 0 || sent < options.frames)) {
      if (period > 0) {
        const due = started + tick * period;
        const now = performance.now();
        if (due > now) await ctx.sleep(due - now);
        else if (now - due > period) {
          // Behind by more than a frame: skip the missed ticks instead of bursting.
          const behind = Math.floor((now - started) / period);
          late += behind - tick;
          tick = behind;
        }
        tick++;
      }
      if (options.mode === "credit" && !(await creditReady())) break;
      const slot = await acquire();
      if (!slot) break;
      const id = sent;
      let checksum = staticChecksums[slot.index];
      if (checksum === undefined) {
        if (file) await readFrame(slot.buffer);
        else pattern.render(slot.buffer, id);
        checksum = frameChecksum(slot.buffer.subarray(0, size));
        if (options.static) staticChecksums[slot.index] = checksum;
      }
      if (options.corruptEvery > 0 && id > 0 && id % options.corruptEvery === 0) {
        slot.buffer[size >> 1] ^= 0xff; // after the checksum: the engines must catch it
      }
      const header = encodeHeader({
        stream,
        id,
        pts_us: wallUs(),
        width: options.width,
        height: options.height,
        format: FORMAT,
        size,
        checksum,
      });
      if (pub) {
        const view = pool.view(slot, size);
        const before = zeroCopyFramesInFlight();
        if (pub.sendSync([header, view])) {
          // Unchanged: every subscriber's pipe was full and libzmq let go of it at once.
          const nobody = zeroCopyFramesInFlight() === before;
          if (nobody) droppedEverywhere++;
          pool.accepted(slot, nobody);
        } else {
          await pub.send([header, view]).catch(() => {});
          pool.accepted(slot);
        }
        sends++;
      } else {
        for (const [peer] of ledger.peers()) {
          const identity = identities.get(peer);
          if (!identity) continue;
          ledger.consume(peer);
          const view = pool.view(slot, size);
          try {
            if (!router!.sendSync([identity, header, view])) {
              await router!.send([identity, header, view]);
            }
            sends++;
          } catch (error) {
            if (!(error instanceof ZmqError) || error.code !== "EHOSTUNREACH") throw error;
            ledger.forget(peer);
            identities.delete(peer);
            pool.taint();
            ctx.log.warn("engine_unreachable", { engine: peer });
          } finally {
            pool.accepted(slot);
          }
        }
      }
      pool.sent(slot);
      sent++;
      windowFrames++;
      if (period === 0) await turn();
    }
    const final = report();
    ctx.log.info("camera_summary", { ...final });
    if (options.json && options.frames > 0) {
      ctx.print(JSON.stringify({ event: "camera_done", ...final }));
    }
    if (options.frames > 0 && !ctx.signal.aborted) {
      // Give libzmq the time to push out the last frames before the sockets close.
      await ctx.drain(async (signal) => {
        while (!signal.aborted && zeroCopyFramesInFlight() > 0) await ctx.sleep(5);
      }, { what: "frames in flight" });
    }
    router?.close();
    await served;
  },
});
