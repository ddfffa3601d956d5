/**
 * client_put_get: `put`, `get`, `del` and `ring` against the DHT through any node (the node
 * coordinates the quorum), failing over to the next `--node` on a timeout or refusal.
 * `--count` runs many keys (`key0..keyN-1`) with `--window` in flight; `--json` prints one
 * JSON line per operation. Exit codes: 0 all ok, 1 some failed, 2 bad usage.
 *
 * @module
 */

import { systemClock } from "@lib/async/mod.ts";
import {
  type Command,
  ConfigError,
  endpoint,
  int,
  oneOf,
  repeatable,
  type RoleContext,
  runRole,
} from "@lib/role/mod.ts";
import { collectRing, type OpResult, ringTable, runOps } from "../internal/client.ts";
import { DealerTransport } from "../internal/dealer_transport.ts";
import { MAX_KEY, MAX_VALUE } from "../internal/protocol.ts";

interface Options {
  node: string[];
  timeout: number;
  retries: number;
  json: boolean;
  quiet: boolean;
  consistency: "one" | "quorum" | "all" | "local";
  count: number;
  window: number;
  interval: number;
  key?: string;
  value?: string;
}

function transportFor(ctx: RoleContext): DealerTransport {
  const transport = new DealerTransport({
    clock: systemClock,
    serve: (dealer, onFrames, node) => {
      ctx.serve(dealer, onFrames, { name: `node ${node}`, untilClosed: true }).catch(() => {});
    },
  });
  ctx.defer(() => transport.close());
  return transport;
}

function show(ctx: RoleContext, options: Options, r: OpResult): void {
  if (options.quiet && r.ok) return;
  if (options.json) {
    ctx.print(JSON.stringify(r));
    return;
  }
  const stamp = r.stamp ? ` ${r.stamp.wall}.${r.stamp.counter}@${r.stamp.node}` : "";
  if (!r.ok) ctx.print(`${r.op} ${r.key}: FAILED ${r.error}`);
  else if (r.op === "get") {
    ctx.print(
      r.found
        ? `${r.key} = ${r.value}${stamp} (${r.replies} replies)`
        : `${r.key}: not found${stamp}`,
    );
  } else ctx.print(`${r.op} ${r.key}: ok${stamp} (${r.acks} acks via ${r.via})`);
}

function keyArg(value: string): string {
  if (value.length === 0 || value.length > MAX_KEY) {
    throw new ConfigError(`expected a key of 1..${MAX_KEY} characters, got ${value.length}`);
  }
  return value;
}

function op(name: "put" | "get" | "del", summary: string) {
  return {
    summary,
    configure: (cmd: Command) => {
      cmd.argument("<key>", "the key (with --count: the prefix of key0..keyN-1)", keyArg);
      if (name === "put") cmd.argument("<value>", "the value (with --count: value0..valueN-1)");
      cmd
        .option(
          "--consistency <level>",
          name === "get"
            ? "replicas that must answer: one|quorum (R)|all|local (this node's copy)"
            : "replicas that must acknowledge: one|quorum (W)|all",
          name === "get" ? oneOf("one", "quorum", "all", "local") : oneOf("one", "quorum", "all"),
          "quorum",
        )
        .option(
          "--count <n>",
          "operations (keys key0..keyN-1)",
          int({ min: 1, max: 10_000_000 }),
          1,
        )
        .option("--window <n>", "operations in flight", int({ min: 1, max: 10_000 }), 16)
        .option(
          "--interval <ms>",
          "pause after each operation (per window slot)",
          int({ min: 0 }),
          0,
        );
    },
    validate(options: Options) {
      // With --count, key and value get the index appended (key0..keyN-1): check the longest.
      const suffix = options.count > 1 ? String(options.count - 1).length : 0;
      if (options.key !== undefined && options.key.length + suffix > MAX_KEY) {
        throw new ConfigError(
          `expected keys of at most ${MAX_KEY} characters, got ${options.key.length + suffix}`,
        );
      }
      const valueBytes = new TextEncoder().encode(options.value ?? "").length + suffix;
      if (name === "put" && valueBytes > MAX_VALUE) {
        throw new ConfigError(`expected a value of at most ${MAX_VALUE} bytes, got ${valueBytes}`);
      }
    },
    async run(options: Options, ctx: RoleContext) {
      const transport = transportFor(ctx);
      const started = performance.now();
      const { ok, failed } = await runOps(
        transport,
        {
          nodes: options.node,
          timeoutMs: options.timeout,
          retries: options.retries,
          window: options.window,
          intervalMs: options.interval,
          signal: ctx.signal,
        },
        name,
        {
          key: options.key!,
          value: options.value,
          count: options.count,
          consistency: options.consistency,
        },
        (r) => show(ctx, options, r),
      );
      const seconds = (performance.now() - started) / 1000;
      ctx.log.info("summary", {
        op: name,
        ok,
        failed,
        seconds: Number(seconds.toFixed(3)),
        rate: Math.round(ok / Math.max(seconds, 1e-9)),
      });
      if (failed > 0) ctx.exitCode = 1;
    },
  };
}

await runRole<Options>({
  name: "client_put_get",
  summary: "DHT client: put, get, del (with --consistency) and the ring view, through any node",
  configure: (cmd: Command) => {
    cmd.options.find((o) => o.long === "--log-level")?.default("warn");
    cmd.setOptionValueWithSource("logLevel", "warn", "default");
    return cmd
      .option(
        "--node <endpoint>",
        "dht_node(s) to ask, in failover order (repeatable)",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5514" }),
        ["tcp://127.0.0.1:5514"],
      )
      .option("--timeout <ms>", "ms to wait for each reply", int({ min: 1 }), 3000)
      .option(
        "--retries <n>",
        "attempts per operation, over the nodes in turn",
        int({ min: 1, max: 100 }),
        3,
      )
      .option("--json", "one JSON line per operation", false)
      .option("--quiet", "print only failures (a summary event at --log-level info)", false);
  },
  run() {
    throw new ConfigError("missing command: expected one of put|get|del|ring");
  },
  commands: {
    put: op("put", "writes a value (last-writer-wins by HLC stamp, node id tie-break)"),
    get: op("get", "reads a key: the newest of the replicas' versions (read repair behind)"),
    del: op("del", "deletes a key (a tombstone write)"),
    ring: {
      summary: "the ring: nodes, liveness, tokens, share of the ring, keys and hints per node",
      async run(options: Options, ctx: RoleContext) {
        const transport = transportFor(ctx);
        const { ring, views, error } = await collectRing(transport, {
          nodes: options.node,
          timeoutMs: options.timeout,
          retries: options.retries,
          window: 1,
        });
        if (!ring) {
          ctx.print(options.json ? JSON.stringify({ error }) : `ring: FAILED ${error}`);
          ctx.exitCode = 1;
          return;
        }
        if (options.json) ctx.print(JSON.stringify({ ring, nodes: views }));
        else for (const line of ringTable(ring, views)) ctx.print(line);
      },
    },
  },
});
