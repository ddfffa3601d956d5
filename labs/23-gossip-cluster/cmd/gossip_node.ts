/**
 * gossip_node: one member of a brokerless cluster. It binds an XPUB (its outbox: a message
 * to node X is published under X's inbox topic `X:`) and keeps one SUB connected to every
 * member it knows, subscribed to its own inbox. It joins through `--seed` endpoints (its
 * hello subscription `@id endpoint` tells the seed who and where it is), learns the rest by
 * gossip, and runs SWIM with the Lifeguard refinements (internal/swim.ts) to keep a
 * membership table (alive/suspect/dead/left, incarnation) and a small versioned key-value
 * map per node (its tags and load). Shows the table live, or prints member events as JSON
 * lines with --json. SIGTERM: a graceful leave.
 *
 * @module
 */

import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  ConfigError,
  duration,
  endpoint,
  int,
  InvalidArgumentError,
  oneOf,
  repeatable,
  runRole,
  terminalFrame,
} from "@lib/role/mod.ts";
import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
import { BeaconPeers, decodeBeacon, encodeBeacon, newUuid } from "@lib/patterns/zre_beacon.ts";
import { Subscriber, XPublisher } from "@lib/zmq/mod.ts";
import { Outbox } from "../internal/outbox.ts";
import {
  decodeFrames,
  encodeFrames,
  helloTopic,
  ID_PATTERN,
  inboxTopic,
  MAX_KV_KEYS,
  parseSubscription,
} from "../internal/protocol.ts";
import { renderView } from "../internal/render.ts";
import { Swim, type SwimEvent } from "../internal/swim.ts";

/** Largest message accepted (a full sync of 1024 members fits easily). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

interface Options {
  id?: string;
  bind: string;
  advertise?: string;
  seed: string[];
  tag: [string, string][];
  probeInterval: number;
  probeTimeout: number;
  indirectChecks: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxMult: number;
  gossipInterval: number;
  gossipNodes: number;
  syncInterval: number;
  reclaim: number;
  maxMembers: number;
  loadInterval: number;
  joinRetry: number;
  hold: number;
  tick: number;
  json: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  refresh: number;
  exitAfter: number;
  leave: boolean;
  beaconPort: number;
  beaconAddress: string;
  beaconInterval: number;
}

/** Most endpoints learned from beacons kept as seeds. */
const MAX_BEACON_SEEDS = 64;

function ipv4(value: string): string {
  const parts = value.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new InvalidArgumentError(`expected an IPv4 address, got "${value}"`);
  }
  return value;
}

function nodeId(value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(`expected 1-64 of [A-Za-z0-9_.-], got "${value}"`);
  }
  return value;
}

function tag(value: string): [string, string] {
  const m = /^([A-Za-z0-9_.-]{1,64})=(.{0,256})$/.exec(value);
  if (!m || m[1] === "load") {
    throw new InvalidArgumentError(
      `expected key=value (key of [A-Za-z0-9_.-], not "load"), got "${value}"`,
    );
  }
  return [m[1], m[2]];
}

/** The member events printed with --json. */
const JSON_EVENTS = new Set([
  "member_alive",
  "member_suspect",
  "member_dead",
  "member_left",
  "refuted",
  "joined",
]);

await runRole<Options>({
  name: "gossip_node",
  summary: "Cluster member: SWIM + Lifeguard gossip over a brokerless PUB-SUB mesh",
  configure: (cmd) =>
    cmd
      .option("--id <id>", "this node's id, [A-Za-z0-9_.-]{1,64} (default: random)", nodeId)
      .option("--bind <endpoint>", "XPUB endpoint to bind", endpoint, "tcp://127.0.0.1:5623")
      .option(
        "--advertise <endpoint>",
        "endpoint others connect to (default: the bound one; needed for a wildcard host)",
        endpoint,
      )
      .option(
        "--seed <endpoint>",
        "a member's endpoint to join through (none: start a new cluster)",
        repeatable(endpoint),
        [],
      )
      .option(
        "--tag <key=value>",
        "application state entry gossiped with this node",
        repeatable(tag),
        [],
      )
      .option("--probe-interval <duration>", "SWIM probe period", duration, 1000)
      .option(
        "--probe-timeout <duration>",
        "wait for a direct ack before indirect probes",
        duration,
        500,
      )
      .option(
        "--indirect-checks <n>",
        "members asked to probe indirectly (k)",
        int({ min: 0, max: 16 }),
        3,
      )
      .option(
        "--retransmit-mult <n>",
        "λ: each update is piggybacked λ·ceil(log10(N+1)) times",
        int({ min: 1, max: 64 }),
        4,
      )
      .option(
        "--suspicion-mult <n>",
        "suspicion timeout = n·log10(N)·probe interval at least",
        int({ min: 1, max: 64 }),
        4,
      )
      .option(
        "--suspicion-max-mult <n>",
        "unconfirmed suspicion lasts up to n times the minimum",
        int({ min: 1, max: 64 }),
        6,
      )
      .option(
        "--gossip-interval <duration>",
        "fan-out of pending gossip (0 = piggyback only)",
        duration,
        200,
      )
      .option("--gossip-nodes <n>", "members per gossip round", int({ min: 1, max: 64 }), 3)
      .option(
        "--sync-interval <duration>",
        "full state push-pull with a random member (0 = off)",
        duration,
        10_000,
      )
      .option("--reclaim <duration>", "forget a dead or left member after", duration, 120_000)
      .option("--max-members <n>", "most members tracked", int({ min: 2, max: 4096 }), 1024)
      .option(
        "--load-interval <duration>",
        "refresh the gossiped load entry (0 = off)",
        duration,
        5000,
      )
      .option(
        "--join-retry <duration>",
        "repeat the hello to the seeds until joined",
        duration,
        2000,
      )
      .option(
        "--hold <duration>",
        "how long a message waits for its peer's subscription",
        duration,
        2000,
      )
      .option("--tick <ms>", "protocol timer resolution", int({ min: 1, max: 1000 }), 10)
      .option("--json", "print member events as JSON lines on stdout (no table)", false)
      .option(
        "--view <mode>",
        "table on stdout: ansi (redrawn in place) | plain (snapshots) | none; auto = ansi on a terminal",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--refresh <duration>", "table refresh period", duration, 1000)
      .option(
        "--exit-after <duration>",
        "stop by itself after this long (0 = run until stopped)",
        duration,
        0,
      )
      .option("--no-leave", "stop without the graceful leave (peers must detect the failure)")
      .option(
        "--beacon-port <port>",
        "also find seeds by 36/ZRE UDP beacons on this port (0 = off; ZRE uses 5670)",
        int({ min: 0, max: 65535 }),
        0,
      )
      .option("--beacon-address <ipv4>", "where beacons are broadcast", ipv4, "127.255.255.255")
      .option("--beacon-interval <duration>", "beacon period", duration, 1000),
  validate(options) {
    if (options.probeInterval < 10) throw new ConfigError("expected --probe-interval >= 10ms");
    if (options.probeTimeout < 5 || options.probeTimeout >= options.probeInterval) {
      throw new ConfigError(
        `expected 5ms <= --probe-timeout < --probe-interval, got ${options.probeTimeout} and ${options.probeInterval}`,
      );
    }
    if (options.tag.length > MAX_KV_KEYS - 1) {
      throw new ConfigError(`expected at most ${MAX_KV_KEYS - 1} --tag, got ${options.tag.length}`);
    }
    if (options.refresh < 50) throw new ConfigError("expected --refresh >= 50ms");
    if (options.joinRetry < 100) throw new ConfigError("expected --join-retry >= 100ms");
    if (options.beaconInterval < 100) throw new ConfigError("expected --beacon-interval >= 100ms");
    if (!options.advertise && /^tcp:\/\/(\*|0\.0\.0\.0|\[::\]):/.test(options.bind)) {
      throw new ConfigError(`cannot advertise the wildcard ${options.bind}: give --advertise`);
    }
  },
  async run(options, ctx) {
    const id = options.id ?? `node-${crypto.randomUUID().slice(0, 8)}`;
    const zmqOptions = {
      heartbeatInterval: 1000,
      heartbeatTimeout: 5000,
      maxMessageSize: MAX_MESSAGE_BYTES,
    };
    const xpub = new XPublisher({
      ...zmqOptions,
      verbose: true,
      linger: 1000,
      sendHighWaterMark: 1000,
    });
    ctx.defer(() => xpub.close());
    await xpub.bind(options.bind);
    const bound = ctx.listening(xpub, { id });
    const advertise = options.advertise ?? bound;

    let badMessages = 0;
    const outbox = new Outbox({
      now: () => systemClock.now(),
      publish: (frames) => void xpub.send(frames).catch(() => outbox.dropped++),
      holdMs: options.hold,
      maxHeldPerPeer: 64,
      maxPeers: options.maxMembers,
    });

    const connected = new Map<string, string>(); // endpoint -> member id
    const mesh = new Subscriber({
      ...zmqOptions,
      receiveHighWaterMark: 10_000,
      reconnectInterval: 200,
      reconnectMaxInterval: 2000,
      connectTimeout: 2000,
    });
    ctx.defer(() => mesh.close());
    mesh.subscribe(inboxTopic(id));

    const emit = (e: SwimEvent) => {
      const { event, ...fields } = e;
      if (event === "kv_updated") ctx.log.debug(event, fields);
      else if (event === "member_limit" || event === "stalled") {
        ctx.log.limited("warn", event, fields, event);
      } else ctx.log.info(event, fields);
      if (options.json && JSON_EVENTS.has(event)) {
        ctx.print(JSON.stringify({ ts: new Date().toISOString(), node: id, event, ...fields }));
      }
    };

    const swim = new Swim(id, advertise, {
      probeIntervalMs: options.probeInterval,
      probeTimeoutMs: options.probeTimeout,
      indirectChecks: options.indirectChecks,
      retransmitMult: options.retransmitMult,
      suspicionMult: options.suspicionMult,
      suspicionMaxTimeoutMult: options.suspicionMaxMult,
      gossipIntervalMs: options.gossipInterval,
      gossipNodes: options.gossipNodes,
      syncIntervalMs: options.syncInterval,
      reclaimMs: options.reclaim,
      maxMembers: options.maxMembers,
    }, {
      clock: systemClock,
      random: Math.random,
      wallNow: () => Date.now(),
      send: (to, message) => outbox.send(to, encodeFrames(to, message)),
      connect: (member, ep) => {
        if (ep === advertise || connected.has(ep)) return;
        try {
          mesh.connect(ep);
          connected.set(ep, member);
        } catch (error) {
          // Gossip named an endpoint libzmq refuses: that member stays unreachable.
          ctx.log.limited(
            "warn",
            "connect_failed",
            { member, endpoint: ep, error: String(error) },
            "connect",
          );
        }
      },
      disconnect: (member, ep) => {
        // Only the member we connected for (a forged hello naming a member's endpoint must
        // not cut that member off).
        if (connected.get(ep) !== member) return;
        connected.delete(ep);
        try {
          mesh.disconnect(ep);
        } catch {
          // already gone
        }
      },
      event: emit,
    });
    for (const [key, value] of options.tag) swim.setKv(key, value);
    const refreshLoad = () => {
      try {
        swim.setKv("load", Math.round(Deno.loadavg()[0] * 100) / 100);
      } catch {
        // no load average on this platform
      }
    };
    if (options.loadInterval > 0) refreshLoad();
    swim.start();
    const seeds = options.seed.filter((ep) => ep !== advertise && ep !== bound);
    const configuredSeeds = seeds.length;
    if (seeds.length === 0) swim.bootstrap();
    ctx.log.info("node_started", { id, endpoint: advertise, seeds });

    let received = 0;
    const onInbox = (socket: string) => (frames: Uint8Array[]) => {
      for (const f of frames) received += f.length;
      try {
        swim.onMessage(decodeFrames(frames, id));
      } catch (error) {
        if (!(error instanceof BadMessageError)) throw error;
        badMessages++;
        ctx.badMessage(error.reason, { socket, frames: frames.length, bad_messages: badMessages });
      }
    };

    // The seed socket: our inbox plus the hello, only while we are not (or no longer) joined.
    let seedSub: Subscriber | undefined;
    const hello = helloTopic(id, advertise);
    const seedTick = () => {
      const want = seeds.length > 0 && !swim.left && (!swim.joined || swim.alone);
      if (want && !seedSub) {
        seedSub = new Subscriber({
          ...zmqOptions,
          reconnectInterval: 200,
          reconnectMaxInterval: 2000,
        });
        seedSub.subscribe(inboxTopic(id), hello);
        for (const ep of seeds) seedSub.connect(ep);
        ctx.log.info("joining", { seeds });
        void ctx.serve(seedSub, onInbox("seed"), { name: "seed" });
      } else if (want && seedSub) {
        // Say hello again (the seed may have been down, or busy): re-subscribing resends it.
        seedSub.unsubscribe(hello);
        seedSub.subscribe(hello);
      } else if (!want && seedSub) {
        seedSub.close();
        seedSub = undefined;
      }
    };
    ctx.defer(() => seedSub?.close());

    // Optional discovery: 36/ZRE beacons announce our XPUB port; every node heard becomes a seed.
    const beaconPort = Number(/:(\d+)$/.exec(advertise)?.[1] ?? 0);
    if (options.beaconPort > 0 && beaconPort > 0) {
      const uuid = newUuid();
      const heard = new BeaconPeers({
        clock: systemClock,
        expiryMs: options.beaconInterval * 5,
        ownUuid: uuid,
        maxPeers: options.maxMembers,
      });
      const beacon = await UdpBeacon.open({
        port: options.beaconPort,
        broadcastAddress: options.beaconAddress,
        intervalMs: options.beaconInterval,
        onDatagram: (bytes, from) => {
          const decoded = decodeBeacon(bytes);
          if (!decoded.ok) {
            ctx.badMessage(decoded.detail, { socket: "beacon", from: from.address });
            return;
          }
          const e = heard.observe(decoded.beacon, from.address);
          if (e.type !== "seen" && e.type !== "updated") return;
          const ep = e.peer.endpoint;
          if (ep === advertise || seeds.includes(ep)) return;
          ctx.log.info("beacon_peer", { endpoint: ep, uuid: e.peer.uuid });
          seeds.push(ep);
          if (seeds.length > configuredSeeds + MAX_BEACON_SEEDS) seeds.splice(configuredSeeds, 1);
          seedSub?.connect(ep);
        },
        onError: (error) =>
          ctx.log.limited("warn", "beacon_error", { error: error.message }, "beacon"),
      });
      ctx.defer(() => beacon.close());
      beacon.publish(encodeBeacon({ uuid, port: beaconPort }));
      ctx.every(options.beaconInterval, () => void heard.expire());
      ctx.log.info("beaconing", { port: options.beaconPort, address: options.beaconAddress });
    }
    seedTick();
    ctx.every(options.joinRetry, seedTick);

    const onSubscription = ([frame, ...rest]: Uint8Array[]) => {
      if (!frame || rest.length > 0) throw new BadMessageError("subscription: expected 1 frame");
      const sub = parseSubscription(frame);
      if (sub.id === id) return;
      if (sub.kind === "inbox") {
        if (sub.subscribe) outbox.subscribed(sub.id);
        else outbox.unsubscribed(sub.id);
      } else if (sub.subscribe) {
        swim.contact(sub.id, sub.endpoint);
      }
    };

    // Live view.
    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0;
    let lastBytes = 0, lastAt = systemClock.now(), rate = 0;
    const draw = () => {
      const now = systemClock.now();
      rate = (outbox.bytes - lastBytes) / Math.max(0.001, (now - lastAt) / 1000);
      lastBytes = outbox.bytes;
      lastAt = now;
      if (viewMode === "none") return;
      let rows: number | undefined;
      try {
        ({ rows } = Deno.consoleSize());
      } catch {
        // not a terminal
      }
      const lines = renderView({
        id,
        endpoint: advertise,
        now,
        members: swim.members(),
        stats: swim.stats(),
        peers: outbox.peers,
        bytesPerSecond: rate,
      }, { color: viewMode === "ansi", maxRows: Math.max(5, (rows ?? 40) - 6) });
      const frame = terminalFrame(lines, { mode: viewMode, previousLines: drawn, rows });
      drawn = frame.lines;
      ctx.print(frame.text);
    };
    ctx.every(options.refresh, draw);
    ctx.every(options.tick, () => {
      swim.tick();
      outbox.expire();
    });
    if (options.loadInterval > 0) ctx.every(options.loadInterval, refreshLoad);

    const started = systemClock.now();
    const serving = Promise.all([
      ctx.serve(xpub, onSubscription, { name: "subscriptions" }),
      ctx.serve(mesh, onInbox("mesh"), { name: "mesh" }),
    ]);
    // Until SIGTERM/SIGINT, or --exit-after (the demo's node that goes away).
    await Promise.race([
      serving,
      options.exitAfter > 0 ? ctx.sleep(options.exitAfter) : ctx.stopped,
    ]);

    if (options.leave) {
      // Graceful leave: tell every live member at once; the XPUB's linger flushes it.
      const told = swim.leave();
      ctx.log.info("member_left", { member: id, incarnation: swim.incarnation, told });
    } else {
      ctx.log.info("vanishing", { member: id, note: "no leave sent: peers must detect it" });
    }
    const seconds = (systemClock.now() - started) / 1000;
    ctx.log.info("summary", {
      ...swim.stats(),
      messages_sent: outbox.sent,
      bytes_sent: outbox.bytes,
      bytes_received: received,
      dropped: outbox.dropped,
      seconds: Math.round(seconds * 10) / 10,
      bytes_per_second: Math.round((outbox.bytes + received) / 2 / Math.max(0.001, seconds)),
      bad_messages: badMessages,
    });
  },
});
