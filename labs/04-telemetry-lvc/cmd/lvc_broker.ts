/**
 * lvc_broker: XSUB (sources) ↔ XPUB (subscribers) proxy with a bounded last value cache.
 * Updates are validated, cached and forwarded; subscriptions are forwarded upstream and
 * answered at once with every cached value under their prefix (XPUB verbose mode, so a
 * second subscriber to the same topic triggers its own replay; manual mode, so the broker
 * attaches a joiner in the same step as its replay and no live update overtakes it).
 *
 * @module
 */
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { XPublisher, XSubscriber } from "@lib/zmq/mod.ts";
import { LvcBroker } from "../internal/lvc_broker.ts";
import { repeatable, topicPrefix } from "../internal/options.ts";
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  MAX_TOPIC_BYTES,
} from "../internal/protocol.ts";

interface Options {
  frontend: string[];
  upstream: string[];
  backend: string[];
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  maxPayload: number;
  upstreamPrefix: string[];
  sendHwm: number;
  receiveHwm: number;
  statsInterval: number;
}

const encoder = new TextEncoder();

await runRole<Options>({
  name: "lvc_broker",
  summary: "XSUB-XPUB proxy with a bounded last value cache replayed to new subscriptions",
  configure: (cmd) =>
    cmd
      .option(
        "--frontend <endpoint>",
        "XSUB endpoint to bind for sources (repeatable; default tcp://127.0.0.1:5541)",
        repeatable(endpoint),
        [],
      )
      .option(
        "--upstream <endpoint>",
        "also connect the XSUB to a source/PUB that binds (repeatable)",
        repeatable(endpoint),
        [],
      )
      .option(
        "--backend <endpoint>",
        "XPUB endpoint to bind for subscribers (repeatable; default tcp://127.0.0.1:5542)",
        repeatable(endpoint),
        [],
      )
      .option(
        "--cache-max-entries <n>",
        "most topics cached (0 = no count bound)",
        int({ min: 0 }),
        100_000,
      )
      .option(
        "--cache-max-bytes <n>",
        "most bytes cached, topic+header+payload (0 = no byte bound)",
        int({ min: 0 }),
        64 * 1024 * 1024,
      )
      .option(
        "--max-payload <bytes>",
        "largest payload accepted",
        int({ min: 0 }),
        DEFAULT_MAX_PAYLOAD_BYTES,
      )
      .option(
        "--upstream-prefix <prefix>",
        "prefix the broker subscribes to upstream for its cache (repeatable; default all)",
        repeatable(topicPrefix),
        [],
      )
      .option(
        "--send-hwm <n>",
        "XPUB send high-water mark per subscriber (messages)",
        int({ min: 1 }),
        100_000,
      )
      .option(
        "--receive-hwm <n>",
        "XSUB receive high-water mark per source (messages)",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--stats-interval <ms>",
        "period of the `stats` log event (0 = only at exit)",
        int({ min: 0 }),
        5000,
      ),
  async run(options, ctx) {
    const frontends = options.frontend.length > 0 || options.upstream.length > 0
      ? options.frontend
      : ["tcp://127.0.0.1:5541"];
    const backends = options.backend.length > 0 ? options.backend : ["tcp://127.0.0.1:5542"];
    const prefixes = options.upstreamPrefix.length > 0 ? options.upstreamPrefix : [""];

    // libzmq drops a peer that sends a frame above maxMessageSize before we see it: keep it
    // above our own limits so an oversize payload reaches us and is logged as bad_message.
    const xsub = new XSubscriber({
      receiveHighWaterMark: options.receiveHwm,
      maxMessageSize: options.maxPayload + MAX_HEADER_BYTES + MAX_TOPIC_BYTES + 64 * 1024,
    });
    const xpub = new XPublisher({
      verbose: true,
      manual: true,
      sendHighWaterMark: options.sendHwm,
      maxMessageSize: MAX_TOPIC_BYTES + 1024,
    });
    ctx.defer(() => xpub.close());
    ctx.defer(() => xsub.close());

    const sendFailed = (socket: string) => (error: unknown) => {
      if (!ctx.signal.aborted) {
        ctx.log.error("send_failed", { socket, error: String(error) });
      }
    };
    const broker = new LvcBroker({
      cache: { maxEntries: options.cacheMaxEntries, maxBytes: options.cacheMaxBytes },
      maxPayloadBytes: options.maxPayload,
      upstreamPrefixes: prefixes.map((p) => encoder.encode(p)),
      now: Date.now,
      log: ctx.log,
      transport: {
        downstream: (frames) => void xpub.send(frames).catch(sendFailed("backend")),
        upstream: (frame) => void xsub.send(frame).catch(sendFailed("frontend")),
        apply: (subscribe, prefix) => subscribe ? xpub.subscribe(prefix) : xpub.unsubscribe(prefix),
      },
    });

    for (const ep of backends) {
      await xpub.bind(ep);
      ctx.listening(xpub, { socket: "backend" });
    }
    for (const ep of frontends) {
      await xsub.bind(ep);
      ctx.listening(xsub, { socket: "frontend" });
    }
    for (const ep of options.upstream) {
      xsub.connect(ep);
      ctx.log.info("connecting", { endpoint: ep, socket: "frontend" });
    }
    broker.start();
    ctx.log.info("cache_configured", {
      max_entries: options.cacheMaxEntries,
      max_bytes: options.cacheMaxBytes,
      upstream_prefixes: prefixes,
    });

    const pump = async (
      socket: XSubscriber | XPublisher,
      handle: (frames: Uint8Array[]) => void,
    ) => {
      try {
        for await (const frames of socket) handle(frames);
      } catch (error) {
        if (!ctx.signal.aborted) throw error;
      }
    };
    const upstream = pump(xsub, (f) => broker.onUpstream(f));
    const downstream = pump(xpub, (f) => broker.onDownstream(f));

    ctx.every(options.statsInterval, () => ctx.log.info("stats", { ...broker.stats() }));
    await ctx.stopped;
    // Stop taking input; what was forwarded already is flushed by the XPUB's linger when
    // the runtime terminates the context.
    xsub.close({ linger: 0 });
    await upstream;
    xpub.close();
    await downstream;
    ctx.log.info("stats", { ...broker.stats() });
  },
});
