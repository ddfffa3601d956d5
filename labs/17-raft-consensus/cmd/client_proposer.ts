/**
 * client_proposer: proposes writes and linearizable reads to the Raft cluster over each
 * node's ROUTER (a DEALER per node). Finds the leader by following redirects (or trying the
 * next node), retries a write with the same (client, seq) so it is applied once, gives up
 * on an operation after `--deadline` (a write's outcome is then unknown).
 *
 * Default: a workload (`--sessions` concurrent clients, `--ops` each, `--read-ratio`,
 * `--keys`), with every operation as a JSON line (`--json`: kind, value, call/ret times —
 * the history the linearizability checker reads) or a progress line a second; then a
 * summary. Subcommands: `put <key> <value>`, `get <key>`, `del <key>`, `status`.
 *
 * @module
 */
import { latencySummary, systemClock } from "@lib/async/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import {
  type Command,
  ConfigError,
  endpoint,
  float,
  int,
  repeatable,
  type RoleContext,
  runRole,
} from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import { ClientSession, type Operation, type Outcome, type Transport } from "../internal/client.ts";
import {
  type ClientReply,
  type ClientRequest,
  decodeClientReply,
  MAX_KEY,
  MAX_VALUE,
} from "../internal/protocol.ts";

interface Common {
  node: string[];
  client?: string;
  timeout: number;
  deadline: number;
  json: boolean;
}

interface WorkloadOptions extends Common {
  sessions: number;
  ops: number;
  rate: number;
  readRatio: number;
  keys: number;
  keyPrefix: string;
}

/** A transport of its own per session: one DEALER per node, reset after a timeout. */
function dealerTransport(ctx: RoleContext): Transport & { close(): void } {
  const dealers = new Map<string, Dealer>();
  const waiting = new Map<string, (reply: ClientReply) => void>();
  const open = (ep: string) => {
    let dealer = dealers.get(ep);
    if (dealer) return dealer;
    dealer = new Dealer({ linger: 0, receiveHighWaterMark: 1000, sendHighWaterMark: 1000 });
    dealer.connect(ep);
    dealers.set(ep, dealer);
    ctx.serve(dealer, (frames) => {
      const reply = decodeClientReply(frames);
      waiting.get(reply.rid)?.(reply); // a late answer to an abandoned attempt: dropped
    }, { name: `node ${ep}`, untilClosed: true }).catch(() => {});
    return dealer;
  };
  const transport = async (ep: string, request: ClientRequest, timeoutMs: number) => {
    const dealer = open(ep);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<ClientReply | null>((resolve) => {
      waiting.set(request.rid, resolve);
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    dealer.send([encode(request)]).catch(() => {});
    const reply = await answer;
    clearTimeout(timer);
    waiting.delete(request.rid);
    if (reply === null) {
      // Lazy Pirate: a fresh socket, so a request queued for a dead node is not sent later.
      dealers.get(ep)?.close();
      dealers.delete(ep);
    }
    return reply;
  };
  return Object.assign(transport, {
    close() {
      for (const d of dealers.values()) d.close();
      dealers.clear();
    },
  });
}

function session(o: Common, ctx: RoleContext, client: string) {
  const transport = dealerTransport(ctx);
  ctx.defer(() => transport.close());
  return new ClientSession({
    nodes: o.node,
    client,
    transport,
    clock: systemClock,
    attemptTimeoutMs: o.timeout,
    deadlineMs: o.deadline,
    signal: ctx.signal,
  });
}

/** Wall-clock ms with sub-ms precision, comparable between processes on one host. */
const wallNow = () => performance.timeOrigin + performance.now();

const defaultClient = () => `c${crypto.randomUUID().slice(0, 8)}`;

async function one(o: Common, ctx: RoleContext, op: Operation, s?: ClientSession) {
  const outcome = await (s ?? session(o, ctx, o.client ?? defaultClient())).run(op);
  if (o.json) ctx.print(JSON.stringify({ ...op, ...outcome }));
  else if (outcome.status === "ok") {
    ctx.print(
      op.kind === "get"
        ? `${op.key} ${outcome.value ?? "(none)"}`
        : `ok index ${outcome.index}${
          outcome.duplicate ? " (retry answered from the dedup table)" : ""
        }`,
    );
  } else ctx.print(`${outcome.status} after ${outcome.attempts} attempts`);
  if (outcome.status !== "ok") ctx.exitCode = 1;
}

async function workload(o: WorkloadOptions, ctx: RoleContext) {
  const base = o.client ?? defaultClient();
  const latencies: number[] = [];
  const counts = {
    ok: 0,
    unknown: 0,
    failed: 0,
    writes: 0,
    reads: 0,
    duplicates: 0,
    redirects: 0,
    retries: 0,
  };
  const started = systemClock.now();
  let lastProgress = started;
  let okAtLastProgress = 0;
  const progress = () => {
    const now = systemClock.now();
    const rate = ((counts.ok - okAtLastProgress) * 1000) / Math.max(1, now - lastProgress);
    lastProgress = now;
    okAtLastProgress = counts.ok;
    const lat = latencySummary(latencies.slice(-1000));
    ctx.log.info("progress", {
      ...counts,
      ops_per_s: Math.round(rate),
      p50_ms: lat.p50,
      p99_ms: lat.p99,
    });
    if (!o.json) {
      ctx.print(
        `ok ${counts.ok} (${
          Math.round(rate)
        }/s)  unknown ${counts.unknown}  failed ${counts.failed}  redirects ${counts.redirects}  retries ${counts.retries}  p50 ${lat.p50} ms  p99 ${lat.p99} ms`,
      );
    }
  };
  ctx.every(1000, progress);
  const random = Math.random;
  await Promise.all(Array.from({ length: o.sessions }, async (_, i) => {
    const client = o.sessions === 1 ? base : `${base}-${i}`;
    const s = session(o, ctx, client);
    const interval = o.rate > 0 ? 1000 / o.rate : 0;
    let n = 0;
    while (!ctx.signal.aborted && (o.ops === 0 || n < o.ops)) {
      n++;
      const key = `${o.keyPrefix}${Math.floor(random() * o.keys)}`;
      const read = random() < o.readRatio;
      const op: Operation = read
        ? { kind: "get", key }
        : { kind: "put", key, value: `${client}:${n}` };
      const t0 = systemClock.now();
      const call = wallNow();
      const outcome: Outcome = await s.run(op);
      const ret = wallNow();
      counts[outcome.status]++;
      counts[read ? "reads" : "writes"]++;
      counts.redirects += outcome.redirects;
      counts.retries += outcome.attempts - 1;
      if (outcome.duplicate) counts.duplicates++;
      if (outcome.status === "ok") latencies.push(systemClock.now() - t0);
      if (o.json) {
        ctx.print(JSON.stringify({
          kind: "op",
          client,
          op: op.kind,
          key,
          value: read ? outcome.value : (op as { value: string }).value,
          status: outcome.status,
          call,
          ret,
          index: outcome.index,
          duplicate: outcome.duplicate,
          attempts: outcome.attempts,
        }));
      }
      if (interval > 0) await ctx.sleep(Math.max(0, interval - (systemClock.now() - t0)));
    }
  }));
  const seconds = (systemClock.now() - started) / 1000;
  const lat = latencySummary(latencies);
  const summary = {
    ...counts,
    seconds: Math.round(seconds * 100) / 100,
    ops_per_s: Math.round(counts.ok / Math.max(0.001, seconds)),
    p50_ms: lat.p50,
    p99_ms: lat.p99,
  };
  ctx.log.info("workload_done", summary);
  if (o.json) ctx.print(JSON.stringify({ kind: "summary", ...summary }));
  else {
    ctx.print(
      `done: ${counts.ok} ok, ${counts.unknown} unknown, ${counts.failed} failed in ${summary.seconds} s (${summary.ops_per_s}/s), p50 ${lat.p50} ms, p99 ${lat.p99} ms`,
    );
  }
}

/** A key the nodes accept (1..MAX_KEY characters): refused here, not dropped there. */
function keyArg(value: string): string {
  if (value.length === 0 || value.length > MAX_KEY) {
    throw new ConfigError(`expected a key of 1..${MAX_KEY} characters, got ${value.length}`);
  }
  return value;
}

/** `<key...>`: commander hands a variadic argument's parser the keys parsed so far. */
function keysArg(value: string, previous?: string[]): string[] {
  return [...(previous ?? []), keyArg(value)];
}

/** A value the nodes accept (at most MAX_VALUE characters). */
function valueArg(value: string): string {
  if (value.length > MAX_VALUE) {
    throw new ConfigError(
      `expected a value of at most ${MAX_VALUE} characters, got ${value.length}`,
    );
  }
  return value;
}

const key = (cmd: Command) => cmd.argument("<key>", "the key", keyArg);

await runRole<WorkloadOptions>({
  name: "client_proposer",
  summary: "Raft client: proposes writes and reads, follows redirects, retries exactly-once",
  configure: (cmd) =>
    cmd
      .option(
        "--node <endpoint>",
        "a node's client (ROUTER) endpoint; repeat or comma-separate",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5574,5575,5576" }),
        ["tcp://127.0.0.1:5574", "tcp://127.0.0.1:5575", "tcp://127.0.0.1:5576"],
      )
      .option("--client <id>", "client id (the dedup key with each write's seq); default random")
      .option("--timeout <ms>", "per attempt", int({ min: 1 }), 1000)
      .option(
        "--deadline <ms>",
        "per operation, then its outcome is unknown",
        int({ min: 1 }),
        10_000,
      )
      .option("--json", "one JSON line per operation (and a summary)", false)
      .option(
        "--sessions <n>",
        "concurrent client sessions (each its own client id)",
        int({ min: 1, max: 256 }),
        1,
      )
      .option("--ops <n>", "operations per session (0: until stopped)", int({ min: 0 }), 0)
      .option(
        "--rate <n>",
        "operations per second per session (0: as fast as answers come)",
        float({ min: 0 }),
        5,
      )
      .option("--read-ratio <p>", "share of reads", float({ min: 0, max: 1 }), 0.3)
      .option("--keys <n>", "distinct keys written", int({ min: 1 }), 10)
      .option("--key-prefix <text>", "keys are <prefix><n>", "k"),
  validate(o) {
    if (o.client !== undefined && !/^[A-Za-z0-9_.:-]{1,48}$/.test(o.client)) {
      throw new ConfigError(`expected a client id of [A-Za-z0-9_.:-]{1,48}, got "${o.client}"`);
    }
    const longest = o.keyPrefix.length + String(o.keys - 1).length;
    if (longest > MAX_KEY) {
      throw new ConfigError(
        `expected --key-prefix and --keys to make keys of at most ${MAX_KEY} characters, got ${longest}`,
      );
    }
  },
  run: workload,
  commands: {
    put: {
      summary: "write one key (retried with the same seq until applied once)",
      configure: (cmd) => key(cmd).argument("<value>", "the value", valueArg),
      run: (o: Common & { key: string; value: string }, ctx) =>
        one(o, ctx, { kind: "put", key: o.key, value: o.value }),
    },
    get: {
      summary: "read keys (ReadIndex at the leader: linearizable), one line each",
      configure: (cmd) => cmd.argument("<key...>", "the keys", keysArg),
      run: async (o: Common & { key: string[] }, ctx) => {
        const s = session(o, ctx, o.client ?? defaultClient());
        for (const key of o.key) await one(o, ctx, { kind: "get", key }, s);
      },
    },
    del: {
      summary: "delete one key",
      configure: key,
      run: (o: Common & { key: string }, ctx) => one(o, ctx, { kind: "del", key: o.key }),
    },
    status: {
      summary: "ask every node for its role, term and commit index",
      run: async (o: Common, ctx: RoleContext) => {
        const transport = dealerTransport(ctx);
        ctx.defer(() => transport.close());
        let rid = 0;
        const rows = await Promise.all(
          o.node.map((ep) => transport(ep, { kind: "status", rid: `s${++rid}` }, o.timeout)),
        );
        rows.forEach((r, i) => {
          if (o.json) {
            ctx.print(JSON.stringify({ endpoint: o.node[i], ...(r ?? { kind: "timeout" }) }));
          } else if (r?.kind === "status") {
            ctx.print(
              `${o.node[i]}  ${r.id}  ${r.role}  term ${r.term}  leader ${
                r.leader ?? "?"
              }  commit ${r.commitIndex}`,
            );
          } else ctx.print(`${o.node[i]}  no answer`);
        });
        if (rows.every((r) => r?.kind !== "status")) ctx.exitCode = 1;
      },
    },
  },
});
