/**
 * analytics_engine: receives [header, payload] frames from a camera_feed, verifies each
 * payload's checksum, computes a luma histogram and a motion score against the previous
 * frame, and reports fps, Gbit/s, end-to-end latency from the PTS, dropped frames (gaps in
 * frame ids), CPU seconds per GB and RSS (live view, or `--json` lines). `--mode latest`
 * subscribes (SUB, small receive HWM: stale frames are dropped); `--mode credit` connects a
 * DEALER and grants credit (lossless). Frames are received into one reused buffer.
 *
 * @module
 */

import { delay } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, int, oneOf, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Dealer, Subscriber } from "@lib/zmq/mod.ts";
import { frameChecksum } from "../internal/checksum.ts";
import { type EngineReport, EngineStats } from "../internal/engine_stats.ts";
import { FrameAnalyzer } from "../internal/nv12.ts";
import { cpuSeconds, rssBytes } from "../internal/process_usage.ts";
import {
  decodeHeader,
  encodeBye,
  encodeCredit,
  type FrameHeader,
  MAX_HEADER_BYTES,
} from "../internal/protocol.ts";
import { engineLines } from "../internal/render.ts";

interface Options {
  connect: string;
  mode: "latest" | "credit";
  name: string;
  receiveHwm: number;
  receiveBuffer: number;
  credit: number;
  keepaliveMs: number;
  workMs: number;
  analyzeStep: number;
  verify: boolean;
  frames: number;
  maxFrameBytes: number;
  json: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  reportMs: number;
}

const NO_ANALYSIS = { lumaMean: 0, motion: 0 };

/** Wall-clock µs since the Unix epoch, with sub-ms resolution. */
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;

await runRole<Options>({
  name: "analytics_engine",
  summary:
    "Verifies, analyzes and measures the camera's frames (SUB latest-frame or DEALER credit)",
  configure: (cmd) =>
    cmd
      .option("--connect <endpoint>", "camera_feed endpoint", endpoint, "tcp://127.0.0.1:5518")
      .option(
        "--mode <mode>",
        "latest (SUB) | credit (DEALER, lossless); must match the camera",
        oneOf("latest", "credit"),
        "latest",
      )
      .option("--name <name>", "name shown in the view and logs", "engine")
      .option(
        "--receive-hwm <n>",
        "latest mode: SUB receive high-water mark (frames)",
        int({ min: 1, max: 1000 }),
        1,
      )
      .option(
        "--receive-buffer <bytes>",
        "latest mode: kernel receive buffer (SO_RCVBUF; 0 = the OS's autotuning): small keeps late frames out of the kernel",
        int({ min: 0 }),
        262_144,
      )
      .option(
        "--credit <n>",
        "credit mode: frames granted ahead (the window)",
        int({ min: 1, max: 64 }),
        4,
      )
      .option(
        "--keepalive-ms <ms>",
        "credit mode: keep-alive period while idle",
        int({ min: 50 }),
        1000,
      )
      .option(
        "--work-ms <ms>",
        "extra time spent per frame (a slow analytics stage)",
        int({ min: 0, max: 60_000 }),
        0,
      )
      .option(
        "--analyze-step <n>",
        "sample every n-th pixel and row for histogram and motion (0 = no analysis)",
        int({ min: 0, max: 64 }),
        4,
      )
      .option("--no-verify", "skip the payload checksum (measurement only)")
      .option(
        "--frames <n>",
        "stop after this many frames (0 = run until stopped)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--max-frame-bytes <n>",
        "largest payload accepted (bytes)",
        int({ min: 6 }),
        64 * 1024 * 1024,
      )
      .option("--json", "print stats as JSON lines on stdout (no view)", false)
      .option(
        "--view <mode>",
        "auto | ansi | plain | none",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--report-ms <ms>", "stats/view period", int({ min: 50 }), 1000),
  async run(options, ctx) {
    const credit = options.mode === "credit";
    // libzmq refuses (drops the peer) any frame larger than this before allocating it: a
    // rogue publisher declaring a multi-GB frame cannot make the engine allocate it.
    const maxMessageSize = Math.max(options.maxFrameBytes, MAX_HEADER_BYTES + 1);
    const socket = credit
      ? new Dealer({ linger: 500, receiveHighWaterMark: options.credit + 2, maxMessageSize })
      : new Subscriber({ receiveHighWaterMark: options.receiveHwm, linger: 0, maxMessageSize });
    ctx.defer(() => socket.close());
    if (socket instanceof Subscriber) {
      if (options.receiveBuffer > 0) socket.receiveBufferSize = options.receiveBuffer;
      socket.subscribe();
    }
    socket.connect(options.connect);
    ctx.log.info("connecting", { endpoint: options.connect, mode: options.mode });
    if (credit) {
      await socket.send(encodeCredit(options.credit));
      ctx.every(options.keepaliveMs, () => {
        if (!socket.closed) socket.sendSync(encodeCredit(0));
      });
    }
    ctx.signal.addEventListener("abort", () => {
      if (credit && !socket.closed) socket.sendSync(encodeBye());
      socket.close(); // ends the pending receive
    }, { once: true });

    const stats = new EngineStats(performance.now());
    /** Bad messages dropped; frames replaced by a newer one before processing (latest mode). */
    let bad = 0, skipped = 0;
    const analyzer = new FrameAnalyzer(Math.max(1, options.analyzeStep));
    const cpu0 = cpuSeconds();
    const report = (): EngineReport =>
      stats.report(performance.now(), cpuSeconds() - cpu0, rssBytes());
    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0;
    ctx.every(options.reportMs, () => {
      const r = report();
      if (options.json) {
        const line = { event: "engine_stats", name: options.name, ...r, skipped_stale: skipped };
        ctx.print(JSON.stringify(line));
      } else if (viewMode !== "none") {
        let rows: number | undefined;
        try {
          rows = Deno.consoleSize().rows;
        } catch {
          // not a terminal
        }
        const frame = terminalFrame(engineLines(options.name, options.mode, r, skipped), {
          mode: viewMode,
          previousLines: drawn,
          rows,
        });
        drawn = frame.lines;
        ctx.print(frame.text);
      }
    });

    const headerBuffer = new Uint8Array(MAX_HEADER_BYTES + 1);
    const scrap = new Uint8Array(1);
    const discardRest = async () => {
      while (socket.more) await socket.receiveInto(scrap);
    };
    const reject = async (reason: string, fields: Record<string, unknown> = {}) => {
      bad++;
      ctx.badMessage(reason, { ...fields, bad_messages: bad });
      await discardRest();
      return null;
    };

    /** A frame received whole into `buffer` (its first `header.size` bytes: `frame`). */
    interface Received {
      header: FrameHeader;
      buffer: Uint8Array;
      frame: Uint8Array;
      receivedUs: number;
    }
    /**
     * Receives one message into `buffer` (replaced by a larger one only when the frame is
     * larger: a peer alternating sizes cannot make the engine allocate per message); null if
     * bad.
     */
    const receiveFrame = async (holder: { buffer: Uint8Array }): Promise<Received | null> => {
      const headerSize = await socket.receiveInto(headerBuffer);
      if (!socket.more) return reject("a header without a payload frame", { bytes: headerSize });
      if (headerSize > MAX_HEADER_BYTES) {
        return reject(`header of ${headerSize} bytes (max ${MAX_HEADER_BYTES})`);
      }
      let header: FrameHeader;
      try {
        header = decodeHeader(headerBuffer.subarray(0, headerSize));
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        return reject(error.reason);
      }
      if (header.size > options.maxFrameBytes) {
        return reject(`frame of ${header.size} bytes (max ${options.maxFrameBytes})`);
      }
      // Buffers are reused; a new one only when the frame is larger than any before, at least
      // twice the old one (so sizes creeping up cost a few allocations, not one each). The
      // holder keeps a grown buffer even when the message turns out bad.
      if (holder.buffer.byteLength < header.size) {
        const grown = Math.min(options.maxFrameBytes, holder.buffer.byteLength * 2);
        holder.buffer = new Uint8Array(Math.max(header.size, grown));
      }
      const buffer = holder.buffer;
      const frame = buffer.subarray(0, header.size);
      const size = await socket.receiveInto(frame);
      const receivedUs = wallUs();
      if (socket.more) return reject("more than two frames in a message", { frame_id: header.id });
      if (size !== header.size) {
        return reject(`payload of ${size} bytes, header says ${header.size}`, {
          frame_id: header.id,
        });
      }
      return { header, buffer, frame, receivedUs };
    };

    /** Verifies, analyzes and counts one frame, then works and grants credit. */
    const processFrame = async ({ header, frame, receivedUs }: Received) => {
      const intact = !options.verify || frameChecksum(frame) === header.checksum;
      if (!intact) {
        ctx.log.limited("warn", "checksum_mismatch", { frame_id: header.id }, "checksum");
      }
      const analysis = options.analyzeStep > 0
        ? analyzer.analyze(frame, header.width, header.height)
        : NO_ANALYSIS;
      stats.observe({
        stream: header.stream,
        id: header.id,
        bytes: frame.byteLength,
        latencyUs: receivedUs - header.pts_us,
        intact,
        lumaMean: analysis.lumaMean,
        motion: analysis.motion,
      });
      if (options.workMs > 0) await delay(options.workMs, { signal: ctx.signal });
      if (credit && !socket.closed) {
        if (!socket.sendSync(encodeCredit(1))) await socket.send(encodeCredit(1));
      }
    };
    const more = () =>
      !ctx.signal.aborted && (options.frames === 0 || stats.frames < options.frames);

    try {
      if (credit) {
        // Lossless: every frame is processed, in order; credit bounds what is queued.
        const holder: { buffer: Uint8Array } = { buffer: new Uint8Array(0) };
        while (more()) {
          const frame = await receiveFrame(holder);
          if (!frame) continue;
          await processFrame(frame);
        }
      } else {
        // Latest frame: the receiver keeps reading while the frame before is processed, and
        // a newer frame replaces one still waiting (counted as skipped), so a slow engine
        // always starts on the newest frame and its socket never backs up.
        const free: Uint8Array[] = [];
        const spare: { buffer: Uint8Array } = { buffer: new Uint8Array(0) };
        let ready = null as Received | null;
        let wake = null as (() => void) | null;
        let receiving = true;
        const receiver = (async () => {
          try {
            while (!ctx.signal.aborted) {
              // A bad message leaves its buffer in `spare` for the next receive.
              spare.buffer = spare.buffer.byteLength > 0
                ? spare.buffer
                : free.pop() ?? new Uint8Array(0);
              const frame = await receiveFrame(spare);
              if (!frame) continue;
              spare.buffer = new Uint8Array(0);
              if (ready) {
                skipped++;
                free.push(ready.buffer);
              }
              ready = frame;
              wake?.();
            }
          } catch (error) {
            if (!socket.closed) throw error;
          } finally {
            receiving = false;
            wake?.();
          }
        })();
        while (more() && receiving) {
          if (!ready) {
            await new Promise<void>((resolve) => wake = resolve);
            wake = null;
            continue;
          }
          const frame: Received = ready;
          ready = null;
          await processFrame(frame);
          free.push(frame.buffer);
        }
        socket.close(); // ends the receiver's pending receive
        await receiver;
      }
    } catch (error) {
      if (!socket.closed) throw error; // closed by the stop: the pending receive ended
    }
    const summary = { name: options.name, ...report(), skipped_stale: skipped, bad_messages: bad };
    ctx.log.info("engine_summary", summary);
    if (options.json) ctx.print(JSON.stringify({ event: "engine_done", ...summary }));
    if (credit && !socket.closed) socket.sendSync(encodeBye());
  },
});
