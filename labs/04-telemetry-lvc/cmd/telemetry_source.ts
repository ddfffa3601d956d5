/**
 * telemetry_source: publishes simulated sensor updates `[topic, header, payload]` for many
 * sensors at a configurable rate. Its socket is an XPUB, so it sees the subscriptions the
 * broker forwards upstream: it logs them, and by default it starts publishing only once a
 * subscriber is there (a PUB drops everything sent before the first subscription arrives).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { endpoint, int, oneOf, repeatable, runRole } from "@lib/role/mod.ts";
import { XPublisher } from "@lib/zmq/mod.ts";
import { sourcePrefix } from "../internal/options.ts";
import { MAX_TOPIC_BYTES, parseSubscription } from "../internal/protocol.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { RatePacer } from "../internal/rate_pacer.ts";
import { SensorSimulator } from "../internal/sensor_simulator.ts";
import { SendDrops } from "../internal/send_drops.ts";

interface Options {
  connect: string[];
  bind: string[];
  prefix: string;
  sensors: number;
  rate: number;
  count: number;
  blobBytes: number;
  seed?: number;
  start: "subscribed" | "now";
  sendHwm: number;
}

const decoder = new TextDecoder();

await runRole<Options>({
  name: "telemetry_source",
  summary: "Publishes simulated sensor updates [topic, header, payload] at a set rate",
  configure: (cmd) =>
    cmd
      .option(
        "--connect <endpoint>",
        "broker frontend to connect to",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5541 if no --bind" }),
      )
      .option(
        "--bind <endpoint>",
        "bind instead, for a broker that connects",
        repeatable(endpoint),
        [],
      )
      .option(
        "--prefix <prefix>",
        "topic prefix: topics are <prefix>/<kind>/<index>",
        sourcePrefix,
        "plant-a",
      )
      .option("--sensors <n>", "number of sensors (topics)", int({ min: 1, max: 1_000_000 }), 100)
      .option(
        "--rate <n>",
        "updates per second over all sensors (0 = as fast as possible)",
        int({ min: 0 }),
        100,
      )
      .option(
        "--count <rounds>",
        "publish every sensor this many times, then idle (0 = forever)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--blob-bytes <n>",
        "random binary bytes in each payload",
        int({ min: 0, max: 16 * 1024 * 1024 }),
        16,
      )
      .option("--seed <n>", "seed of the simulator's randomness (default: random)", int({ min: 0 }))
      .option(
        "--start <when>",
        "start publishing when a subscriber is there, or now",
        oneOf("subscribed", "now"),
        "subscribed",
      )
      .option(
        "--send-hwm <n>",
        "send high-water mark per subscriber (messages)",
        int({ min: 1 }),
        100_000,
      ),
  async run(options, ctx) {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const sim = new SensorSimulator({
      prefix: options.prefix,
      sensors: options.sensors,
      blobBytes: options.blobBytes,
      random: seededRandom(seed),
      now: () => performance.timeOrigin + performance.now(),
    });
    // It only ever receives subscriptions: one longer than any topic is refused by libzmq,
    // which drops that peer (libzmq keeps every prefix a peer sends until it leaves).
    const pub = new XPublisher({
      sendHighWaterMark: options.sendHwm,
      maxMessageSize: MAX_TOPIC_BYTES + 1,
    });
    ctx.defer(() => pub.close());
    const connects = options.connect.length === 0 && options.bind.length === 0
      ? ["tcp://127.0.0.1:5541"]
      : options.connect;
    for (const ep of options.bind) {
      await pub.bind(ep);
      ctx.listening(pub);
    }
    for (const ep of connects) {
      pub.connect(ep);
      ctx.log.info("connecting", { endpoint: ep });
    }
    ctx.log.info("simulating", { prefix: options.prefix, sensors: options.sensors, seed });

    const { promise: firstSubscription, resolve: subscribed } = Promise.withResolvers<void>();
    // Bad frames throw BadMessageError: ctx.serve logs them (rate-limited) and goes on.
    const subscriptions = ctx.serve(pub, (frames) => {
      const sub = parseSubscription(frames);
      ctx.log.info("subscription", {
        subscribe: sub.subscribe,
        prefix: decoder.decode(sub.prefix),
      });
      if (sub.subscribe) subscribed();
    }, { name: "subscribers" });

    if (options.start === "subscribed") {
      ctx.log.info("waiting_for_subscriber");
      await Promise.race([firstSubscription, ctx.stopped]);
    }

    const total = options.count * sim.size;
    const debug = ctx.log.isEnabled("debug");
    const maxBurst = options.rate === 0 ? 1000 : Math.max(1, Math.ceil(options.rate / 100));
    const pacer = new RatePacer(options.rate, maxBurst, systemClock.now());
    let sent = 0;
    // An XPUB drops at its HWM rather than wait; a full send queue (EAGAIN) drops as well.
    const drops = new SendDrops(ctx.log, "publisher");
    let last: Promise<void> = Promise.resolve();
    if (!ctx.signal.aborted) {
      ctx.log.info("publishing", { rate: options.rate, count: options.count });
    }
    while (!ctx.signal.aborted && (total === 0 || sent < total)) {
      const now = systemClock.now();
      let n = pacer.due(now);
      if (n === 0) {
        await ctx.sleep(Math.max(1, pacer.waitMs(now)));
        continue;
      }
      if (total > 0) n = Math.min(n, total - sent);
      for (let i = 0; i < n; i++) {
        const u = sim.next();
        // A PUB never blocks (it drops at the HWM), so sends resolve at once and in order.
        last = pub.send(u.frames).catch(drops.onError);
        if (debug) {
          ctx.log.debug("published", {
            topic: u.topic,
            seq: u.header.seq,
            value: u.value,
            payload_bytes: u.frames[2].length,
          });
        }
      }
      sent += n;
      pacer.sent(n);
      await last; // lets the reactor and signals run between bursts
      if (options.rate === 0) await new Promise((r) => setTimeout(r, 0));
    }
    ctx.log.info(total > 0 && sent >= total ? "idle" : "published_total", {
      sent,
      rounds: sim.rounds,
      send_dropped: drops.stats().dropped,
    });
    await ctx.stopped;
    pub.close();
    await subscriptions;
  },
});
