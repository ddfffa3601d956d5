/**
 * policy_master: the Clone server (12/CHP) holding the firewall policies. Snapshot ROUTER
 * on P, updates PUB on P+1, collector SUB on P+2; loads policies from a file or directory,
 * validates every update, publishes it with the next sequence, expires `ttl` policies and
 * sends HUGZ. `policy_master set|del` are the operator's writes through the collector.
 *
 * @module
 */
import { deadline, systemClock } from "@lib/async/mod.ts";
import {
  ConfigError,
  endpoint,
  int,
  oneOf,
  readableFile,
  repeatable,
  type RoleContext,
  runRole,
} from "@lib/role/mod.ts";
import { BinaryStar, type BinaryStarState } from "@lib/patterns/mod.ts";
import { Dealer, Publisher, Pull, Router, Subscriber, XPublisher, ZmqError } from "@lib/zmq/mod.ts";
import { PolicyReplica } from "../internal/replica.ts";
import { checkKey, loadPolicies, parsePolicy, type PolicySource } from "../internal/acl.ts";
import {
  chpAddress,
  chpBindEndpoint,
  chpEndpoint,
  serverEndpoints,
} from "../internal/endpoints.ts";
import { fingerprint } from "../internal/fingerprint.ts";
import { PolicyMaster } from "../internal/master.ts";
import {
  decodeIcanhaz,
  decodeKv,
  encodeKv,
  HUGZ,
  type KvMsg,
  newUuid,
} from "../internal/protocol.ts";

interface ServeOptions {
  bind: string;
  pull?: string;
  ha?: "primary" | "backup";
  peer?: string;
  bstarBind?: string;
  bstarPeer?: string;
  policies?: string;
  heartbeat: number;
  maxPolicies: number;
  statsInterval: number;
}

interface WriteOptions {
  server: string[];
  policy: string;
  rules: string[];
  file?: string;
  ttl: number;
  timeout: number;
  repeat: number;
}

const encoder = new TextEncoder();

/** Policies loaded in `validate` (a bad file is a configuration error: exit 2). */
let loaded: PolicySource[] = [];

async function bindServer(bind: string, ctx: RoleContext) {
  const { host, port } = chpAddress(bind, true);
  for (let attempt = 0;; attempt++) {
    const snapshot = new Router({ routerMandatory: true, sendHighWaterMark: 100_000 });
    const publisher = new Publisher({ sendHighWaterMark: 100_000 });
    const collector = new Subscriber({ receiveHighWaterMark: 100_000 });
    try {
      await snapshot.bind(`tcp://${host}:${port}`);
      const p = Number(/:(\d+)$/.exec(snapshot.lastEndpoint ?? "")?.[1]);
      if (!(p <= 65533)) throw new RangeError(`no room for P+2 above port ${p}`);
      await publisher.bind(`tcp://${host}:${p + 1}`);
      await collector.bind(`tcp://${host}:${p + 2}`);
      return { snapshot, publisher, collector };
    } catch (error) {
      snapshot.close();
      publisher.close();
      collector.close();
      // With P = *, another P is tried when P+1 or P+2 is taken.
      const taken = error instanceof RangeError ||
        (error instanceof ZmqError && error.code === "EADDRINUSE");
      const retry = port === "*" && taken && attempt < 50;
      if (!retry) throw error;
      ctx.log.debug("bind_retry", { attempt });
    }
  }
}

async function serve(options: ServeOptions, ctx: RoleContext) {
  const { snapshot, publisher, collector } = await bindServer(options.bind, ctx);
  ctx.defer(() => {
    snapshot.close();
    publisher.close();
    collector.close();
  });
  collector.subscribe();
  let publishDropped = 0;
  const master = new PolicyMaster({
    clock: systemClock,
    log: ctx.log,
    publish: (frames) => void publisher.send(frames).catch(() => publishDropped++),
    heartbeatMs: options.heartbeat,
    maxKeys: options.maxPolicies,
  });
  master.load(loaded);
  ctx.log.info("policies_loaded", {
    policies: master.size,
    sequence: master.sequence,
    from: options.policies ?? null,
    fingerprint: fingerprint(master.entries().map((e) => [e.key, e.body] as const)),
  });
  ctx.listening(snapshot, { socket: "snapshot" });
  ctx.listening(publisher, { socket: "updates" });
  ctx.listening(collector, { socket: "collector" });

  const ha = options.ha ? await startPair(options, ctx, master) : undefined;
  const collect = (frames: Uint8Array[]) => {
    if (!ha || ha.active()) return void master.onMessage(frames);
    ha.hold(decodeKv(frames));
  };
  if (options.pull) {
    // The Guide's Python clone.py pushes its KVSETs (PUSH) instead of publishing them.
    const pull = new Pull({ receiveHighWaterMark: 100_000 });
    ctx.defer(() => pull.close());
    await pull.bind(options.pull);
    ctx.listening(pull, { socket: "pull" });
    ctx.serve(pull, collect, { name: "pull" }).catch(() => {});
  }

  const serving = Promise.all([
    ctx.serve(snapshot, async ([identity, ...request]) => {
      const subtree = decodeIcanhaz(request);
      // Binary Star: a snapshot request is the client's vote (it can make a passive
      // whose peer is silent take over); refused ones go unanswered, the node fails over.
      if (ha && !ha.clientRequest()) {
        ctx.log.limited("info", "snapshot_refused", { state: ha.state() });
        return;
      }
      // One consistent cut: built at once, then sent (awaiting each send keeps the
      // ROUTER's queue bounded; a client that left makes the rest fail: dropped).
      const frames = master.snapshot(subtree);
      try {
        for (const f of frames) await snapshot.send([identity, ...f]);
        ctx.log.info("snapshot_sent", {
          subtree,
          policies: frames.length - 1,
          sequence: master.sequence,
        });
      } catch (error) {
        ctx.log.limited("warn", "snapshot_aborted", { error: String(error) });
      }
    }, { name: "snapshot" }),
    ctx.serve(collector, collect, { name: "collector" }),
  ]);
  serving.catch(() => {});
  ctx.every(Math.min(options.heartbeat, 100), () => {
    if (!ha || ha.active()) master.tick();
  });
  ctx.every(options.statsInterval, () =>
    ctx.log.info("stats", {
      ...master.stats(),
      publishDropped: master.stats().publishDropped + publishDropped,
      fingerprint: fingerprint(master.entries().map((e) => [e.key, e.body] as const)),
    }));
  await ctx.stopped;
}

/**
 * The Clone model 6 pair: Binary Star (`@lib/patterns`) decides which master is active;
 * the passive mirrors the active (snapshot + updates, a `PolicyReplica` against the peer)
 * and holds KVSETs it receives until the active's KVPUB with the same uuid shows they were
 * applied; on takeover it adopts the mirror and applies what is still held.
 */
async function startPair(options: ServeOptions, ctx: RoleContext, master: PolicyMaster) {
  const statePub = new Publisher();
  const stateSub = new Subscriber();
  ctx.defer(() => {
    statePub.close();
    stateSub.close();
  });
  await statePub.bind(options.bstarBind!);
  ctx.listening(statePub, { socket: "bstar" });
  stateSub.subscribe();
  stateSub.connect(options.bstarPeer!);
  const star = new BinaryStar({
    clock: systemClock,
    log: ctx.log,
    role: options.ha!,
    heartbeatMs: options.heartbeat,
    send: (frames) => void statePub.send(frames).catch(() => {}),
  });
  const held = new Map<string, KvMsg>();
  const uuidKey = (u: Uint8Array) => Array.from(u, (b) => b.toString(16)).join(".");
  const peer = serverEndpoints(options.peer!);
  let mirror: { replica: PolicyReplica; close(): void } | undefined;
  let last: BinaryStarState = star.state;

  const startMirror = () => {
    const sub = new Subscriber({ receiveHighWaterMark: 100_000 });
    let dealer: Dealer | undefined;
    const replica: PolicyReplica = new PolicyReplica({
      clock: systemClock,
      log: ctx.log,
      servers: 1,
      heartbeatMs: options.heartbeat,
      onSync() {
        dealer?.close();
        dealer = new Dealer({ linger: 0, receiveHighWaterMark: 100_000 });
        dealer.connect(peer.snapshot);
        ctx.serve(dealer, (f) => replica.onSnapshot(f, 0), {
          name: "mirror_snapshot",
          untilClosed: true,
        })
          .catch(() => {});
      },
      send: (frames) => void dealer?.send(frames).catch(() => {}),
    });
    sub.subscribe();
    sub.connect(peer.updates);
    ctx.serve(sub, (frames) => {
      const msg = decodeKv(frames);
      if (msg.uuid.length) held.delete(uuidKey(msg.uuid));
      replica.onUpdate(frames, 0);
    }, { name: "mirror_updates", untilClosed: true }).catch(() => {});
    replica.start();
    mirror = {
      replica,
      close() {
        sub.close();
        dealer?.close();
      },
    };
  };

  const changed = () => {
    const now = star.state;
    if (now === last) return;
    last = now;
    if (now === "PASSIVE" && !mirror) startMirror();
    if (now === "ACTIVE") {
      if (mirror) {
        const table = [...mirror.replica.table].map(([k, p]) => [k, p] as const);
        master.adopt(table, mirror.replica.version);
        mirror.close();
        mirror = undefined;
      }
      let applied = 0;
      for (const msg of held.values()) if (master.set(msg).kind !== "rejected") applied++;
      held.clear();
      ctx.log.info("became_active", {
        policies: master.size,
        sequence: master.sequence,
        applied_held: applied,
      });
    }
  };

  ctx.serve(stateSub, (frames) => {
    star.onMessage(frames);
    changed();
  }, { name: "bstar" }).catch(() => {});
  ctx.every(Math.max(10, Math.min(250, options.heartbeat / 4)), () => {
    star.tick();
    mirror?.replica.tick();
    if (star.fatal) {
      ctx.log.error("pair_broken", { reason: star.fatal });
      ctx.exitCode = 1;
      statePub.close();
    }
  });
  return {
    active: () => star.state === "ACTIVE",
    state: () => star.state,
    clientRequest(): boolean {
      const ok = star.clientRequest();
      changed();
      return ok;
    },
    hold(msg: KvMsg) {
      if (held.size >= 10_000) return void ctx.log.limited("warn", "held_full", { max: 10_000 });
      held.set(uuidKey(msg.uuid.length ? msg.uuid : newUuid()), msg);
    },
  };
}

function policyBody(options: WriteOptions): string {
  if (options.file) return Deno.readTextFileSync(options.file).trim();
  return options.rules.join("\n");
}

/** Sends one KVSET and waits until the master published it (same uuid on its PUB). */
async function write(options: WriteOptions, ctx: RoleContext, remove: boolean) {
  const eps = options.server.map(serverEndpoints);
  const body = remove ? new Uint8Array() : encoder.encode(policyBody(options));
  const sub = new Subscriber({ linger: 0 });
  const out = new XPublisher({ linger: 2000 });
  ctx.defer(() => {
    sub.close();
    out.close();
  });
  sub.subscribe(options.policy, HUGZ);
  // To every master of a pair: only the active one publishes; the passive holds the KVSET
  // until it sees the active's KVPUB (or applies it when it takes over).
  for (const ep of eps) {
    sub.connect(ep.updates);
    out.connect(ep.collector);
  }
  // The collector's subscription reaching our XPUB proves a KVSET will not be dropped by
  // the slow-joiner race; a HUGZ on our SUB proves we will see the confirmation. One
  // reader loop feeds both waits, so an attempt that timed out leaves nothing behind.
  const collectorReady = out.receive().then(() => {});
  collectorReady.catch(() => {});
  let hugz = Promise.withResolvers<void>();
  let waiting: { uuid: Uint8Array; resolve(sequence: number): void } | undefined;
  ctx.serve(sub, (frames) => {
    const msg = decodeKv(frames);
    if (msg.key === HUGZ) hugz.resolve();
    else if (waiting && msg.key === options.policy && sameBytes(msg.uuid, waiting.uuid)) {
      waiting.resolve(msg.sequence);
      waiting = undefined;
    }
  }, { name: "updates" }).catch(() => {});
  const once = async (): Promise<number> => {
    const uuid = newUuid();
    const properties = new Map<string, string>();
    if (options.ttl > 0 && !remove) properties.set("ttl", String(options.ttl));
    await Promise.all([hugz.promise, collectorReady]);
    const confirmed = new Promise<number>((resolve) => (waiting = { uuid, resolve }));
    await out.send(encodeKv({ key: options.policy, sequence: 0, uuid, properties, body }));
    return await confirmed;
  };
  const what = remove ? "delete" : "set";
  do {
    try {
      const sequence = await deadline(once(), options.timeout, {
        signal: ctx.signal,
        what: `the master to publish the ${what} of ${options.policy}`,
      });
      ctx.print(`${what} ${options.policy}: published at sequence ${sequence}`);
      ctx.log.info("write_confirmed", { key: options.policy, op: what, sequence });
    } catch (error) {
      waiting = undefined;
      // A master that is gone must prove itself again with a fresh HUGZ.
      hugz = Promise.withResolvers<void>();
      if (ctx.signal.aborted) break;
      ctx.print(
        `${what} ${options.policy}: not confirmed within ${options.timeout} ms (master unreachable, or it refused the policy: see its policy_rejected event)`,
      );
      ctx.log.warn("write_unconfirmed", { key: options.policy, op: what, error: String(error) });
      ctx.exitCode = 1;
      if (options.repeat <= 0) break;
    }
    if (options.repeat > 0) await ctx.sleep(options.repeat);
  } while (options.repeat > 0 && !ctx.signal.aborted);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const writeOptions = (cmd: import("@lib/role/mod.ts").Command) =>
  cmd
    .option(
      "--server <endpoint>",
      "the master's tcp://host:P (its collector is P+2, its updates P+1); both of a pair",
      repeatable(chpEndpoint),
      ["tcp://127.0.0.1:5570"],
    )
    .option("--timeout <ms>", "wait this long for the master to publish it", int({ min: 1 }), 5000)
    .option(
      "--repeat <ms>",
      "write again every <ms> until stopped (demo; 0 = once)",
      int({ min: 0 }),
      0,
    );

function validateWrite(options: WriteOptions, remove: boolean) {
  const bad = checkKey(options.policy);
  if (bad) throw new ConfigError(bad);
  if (remove) return;
  if (options.file && options.rules.length > 0) {
    throw new ConfigError("expected rules as arguments or --file, got both");
  }
  const parsed = parsePolicy(policyBody(options));
  if (!parsed.ok) throw new ConfigError(`policy ${options.policy}: ${parsed.error}`);
}

await runRole<ServeOptions>({
  name: "policy_master",
  summary: "Clone server (12/CHP): snapshots, updates and a collector for firewall policies",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "tcp://host:P: snapshot ROUTER on P, updates PUB on P+1, collector SUB on P+2 (P may be *)",
        chpBindEndpoint,
        "tcp://127.0.0.1:5570",
      )
      .option("--policies <path>", "a policy file or a directory of *.acl files to load")
      .option(
        "--pull <endpoint>",
        "also take KVSETs from PUSH writers here (the Guide's Python clone.py pushes)",
        endpoint,
      )
      .option(
        "--ha <half>",
        "run as one half of a Clone model 6 pair (Binary Star): primary | backup",
        oneOf("primary", "backup"),
      )
      .option("--peer <endpoint>", "with --ha: the other master's tcp://host:P", chpEndpoint)
      .option(
        "--bstar-bind <endpoint>",
        "with --ha: PUB for this master's Binary Star state",
        endpoint,
      )
      .option("--bstar-peer <endpoint>", "with --ha: the peer's Binary Star state PUB", endpoint)
      .option("--heartbeat <ms>", "HUGZ interval", int({ min: 10 }), 1000)
      .option("--max-policies <n>", "most policies held", int({ min: 1, max: 10_000_000 }), 100_000)
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  validate(options) {
    const pair = [options.ha, options.peer, options.bstarBind, options.bstarPeer];
    if (pair.some((x) => x !== undefined) && !pair.every((x) => x !== undefined)) {
      throw new ConfigError("expected --ha, --peer, --bstar-bind and --bstar-peer together");
    }
    if (!options.policies) return;
    try {
      loaded = loadPolicies(options.policies);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (loaded.length > options.maxPolicies) {
      throw new ConfigError(
        `expected at most ${options.maxPolicies} policies, got ${loaded.length}`,
      );
    }
  },
  run: serve,
  commands: {
    set: {
      summary: "set a policy through the master's collector and wait until it is published",
      configure: (cmd) =>
        writeOptions(cmd)
          .argument("<policy>", "policy key, /acl/<segment>/.../<name>")
          .argument("[rules...]", "rules, one per argument (or --file)")
          .option("--file <path>", "read the rules from this file", readableFile)
          .option(
            "--ttl <s>",
            "the policy expires after this many seconds (0 = never)",
            int({ min: 0 }),
            0,
          ),
      validate: (options: WriteOptions) => validateWrite(options, false),
      run: (options: WriteOptions, ctx: RoleContext) => write(options, ctx, false),
    },
    del: {
      summary: "delete a policy through the master's collector and wait until it is published",
      configure: (cmd) => writeOptions(cmd).argument("<policy>", "policy key"),
      validate: (options: WriteOptions) => validateWrite(options, true),
      run: (options: WriteOptions, ctx: RoleContext) => write({ ...options, rules: [] }, ctx, true),
    },
  },
});
