/**
 * dashboard: binds a SUB socket that agents connect to, subscribes by topic prefix (racks,
 * or alert levels with --alerts-only), judges liveness on its own monotonic clock and shows
 * a live racks × nodes view (or, with --json, prints state-change events as JSON lines).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import {
  ConfigError,
  endpoint,
  float,
  int,
  oneOf,
  repeatable,
  runRole,
  terminalFrame,
} from "@lib/role/mod.ts";
import { Subscriber } from "@lib/zmq/mod.ts";
import { FleetMonitor, type MonitorEvent } from "../internal/fleet_monitor.ts";
import { alertLevel, rackName } from "../internal/options.ts";
import {
  type AlertLevel,
  BadMessageError,
  decodeMessage,
  subscriptionsFor,
} from "../internal/protocol.ts";
import { renderView } from "../internal/render.ts";
import { TopicCounter } from "../internal/topic_counter.ts";

/** Default endpoint bound when neither --bind nor --connect is given. */
const DEFAULT_BIND = "tcp://127.0.0.1:5501";
/** Largest message libzmq accepts at all (bigger ones drop the peer's connection). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

interface Options {
  bind: string[];
  connect: string[];
  rack: string[];
  alertsOnly: boolean;
  alertLevel: AlertLevel[];
  interval: number;
  suspectAfter: number;
  deadAfter: number;
  rise: number;
  json: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  refresh: number;
  maxNodes: number;
  receiveHwm: number;
}

await runRole<Options>({
  name: "dashboard",
  summary: "Live racks × nodes heartbeat view: liveness, seq gaps, restarts (SUB)",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "SUB endpoint agents connect to",
        repeatable(endpoint, { defaultText: `${DEFAULT_BIND} if no --connect` }),
      )
      .option(
        "--connect <endpoint>",
        "also connect to an agent that binds",
        repeatable(endpoint),
        [],
      )
      .option(
        "--rack <name>",
        "only these racks, by subscription",
        repeatable(rackName, { defaultText: "every rack" }),
      )
      .option("--alerts-only", "alert system: subscribe to warning/critical alerts only", false)
      .option(
        "--alert-level <level>",
        "with --alerts-only: only these levels, warning|critical",
        repeatable(alertLevel, { defaultText: "both" }),
      )
      .option(
        "--interval <ms>",
        "expected heartbeat interval",
        int({ min: 10, max: 3_600_000 }),
        1000,
      )
      .option(
        "--suspect-after <n>",
        "suspect after more than n silent intervals",
        float({ min: 1 }),
        2,
      )
      .option("--dead-after <n>", "dead after more than n silent intervals", float({ min: 1 }), 3)
      .option(
        "--rise <n>",
        "consecutive timely beats before alive again",
        int({ min: 1, max: 100 }),
        2,
      )
      .option("--json", "print only state-change events as JSON lines on stdout (no view)", false)
      .option(
        "--view <mode>",
        "view on stdout: ansi (redrawn in place) | plain (snapshots) | none; auto = ansi on a terminal",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--refresh <ms>", "view refresh period", int({ min: 50 }), 1000)
      .option(
        "--max-nodes <n>",
        "most nodes tracked (more are bad messages)",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--receive-hwm <n>",
        "SUB receive high-water mark (messages)",
        int({ min: 1 }),
        10_000,
      ),
  validate(options) {
    if (options.deadAfter <= options.suspectAfter) {
      throw new ConfigError(
        `expected --dead-after > --suspect-after, got ${options.deadAfter} <= ${options.suspectAfter}`,
      );
    }
  },
  async run(options, ctx) {
    const alertsOnly = options.alertsOnly || options.alertLevel.length > 0;
    const subscriptions = subscriptionsFor({
      racks: options.rack,
      alertsOnly,
      levels: options.alertLevel,
    });
    const monitor = new FleetMonitor({
      clock: systemClock,
      mode: alertsOnly ? "alerts" : "heartbeats",
      intervalMs: options.interval,
      suspectAfter: options.suspectAfter,
      deadAfter: options.deadAfter,
      rise: options.rise,
      maxNodes: options.maxNodes,
    });
    const topics = new TopicCounter(options.maxNodes * 2);
    let bad = 0;

    const sub = new Subscriber({
      receiveHighWaterMark: options.receiveHwm,
      maxMessageSize: MAX_MESSAGE_BYTES,
    });
    ctx.defer(() => sub.close());
    // Subscribe before binding/connecting: each new connection gets the whole set at once.
    sub.subscribe(...subscriptions);
    ctx.log.info("subscribed", { prefixes: subscriptions });
    const bind = options.bind.length === 0 && options.connect.length === 0
      ? [DEFAULT_BIND]
      : options.bind;
    for (const ep of bind) {
      await sub.bind(ep);
      ctx.listening(sub);
    }
    for (const ep of options.connect) {
      sub.connect(ep);
      ctx.log.info("connecting", { endpoint: ep });
    }

    const emit = (events: MonitorEvent[]) => {
      for (const e of events) {
        // Gaps and stale beats come at the senders' will: one line per window, with a count.
        if (e.limit) ctx.log.limited(e.level, e.event, e.fields, e.limit);
        else ctx.log[e.level](e.event, e.fields);
        if (options.json && e.change) {
          ctx.print(JSON.stringify({ ts: new Date().toISOString(), event: e.event, ...e.fields }));
        }
      }
    };

    const debug = ctx.log.isEnabled("debug");
    const utf8 = new TextDecoder();
    const onMessage = (frames: Uint8Array[]) => {
      topics.add(frames[0]);
      if (debug) {
        ctx.log.debug("message_received", {
          topic: utf8.decode(frames[0]?.subarray(0, 100)),
          frames: frames.length,
        });
      }
      try {
        emit(monitor.receive(decodeMessage(frames)));
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        bad++;
        ctx.badMessage(error.reason, {
          socket: "agents",
          frames: frames.length,
          bytes: frames.reduce((n, f) => n + f.length, 0),
          bad_messages: bad,
        });
      }
    };

    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0; // lines of the last ansi frame: the next one is drawn over it, in place
    const draw = () => {
      if (viewMode === "none") return;
      let width = 100, rows: number | undefined;
      try {
        ({ columns: width, rows } = Deno.consoleSize());
      } catch {
        // not a terminal: keep the defaults
      }
      const lines = renderView({
        mode: monitor.mode,
        subscriptions,
        intervalMs: options.interval,
        nodes: monitor.nodes(),
        totals: monitor.totals(),
        badMessages: bad,
      }, { color: viewMode === "ansi", width, maxRows: Math.max(5, (rows ?? 40) - 20) });
      const frame = terminalFrame(lines, { mode: viewMode, previousLines: drawn, rows });
      drawn = frame.lines;
      ctx.print(frame.text);
    };

    ctx.every(Math.max(5, Math.floor(options.interval / 4)), () => emit(monitor.tick()));
    if (viewMode !== "none") {
      draw();
      ctx.every(options.refresh, draw);
    }
    // Until SIGTERM/SIGINT; a socket error ends the role (fatal).
    await ctx.serve(sub, onMessage, { name: "agents" });
    const totals = monitor.totals();
    ctx.log.info("received_topics", { total: topics.total, topics: topics.toJSON() });
    ctx.log.info("summary", { ...totals, bad_messages: bad });
  },
});
