/**
 * lvc_broker: XSUB (sources) ↔ XPUB (subscribers) proxy with a bounded last value cache.
 * Updates are validated, cached and forwarded; subscriptions are forwarded upstream and
 * answered at once with every cached value under their prefix (XPUB verbose mode, so a
 * second subscriber to the same topic triggers its own replay; manual mode, so the broker
 * attaches a joiner in the same step as its replay and no live update overtakes it).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { ConfigError, endpoint, int, repeatable, runRole } from "@lib/role/mod.ts";
import { XPublisher, XSubscriber } from "@lib/zmq/mod.ts";
import { LvcBroker } from "../internal/lvc_broker.ts";
import { topicPrefix } from "../internal/options.ts";
import { SendDrops } from "../internal/send_drops.ts";
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
  maxSubscriptions: number;
  maxPrefixBytes: number;
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
        "XSUB endpoint to bind for sources",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5541 if no --upstream" }),
      )
      .option(
        "--upstream <endpoint>",
        "also connect the XSUB to a source/PUB that binds",
        repeatable(endpoint),
        [],
      )
      .option(
        "--backend <endpoint>",
        "XPUB endpoint to bind for subscribers",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5542" }),
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
        "prefix the broker subscribes to upstream for its cache",
        repeatable(topicPrefix, { defaultText: "every topic" }),
      )
      .option(
        "--max-subscriptions <n>",
        "most distinct prefixes subscribed downstream at once (more are refused)",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--max-prefix-bytes <n>",
        `longest subscription prefix (a peer sending a longer one is disconnected by libzmq)`,
        int({ min: 1, max: MAX_TOPIC_BYTES }),
        128,
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
  validate(options) {
    for (const p of options.upstreamPrefix) {
      if (encoder.encode(p).length > options.maxPrefixBytes) {
        throw new ConfigError(
          `expected every --upstream-prefix within --max-prefix-bytes ${options.maxPrefixBytes}, got ${
            JSON.stringify(p)
          }`,
        );
      }
    }
  },
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
    // libzmq records every subscription a peer sends (manual mode too, to cancel them when
    // it leaves) before the broker sees it: only a message size bound stops a flood of long
    // prefixes there, by dropping the sender's connection (1 byte for the 0x01 marker).
    const xpub = new XPublisher({
      verbose: true,
      manual: true,
      sendHighWaterMark: options.sendHwm,
      maxMessageSize: options.maxPrefixBytes + 1,
    });
    ctx.defer(() => xpub.close());
    ctx.defer(() => xsub.close());

    // Sends are not awaited (an XPUB drops at its HWM rather than wait); a full send queue
    // rejects with EAGAIN: dropped and counted like an HWM drop.
    const backendDrops = new SendDrops(ctx.log, "backend");
    const frontendDrops = new SendDrops(ctx.log, "frontend");
    // Backend sends lib/zmq has queued (it defers sends once the reactor's synchronous
    // budget is spent): a joiner attached while some wait would get them before its replay.
    let backendQueued = 0;
    let backendLast: Promise<void> = Promise.resolve();
    const backendSent = () => void backendQueued--;
    const backendFailed = (error: unknown) => {
      backendQueued--;
      backendDrops.onError(error);
    };
    const sendDownstream = (frames: Uint8Array[]) => {
      // The hot path: libzmq takes it now (no promise); else it queues behind earlier sends.
      try {
        if (xpub.sendSync(frames)) return;
      } catch (error) {
        return backendDrops.onError(error);
      }
      backendQueued++;
      backendLast = xpub.send(frames).then(backendSent, backendFailed);
    };
    const broker = new LvcBroker({
      cache: { maxEntries: options.cacheMaxEntries, maxBytes: options.cacheMaxBytes },
      maxPayloadBytes: options.maxPayload,
      upstreamPrefixes: prefixes.map((p) => encoder.encode(p)),
      maxSubscriptions: options.maxSubscriptions,
      maxPrefixBytes: options.maxPrefixBytes,
      clock: systemClock,
      log: ctx.log,
      transport: {
        downstream: sendDownstream,
        upstream: (frame) => void xsub.send(frame).catch(frontendDrops.onError),
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
      max_subscriptions: options.maxSubscriptions,
      max_prefix_bytes: options.maxPrefixBytes,
    });

    const stats = () => ({
      ...broker.stats(),
      backend_send_dropped: backendDrops.stats().dropped,
      frontend_send_dropped: frontendDrops.stats().dropped,
    });
    ctx.every(options.statsInterval, () => ctx.log.info("stats", stats()));
    // Both loops end on SIGTERM/SIGINT; a socket error is fatal.
    await Promise.all([
      ctx.serve(xsub, (f) => broker.onUpstream(f), { name: "frontend" }),
      ctx.serve(xpub, async (f) => {
        // Let queued live updates out first; then attach and replay in one synchronous step.
        for (let i = 0; i < 100 && backendQueued > 0; i++) await backendLast;
        broker.onDownstream(f);
      }, { name: "backend" }),
    ]);
    // Stop taking input; what was forwarded already is flushed by the XPUB's linger when
    // the runtime terminates the context.
    xsub.close({ linger: 0 });
    xpub.close();
    ctx.log.info("stats", stats());
  },
});
