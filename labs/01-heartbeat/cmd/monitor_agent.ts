/**
 * monitor_agent: publishes this host's health (or a simulated fleet) as heartbeats on a PUB
 * socket. It connects to each subscriber (dashboards, alert systems), which bind; see
 * SUMMARY.md for why.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { ConfigError, endpoint, float, int, repeatable, runRole } from "@lib/role/mod.ts";
import { Publisher } from "@lib/zmq/mod.ts";
import { FleetSimulator } from "../internal/fleet_simulator.ts";
import { DEFAULT_THRESHOLDS, denoHost, HealthSampler } from "../internal/health_sampler.ts";
import { HostNode } from "../internal/host_node.ts";
import { nodeName, rackName, safeNodeName } from "../internal/options.ts";
import { heartbeatMessages, MAX_TOPIC_BYTES } from "../internal/protocol.ts";
import { seededRandom } from "@lib/random/mod.ts";

/** Default subscriber endpoint when neither --connect nor --bind is given. */
const DEFAULT_CONNECT = "tcp://127.0.0.1:5501";

interface Options {
  connect: string[];
  bind: string[];
  interval: number;
  rack: string;
  node?: string;
  fleet: number;
  racks?: string[];
  seed?: number;
  dropRate: number;
  warnLoad: number;
  critLoad: number;
  warnMem: number;
  critMem: number;
  sendHwm: number;
  maxPrefixBytes: number;
}

await runRole<Options>({
  name: "monitor_agent",
  summary: "Publishes this host's health (or a simulated fleet with --fleet N) as heartbeats",
  configure: (cmd) =>
    cmd
      .option(
        "--connect <endpoint>",
        "subscriber to connect the PUB to",
        repeatable(endpoint, { defaultText: `${DEFAULT_CONNECT} if no --bind` }),
      )
      .option("--bind <endpoint>", "also bind the PUB here", repeatable(endpoint), [])
      .option("--interval <ms>", "heartbeat interval", int({ min: 10, max: 3_600_000 }), 1000)
      .option("--rack <name>", "rack of this host", rackName, "local")
      .option("--node <name>", "node name of this host (default: host name)", nodeName)
      .option(
        "--fleet <n>",
        "simulate N nodes instead of this host (0 = off)",
        int({ min: 0, max: 10_000 }),
        0,
      )
      .option(
        "--racks <list>",
        "racks of the simulated fleet (default A,B,C)",
        repeatable(rackName),
      )
      .option("--seed <n>", "seed of the fleet simulator (default: random)", int())
      .option(
        "--drop-rate <p>",
        "demo fault injection, fleet only: probability a beat is lost (seq still advances)",
        float({ min: 0, max: 1 }),
        0,
      )
      .option(
        "--warn-load <x>",
        "warning at load1 per CPU >= x",
        float({ min: 0 }),
        DEFAULT_THRESHOLDS.warnLoad,
      )
      .option(
        "--crit-load <x>",
        "critical at load1 per CPU >= x",
        float({ min: 0 }),
        DEFAULT_THRESHOLDS.critLoad,
      )
      .option(
        "--warn-mem <pct>",
        "warning at memory used >= pct",
        float({ min: 0, max: 100 }),
        DEFAULT_THRESHOLDS.warnMem,
      )
      .option(
        "--crit-mem <pct>",
        "critical at memory used >= pct",
        float({ min: 0, max: 100 }),
        DEFAULT_THRESHOLDS.critMem,
      )
      .option(
        "--send-hwm <n>",
        "PUB send high-water mark per subscriber (messages)",
        int({ min: 1 }),
        1000,
      )
      .option(
        "--max-prefix-bytes <n>",
        "longest subscription prefix a subscriber may send (a longer one drops its connection)",
        int({ min: 16, max: MAX_TOPIC_BYTES }),
        128,
      ),
  validate(options) {
    if (
      options.fleet === 0 && (options.racks || options.seed !== undefined || options.dropRate > 0)
    ) {
      throw new ConfigError(
        "expected --racks, --seed and --drop-rate only with --fleet N, got --fleet 0",
      );
    }
  },
  async run(options, ctx) {
    // A PUB keeps every subscription its peers send (libzmq's trie, about 50 B per prefix
    // byte), before this code could look at it: the message size bound makes libzmq drop a
    // peer that sends a longer prefix than any dashboard needs (1 byte for the 0x01 marker).
    const pub = new Publisher({
      sendHighWaterMark: options.sendHwm,
      linger: 1000,
      maxMessageSize: options.maxPrefixBytes + 1,
    });
    ctx.defer(() => pub.close());
    for (const ep of options.bind) {
      await pub.bind(ep);
      ctx.listening(pub);
    }
    const connect = options.connect.length === 0 && options.bind.length === 0
      ? [DEFAULT_CONNECT]
      : options.connect;
    for (const ep of connect) {
      pub.connect(ep);
      ctx.log.info("connecting", { endpoint: ep });
    }

    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const source = options.fleet > 0
      ? new FleetSimulator({
        size: options.fleet,
        racks: options.racks ?? ["A", "B", "C"],
        intervalMs: options.interval,
        random: seededRandom(seed),
        newBootId: () => crypto.randomUUID(),
        now: Date.now,
        rates: { drop: options.dropRate },
      })
      : new HostNode({
        rack: options.rack,
        node: options.node ?? safeNodeName(Deno.hostname()),
        bootId: crypto.randomUUID(),
        sampler: new HealthSampler(denoHost(), {
          warnLoad: options.warnLoad,
          critLoad: options.critLoad,
          warnMem: options.warnMem,
          critMem: options.critMem,
        }),
        now: Date.now,
      });
    ctx.log.info("publishing", {
      mode: options.fleet > 0 ? "fleet" : "host",
      nodes: options.fleet || 1,
      interval_ms: options.interval,
      ...(options.fleet > 0 ? { seed } : {}),
    });

    let sent = 0;
    let next = systemClock.now();
    while (!ctx.signal.aborted) {
      for (const heartbeat of source.tick()) {
        for (const frames of heartbeatMessages(heartbeat)) {
          await pub.send(frames);
          sent++;
          ctx.log.debug("heartbeat_sent", { topic: frames[0], seq: heartbeat.seq });
        }
      }
      next += options.interval;
      const now = systemClock.now();
      if (next < now - options.interval) next = now; // fell behind (suspended): do not burst
      await ctx.sleep(Math.max(0, next - now));
    }
    ctx.log.info("published", { messages: sent });
  },
});
