/**
 * dht_node: one node of the DHT ring. Binds a ROUTER for clients and peers, talks to peers
 * over one DEALER each, finds them through `--seed` endpoints and gossip, replicates each
 * key on N nodes of its preference list with R/W quorums, hinted handoff and read repair.
 * Shows the ring, its ranges and its load live (a table on a terminal, snapshots when piped,
 * none with `--json`).
 *
 * @module
 */

import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { InFlight } from "@lib/patterns/in_flight.ts";
import {
  byteSize,
  ConfigError,
  endpoint,
  int,
  InvalidArgumentError,
  oneOf,
  repeatable,
  runRole,
  terminalFrame,
} from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
import {
  BeaconPeers,
  decodeBeacon,
  encodeBeacon,
  newUuid,
  uuidToHex,
} from "@lib/patterns/zre_beacon.ts";
import { DealerTransport } from "../internal/dealer_transport.ts";
import { DhtNode } from "../internal/node.ts";
import {
  decodeRequest,
  encodeMessage,
  MAX_BATCH,
  MAX_KEY,
  MAX_VALUE,
  oneFrame,
} from "../internal/protocol.ts";
import { checkQuorums } from "../internal/quorum.ts";
import { renderView } from "../internal/view.ts";

interface Options {
  bind: string;
  advertise?: string;
  id?: string;
  seed: string[];
  vnodes: number;
  n: number;
  r: number;
  w: number;
  gossipInterval: number;
  rpcTimeout: number;
  handoffInterval: number;
  suspectAfter: number;
  deadAfter: number;
  maxKeys: number;
  maxBytes: number;
  maxHints: number;
  maxInflight: number;
  leaveOnStop: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  viewInterval: number;
  statsInterval: number;
  json: boolean;
  discover: boolean;
  discoverPort: number;
  discoverBroadcast: string;
  beaconInterval: number;
  joinAfter: number;
  outageAfter: number;
  outageFor: number;
}

function ipv4(value: string): string {
  const parts = value.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new InvalidArgumentError(`expected an IPv4 address, got "${value}"`);
  }
  return value;
}

function nodeId(value: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) {
    throw new ConfigError(`expected --id of 1..64 characters [A-Za-z0-9_.:-], got "${value}"`);
  }
  return value;
}

await runRole<Options>({
  name: "dht_node",
  summary: "DHT ring node: consistent hashing, N replicas, R/W quorums, hinted handoff, gossip",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint for clients and peers",
        endpoint,
        "tcp://127.0.0.1:5514",
      )
      .option(
        "--advertise <endpoint>",
        "endpoint peers should use (default: the bound one)",
        endpoint,
      )
      .option("--id <name>", "node id on the ring (default: host:port of --advertise)", nodeId)
      .option(
        "--seed <endpoint>",
        "a node to gossip with first (repeatable)",
        repeatable(endpoint, { defaultText: "none" }),
        [],
      )
      .option(
        "--vnodes <n>",
        "tokens (virtual nodes) of this node on the ring",
        int({ min: 1, max: 1024 }),
        64,
      )
      .option("--n <n>", "replication factor N", int({ min: 1, max: 16 }), 3)
      .option("--r <n>", "read quorum R (R + W > N)", int({ min: 1, max: 16 }), 2)
      .option("--w <n>", "write quorum W (R + W > N)", int({ min: 1, max: 16 }), 2)
      .option("--gossip-interval <ms>", "push-pull gossip period", int({ min: 10 }), 500)
      .option("--rpc-timeout <ms>", "deadline of a request to a peer", int({ min: 10 }), 1000)
      .option("--handoff-interval <ms>", "hint delivery period (0 = off)", int({ min: 0 }), 1000)
      .option(
        "--suspect-after <n>",
        "silent gossip intervals before a peer is suspect",
        int({ min: 1 }),
        4,
      )
      .option(
        "--dead-after <n>",
        "silent gossip intervals before a peer is dead",
        int({ min: 2 }),
        8,
      )
      .option("--max-keys <n>", "keys this node stores at most", int({ min: 1 }), 1_000_000)
      .option(
        "--max-bytes <bytes>",
        "bytes of keys and values this node stores at most (and, apart, holds in hints)",
        byteSize,
        256 * 1024 * 1024,
      )
      .option(
        "--max-hints <n>",
        "hints this node keeps at most (0 = no hinted handoff)",
        int({ min: 0 }),
        100_000,
      )
      .option("--max-inflight <n>", "client requests coordinated at once", int({ min: 1 }), 1000)
      .option("--leave-on-stop", "on SIGTERM leave the ring: hand every key over first", false)
      .option(
        "--view <mode>",
        "live view: auto|ansi|plain|none",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option(
        "--view-interval <ms>",
        "live view refresh (plain snapshots: at least 1 s)",
        int({ min: 100 }),
        1000,
      )
      .option("--stats-interval <ms>", "stats event period (0 = off)", int({ min: 0 }), 5000)
      .option("--json", "no live view: JSON events only", false)
      .option("--discover", "find peers by UDP beacon (36/ZRE beacon format) on the LAN", false)
      .option(
        "--discover-port <port>",
        "UDP port of the beacons",
        int({ min: 1, max: 65535 }),
        5614,
      )
      .option(
        "--discover-broadcast <address>",
        "where beacons go (255.255.255.255, a subnet's broadcast, or 127.255.255.255 on one host)",
        ipv4,
        "255.255.255.255",
      )
      .option("--beacon-interval <ms>", "time between beacons", int({ min: 50 }), 1000)
      .option(
        "--join-after <ms>",
        "demo: wait this long before the first gossip (a late join)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--outage-after <ms>",
        "demo fault: after this long, go silent (drop every request, no gossip) for --outage-for",
        int({ min: 0 }),
        0,
      )
      .option(
        "--outage-for <ms>",
        "demo fault: length of the outage (0 = none)",
        int({ min: 0 }),
        0,
      ),
  validate(options) {
    const problem = checkQuorums(options.n, options.r, options.w);
    if (problem) throw new ConfigError(problem);
    if (options.maxBytes < MAX_VALUE + MAX_KEY) {
      throw new ConfigError(
        `expected --max-bytes of at least one full entry (${
          MAX_VALUE + MAX_KEY
        }), got ${options.maxBytes}`,
      );
    }
    if (options.deadAfter <= options.suspectAfter) {
      throw new ConfigError(
        `expected --dead-after > --suspect-after, got ${options.deadAfter} <= ${options.suspectAfter}`,
      );
    }
    if (options.advertise?.includes("*")) {
      throw new ConfigError(`expected --advertise without a wildcard, got ${options.advertise}`);
    }
  },
  async run(options, ctx) {
    const router = new Router({
      linger: 1000,
      maxMessageSize: MAX_BATCH * (MAX_VALUE + 1024) + 65_536, // one full replica batch
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
    });
    ctx.defer(() => router.close());
    await router.bind(options.bind);
    const bound = router.lastEndpoint ?? options.bind;
    const advertised = options.advertise ?? bound;
    if (advertised.includes("0.0.0.0")) {
      throw new ConfigError(`bound ${bound}: give --advertise with an address peers can reach`);
    }
    const id = options.id ?? advertised.replace(/^[a-z]+:\/\//, "");
    ctx.listening(router);

    let sendDropped = 0;
    const transport = new DealerTransport({
      clock: systemClock,
      serve: (dealer, onFrames, peer) => {
        ctx.serve(dealer, onFrames, { name: `peer ${peer}`, untilClosed: true }).catch(() => {});
      },
    });
    ctx.defer(() => transport.close());
    const log = ctx.log.child({ node: id });
    const node = new DhtNode({
      id,
      endpoint: advertised,
      vnodes: options.vnodes,
      n: options.n,
      r: options.r,
      w: options.w,
      clock: systemClock,
      wallClock: Date.now,
      random: seededRandom(Date.now() ^ Deno.pid),
      transport,
      log,
      seeds: options.seed.filter((s) => s !== advertised),
      gossipIntervalMs: options.gossipInterval,
      rpcTimeoutMs: options.rpcTimeout,
      maxKeys: options.maxKeys,
      maxBytes: options.maxBytes,
      maxHints: options.maxHints,
      suspectAfter: options.suspectAfter,
      deadAfter: options.deadAfter,
    });
    log.info("node_ready", {
      endpoint: advertised,
      vnodes: options.vnodes,
      n: options.n,
      r: options.r,
      w: options.w,
      seeds: options.seed,
    });

    if (options.discover) {
      const port = Number(/:(\d+)$/.exec(advertised)?.[1] ?? 0);
      const uuid = newUuid();
      const found = new BeaconPeers({
        clock: systemClock,
        expiryMs: 5 * options.beaconInterval,
        ownUuid: uuid,
        maxPeers: 256,
      });
      const beacon = await UdpBeacon.open({
        port: options.discoverPort,
        broadcastAddress: options.discoverBroadcast,
        intervalMs: options.beaconInterval,
        onDatagram: (bytes, from) => {
          const decoded = decodeBeacon(bytes);
          if (!decoded.ok) {
            ctx.badMessage(decoded.reason, { socket: "beacon", from: from.address });
            return;
          }
          const event = found.observe(decoded.beacon, from.address);
          if (event.type === "seen" || event.type === "updated") {
            const added = node.addSeed(event.peer.endpoint);
            if (added) {
              log.info("beacon_peer", { endpoint: event.peer.endpoint, uuid: event.peer.uuid });
            }
          }
        },
        onError: (error) => log.limited("warn", "beacon_error", { error: error.message }),
      });
      ctx.defer(() => beacon.close());
      beacon.publish(encodeBeacon({ uuid, port }));
      ctx.every(options.beaconInterval, () => void found.expire());
      log.info("discovery", {
        port: beacon.port,
        broadcast: options.discoverBroadcast,
        uuid: uuidToHex(uuid),
      });
    }

    const startedAt = systemClock.now();
    let outage = false;
    let outageDropped = 0;
    const inOutage = () => {
      if (options.outageFor <= 0) return false;
      const t = systemClock.now() - startedAt;
      const now = t >= options.outageAfter && t < options.outageAfter + options.outageFor;
      if (now !== outage) {
        outage = now;
        if (now) log.warn("outage_started", { for_ms: options.outageFor, injected: true });
        else log.info("outage_ended", { dropped: outageDropped, injected: true });
      }
      return now;
    };

    const clients = new InFlight<number>();
    let seq = 0;
    let busy = 0;
    const serving = ctx.serve(router, (frames) => {
      if (frames.length < 2) throw new BadMessageError(`expected 2 frames, got ${frames.length}`);
      const [identity, ...rest] = frames;
      const request = decodeRequest(oneFrame(rest)); // BadMessageError -> bad_message, dropped
      if (inOutage()) {
        outageDropped++;
        return;
      }
      const reply = (body: Uint8Array) => router.send([identity, body]).catch(() => sendDropped++);
      if (
        clients.size >= options.maxInflight && (request.kind === "put" || request.kind === "get")
      ) {
        busy++;
        ctx.log.limited("warn", "busy", { in_flight: clients.size, refused: busy });
        void reply(
          encodeMessage({
            kind: "error",
            id: request.id,
            reason: "busy: too many requests in flight",
          }),
        );
        return;
      }
      const key = seq++;
      clients.add(key);
      node.handle(request).then((answer) => reply(encodeMessage(answer)))
        .catch((error) => ctx.log.limited("error", "handler_error", { error: String(error) }))
        .finally(() => clients.done(key));
    }, { name: "router" });

    ctx.every(options.gossipInterval, () => {
      if (systemClock.now() - startedAt < options.joinAfter || inOutage()) return;
      void node.gossipRound();
    });
    ctx.every(options.handoffInterval, () => {
      if (!inOutage()) node.handoffRound();
    });
    ctx.every(options.statsInterval, () =>
      log.info("stats", {
        keys: node.store.size,
        bytes: node.store.bytes,
        live: node.store.live(),
        hints: node.hints.size,
        ring: node.ring.nodes.length,
        in_flight: clients.size,
        send_dropped: sendDropped,
        ...node.stats,
      }));

    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0;
    let lastPlain = -Infinity;
    const draw = () => {
      if (viewMode === "none") return;
      const now = systemClock.now();
      if (viewMode === "plain" && now - lastPlain < Math.max(1000, options.viewInterval)) return;
      lastPlain = now;
      const lines = renderView(node.ringInfo(), node.stats, node.ring.ranges(id));
      let rows: number | undefined;
      try {
        rows = Deno.consoleSize().rows;
      } catch {
        // not a terminal
      }
      const frame = terminalFrame(lines, { mode: viewMode, previousLines: drawn, rows });
      drawn = frame.lines;
      ctx.print(frame.text);
    };
    if (viewMode !== "none") ctx.every(options.viewInterval, draw);

    await serving;
    if (options.leaveOnStop) {
      await ctx.drain(() => node.leave().then(() => {}), { what: "leave (key handover)" });
    }
    await ctx.drain(async () => {
      await clients.whenSettled();
      await node.whenSettled();
    }, { what: "requests in flight" });
    log.info("summary", {
      keys: node.store.size,
      hints: node.hints.size,
      send_dropped: sendDropped,
      late_replies: transport.late,
      ...node.stats,
    });
  },
});
