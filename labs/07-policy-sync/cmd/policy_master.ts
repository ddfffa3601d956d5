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
  int,
  type RoleContext,
  runRole,
} from "@lib/role/mod.ts";
import { Publisher, Router, Subscriber, XPublisher, ZmqError } from "@lib/zmq/mod.ts";
import { checkKey, loadPolicies, parsePolicy, type PolicySource } from "../internal/acl.ts";
import { chpAddress, chpBindEndpoint, chpEndpoint, serverEndpoints } from "../internal/endpoints.ts";
import { fingerprint } from "../internal/fingerprint.ts";
import { PolicyMaster } from "../internal/master.ts";
import { decodeIcanhaz, decodeKv, encodeKv, HUGZ, newUuid } from "../internal/protocol.ts";

interface ServeOptions {
  bind: string;
  policies?: string;
  heartbeat: number;
  maxPolicies: number;
  statsInterval: number;
}

interface WriteOptions {
  server: string;
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

  const serving = Promise.all([
    ctx.serve(snapshot, async ([identity, ...request]) => {
      const subtree = decodeIcanhaz(request);
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
    ctx.serve(collector, (frames) => void master.onMessage(frames), { name: "collector" }),
  ]);
  serving.catch(() => {});
  ctx.every(Math.min(options.heartbeat, 100), () => master.tick());
  ctx.every(options.statsInterval, () =>
    ctx.log.info("stats", {
      ...master.stats(),
      publishDropped: master.stats().publishDropped + publishDropped,
      fingerprint: fingerprint(master.entries().map((e) => [e.key, e.body] as const)),
    }));
  await ctx.stopped;
}

function policyBody(options: WriteOptions): string {
  if (options.file) return Deno.readTextFileSync(options.file).trim();
  return options.rules.join("\n");
}

/** Sends one KVSET and waits until the master published it (same uuid on its PUB). */
async function write(options: WriteOptions, ctx: RoleContext, remove: boolean) {
  const ep = serverEndpoints(options.server);
  const body = remove ? new Uint8Array() : encoder.encode(policyBody(options));
  const sub = new Subscriber({ linger: 0 });
  const out = new XPublisher({ linger: 2000 });
  ctx.defer(() => {
    sub.close();
    out.close();
  });
  sub.subscribe(options.policy, HUGZ);
  sub.connect(ep.updates);
  out.connect(ep.collector);
  // The collector's subscription reaching our XPUB proves a KVSET will not be dropped by
  // the slow-joiner race; a HUGZ on our SUB proves we will see the confirmation.
  const collectorReady = out.receive();
  const updates = sub[Symbol.asyncIterator]();
  let heardHugz = false;
  const once = async (): Promise<number> => {
    const uuid = newUuid();
    const properties = new Map<string, string>();
    if (options.ttl > 0 && !remove) properties.set("ttl", String(options.ttl));
    let sent = false;
    while (true) {
      if (heardHugz && !sent) {
        await collectorReady;
        await out.send(encodeKv({ key: options.policy, sequence: 0, uuid, properties, body }));
        sent = true;
      }
      const next = await updates.next();
      if (next.done) throw new Error("the updates socket closed");
      let msg;
      try {
        msg = decodeKv(next.value);
      } catch {
        continue;
      }
      if (msg.key === HUGZ) heardHugz = true;
      else if (sent && msg.key === options.policy && sameBytes(msg.uuid, uuid)) return msg.sequence;
    }
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
      "the master's tcp://host:P (its collector is P+2, its updates P+1)",
      chpEndpoint,
      "tcp://127.0.0.1:5570",
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
      .option("--heartbeat <ms>", "HUGZ interval", int({ min: 10 }), 1000)
      .option("--max-policies <n>", "most policies held", int({ min: 1, max: 10_000_000 }), 100_000)
      .option("--stats-interval <ms>", "log a stats event this often (0 = never)", int({ min: 0 }), 10_000),
  validate(options) {
    if (!options.policies) return;
    try {
      loaded = loadPolicies(options.policies);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (loaded.length > options.maxPolicies) {
      throw new ConfigError(`expected at most ${options.maxPolicies} policies, got ${loaded.length}`);
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
          .option("--file <path>", "read the rules from this file")
          .option("--ttl <s>", "the policy expires after this many seconds (0 = never)", int({ min: 0 }), 0),
      validate: (options: WriteOptions) => validateWrite(options, false),
      run: (options: WriteOptions, ctx: RoleContext) => write(options, ctx, false),
    },
    del: {
      summary: "delete a policy through the master's collector and wait until it is published",
      configure: (cmd) =>
        writeOptions(cmd).argument("<policy>", "policy key").option("--ttl <s>", "ignored", int({ min: 0 }), 0),
      validate: (options: WriteOptions) => validateWrite(options, true),
      run: (options: WriteOptions, ctx: RoleContext) => write({ ...options, rules: [] }, ctx, true),
    },
  },
});
