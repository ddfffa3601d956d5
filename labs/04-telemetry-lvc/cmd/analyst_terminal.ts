/**
 * analyst_terminal: subscribes to topic prefixes at the broker and shows each topic's
 * live value, its age (now - source ts) and the latency it arrived with (receive time -
 * source ts). Cached values replayed by the broker are marked; replays that are not newer
 * than what the terminal already has (triggered by another subscriber) are ignored.
 * With `--json`, every shown update and periodic stats are JSON lines on stdout.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { endpoint, int, repeatable, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Subscriber } from "@lib/zmq/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { topicPrefix } from "../internal/options.ts";
import {
  decodeReading,
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  MAX_TOPIC_BYTES,
  parseUpdate,
  READING_SCHEMA,
} from "../internal/protocol.ts";
import { renderTable, TerminalState } from "../internal/terminal_state.ts";

interface Options {
  connect: string[];
  topic: string[];
  json: boolean;
  refresh: number;
  rows: number;
  maxTopics: number;
  maxPayload: number;
  receiveHwm: number;
}

const decoder = new TextDecoder();
const wallClock = () => performance.timeOrigin + performance.now();

await runRole<Options>({
  name: "analyst_terminal",
  summary: "Subscribes to topic prefixes and shows live values, age and latency",
  configure: (cmd) =>
    cmd
      .option(
        "--connect <endpoint>",
        "broker backend (XPUB) to connect to",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5542" }),
      )
      .option(
        "--topic <prefix>",
        "topic prefix to subscribe to",
        repeatable(topicPrefix, { defaultText: "every topic" }),
      )
      .option("--json", "machine output: JSON lines of updates and stats on stdout", false)
      .option("--refresh <ms>", "table redraw / stats line period", int({ min: 50 }), 1000)
      .option("--rows <n>", "most rows in the table", int({ min: 1 }), 40)
      .option(
        "--max-topics <n>",
        "most topics tracked (least recently updated dropped)",
        int({ min: 1 }),
        100_000,
      )
      .option(
        "--max-payload <bytes>",
        "largest payload accepted",
        int({ min: 0 }),
        DEFAULT_MAX_PAYLOAD_BYTES,
      )
      .option(
        "--receive-hwm <n>",
        "SUB receive high-water mark (messages)",
        int({ min: 1 }),
        100_000,
      ),
  async run(options, ctx) {
    const connects = options.connect.length > 0 ? options.connect : ["tcp://127.0.0.1:5542"];
    const prefixes = options.topic.length > 0 ? options.topic : [""];
    const state = new TerminalState({ maxTopics: options.maxTopics, now: wallClock });
    const sub = new Subscriber({
      // A SUB only sends subscriptions: nothing worth lingering for at exit.
      linger: 0,
      receiveHighWaterMark: options.receiveHwm,
      maxMessageSize: options.maxPayload + MAX_HEADER_BYTES + MAX_TOPIC_BYTES + 64 * 1024,
    });
    ctx.defer(() => sub.close());
    sub.subscribe(...prefixes);
    // Subscriptions go out as soon as each connection is up; the clock starts here.
    const subscribedAt = systemClock.now();
    for (const ep of connects) sub.connect(ep);
    ctx.log.info("subscribed", { endpoints: connects, prefixes });

    const print = (line: string) => ctx.print(line);
    const handle = (frames: Uint8Array[]) => {
      try {
        const { topic, header, payload } = parseUpdate(frames, {
          maxPayloadBytes: options.maxPayload,
        });
        const value = header.schema === READING_SCHEMA ? decodeReading(payload).value : null;
        const topicText = decoder.decode(topic);
        const { verdict, state: s } = state.accept(topicText, header, value, payload.length);
        if (options.json && verdict !== "duplicate") {
          print(JSON.stringify({
            type: "update",
            verdict,
            topic: topicText,
            seq: s.seq,
            ts: s.ts,
            units: s.units,
            schema: s.schema,
            value: s.value,
            payload_bytes: s.payloadBytes,
            latency_ms: round(s.latencyMs),
            since_subscribe_ms: round(systemClock.now() - subscribedAt),
          }));
        }
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        state.bad();
        ctx.badMessage(error.reason, {
          error: error.message,
          frames: frames.length,
          bytes: frames.reduce((n, f) => n + f.length, 0),
        });
      }
    };

    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    const refresh = () => {
      if (options.json) {
        print(JSON.stringify({ type: "stats", ...state.stats() }));
        return;
      }
      const lines = renderTable(state.rows(options.rows), state.stats(), wallClock());
      // In place on a terminal (never clearing it: the lab runner's roles share it).
      const frame = terminalFrame(lines, { mode: tty ? "ansi" : "plain", previousLines: drawn });
      drawn = frame.lines;
      print(frame.text);
    };
    ctx.every(options.refresh, refresh);
    // Until SIGTERM/SIGINT; a socket error is fatal.
    await ctx.serve(sub, handle, { name: "broker" });
    sub.close();
    refresh();
    ctx.log.info("summary", { ...state.stats() });
  },
});

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
