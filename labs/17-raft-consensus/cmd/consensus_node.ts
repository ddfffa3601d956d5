/**
 * consensus_node: one member of a Raft cluster whose peers talk over a PUB-SUB mesh. It
 * binds a PUB (`--bind`); its SUB connects to every peer's PUB (`--peer id=endpoint`) and
 * subscribes to its own id, the topic of every message addressed to it. Clients talk to a
 * ROUTER (`--client-bind`); a follower redirects them to the leader.
 *
 * Each batch of work (messages, proposals, reads, ticks) runs through the sans-IO core
 * (`internal/raft.ts`); its persist ops are written in one fsynced sqlite transaction
 * before any of its messages or answers leave. Shows role, term, commit index and peers
 * live (redrawn on a terminal, snapshots when piped) or `--json` events.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  ConfigError,
  endpoint,
  float,
  int,
  InvalidArgumentError,
  oneOf,
  repeatable,
  type RoleContext,
  runRole,
  terminalFrame,
  writableDir,
} from "@lib/role/mod.ts";
import { Publisher, Router, Subscriber } from "@lib/zmq/mod.ts";
import { type ApplyResult, KvStateMachine } from "../internal/kv.ts";
import {
  type ClientReply,
  decodeClientRequest,
  decodePeerFrames,
  encodePeerFrames,
  MAX_ID,
} from "../internal/protocol.ts";
import { RaftNode, type Ready } from "../internal/raft.ts";
import { RaftStorage } from "../internal/storage.ts";
import { renderView } from "../internal/view.ts";

interface Options {
  id: string;
  bind: string;
  peer: { id: string; endpoint: string }[];
  clientBind: string;
  dataDir: string;
  electionMin: number;
  electionMax: number;
  heartbeat: number;
  snapshotEvery: number;
  preVote: boolean;
  checkQuorum: boolean;
  fsync: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  json: boolean;
  statusInterval: number;
  dropRate: number;
  isolateLeaderAfter: number;
  isolateFor: number;
  maxPending: number;
}

const ID_RE = /^[A-Za-z0-9_.-]+$/;

function nodeId(value: string): string {
  if (!ID_RE.test(value) || value.length > MAX_ID) {
    throw new InvalidArgumentError(
      `expected a node id of [A-Za-z0-9_.-]{1,${MAX_ID}}, got "${value}"`,
    );
  }
  return value;
}

function peerSpec(value: string): { id: string; endpoint: string } {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected id=endpoint, got "${value}"`);
  return { id: nodeId(value.slice(0, at)), endpoint: endpoint(value.slice(at + 1)) };
}

interface PendingClient {
  identity: Uint8Array;
  rid: string;
  key?: string;
}

async function run(o: Options, ctx: RoleContext) {
  await Deno.mkdir(o.dataDir, { recursive: true });
  const storage = new RaftStorage(`${o.dataDir}/${o.id}.db`, { fsync: o.fsync });
  let closed = false;
  ctx.defer(() => {
    closed = true;
    storage.close();
  });
  const persisted = storage.load();
  const kv = new KvStateMachine();

  const pub = new Publisher({ sendHighWaterMark: 10_000, linger: 0 });
  const sub = new Subscriber({ receiveHighWaterMark: 10_000, maxMessageSize: 128 * 1024 * 1024 });
  // linger: answers (and the redirects sent on stop) still leave after close.
  const router = new Router({
    linger: 1000,
    receiveHighWaterMark: 10_000,
    maxMessageSize: 1024 * 1024,
  });
  ctx.defer(() => {
    router.close();
    sub.close();
    pub.close();
  });
  await pub.bind(o.bind);
  await router.bind(o.clientBind);
  const clientEndpoint = router.lastEndpoint!;
  ctx.listening(pub, { socket: "peers" });
  ctx.listening(router, { socket: "clients" });
  sub.subscribe(o.id);
  for (const p of o.peer) sub.connect(p.endpoint);

  const node = new RaftNode<ApplyResult>({
    id: o.id,
    peers: o.peer.map((p) => p.id),
    electionMinMs: o.electionMin,
    electionMaxMs: o.electionMax,
    heartbeatMs: o.heartbeat,
    preVote: o.preVote,
    checkQuorum: o.checkQuorum,
    snapshotEvery: o.snapshotEvery,
    clientEndpoint,
  }, { clock: systemClock, random: Math.random, stateMachine: kv, persisted });
  ctx.log.info("state_restored", {
    term: persisted.term,
    voted_for: persisted.votedFor,
    snapshot_index: persisted.snapshot?.index ?? 0,
    last_index: node.lastIndex,
    keys: kv.size,
  });

  const pendingWrites = new Map<string, PendingClient>();
  const pendingReads = new Map<string, PendingClient>();
  let readIds = 0;
  let dropped = 0;
  let isolatedUntil = 0;
  let leaderSince = 0;
  let dirty = true;
  const json = (event: Record<string, unknown>) => {
    if (o.json) ctx.print(JSON.stringify({ ts: new Date().toISOString(), node: o.id, ...event }));
  };

  const reply = (to: PendingClient, body: ClientReply) => {
    void router.send([to.identity, encode(body)]).catch(() => dropped++);
  };
  const redirectAll = () => {
    const s = node.status();
    for (const p of [...pendingWrites.values(), ...pendingReads.values()]) {
      reply(p, { kind: "redirect", rid: p.rid, leader: s.leader, endpoint: s.leaderEndpoint });
    }
    pendingWrites.clear();
    pendingReads.clear();
  };

  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(flush, 0);
  };
  const flush = () => {
    scheduled = false;
    if (closed || !node.hasReady()) return;
    const ready: Ready<ApplyResult> = node.ready();
    // Durable first: votes, terms and log entries are fsynced before anything that
    // depends on them leaves this process.
    storage.write(ready.persist);
    const isolated = systemClock.now() < isolatedUntil;
    for (const m of ready.messages) {
      if (isolated) continue;
      void pub.send(encodePeerFrames(m)).catch(() => dropped++);
    }
    for (const a of ready.applied) {
      if (a.command.op === "noop") continue;
      const key = `${a.command.client}:${a.command.seq}`;
      const p = pendingWrites.get(key);
      if (!p) continue;
      pendingWrites.delete(key);
      reply(p, {
        kind: "ok",
        rid: p.rid,
        value: a.result.value,
        index: a.index,
        duplicate: a.result.duplicate,
      });
    }
    for (const r of ready.reads) {
      const p = pendingReads.get(r.id);
      if (!p) continue;
      pendingReads.delete(r.id);
      if (r.ok) {
        reply(p, {
          kind: "ok",
          rid: p.rid,
          value: kv.get(p.key!),
          index: r.index,
          duplicate: false,
        });
      } else {
        const s = node.status();
        reply(p, { kind: "redirect", rid: p.rid, leader: r.leader, endpoint: s.leaderEndpoint });
      }
    }
    for (const e of ready.events) {
      const { event, ...fields } = e;
      ctx.log.info(event, fields);
      json(e);
      dirty = true;
      if (event === "became_leader") leaderSince = systemClock.now();
      if (event === "role_changed" && e.state !== "leader") redirectAll();
    }
    if (ready.applied.length > 0 || ready.persist.length > 0) dirty = true;
  };

  await Promise.all([
    ctx.serve(sub, (frames) => {
      const m = decodePeerFrames(frames, o.id);
      if (systemClock.now() < isolatedUntil) return;
      if (o.dropRate > 0 && Math.random() < o.dropRate) {
        dropped++;
        return;
      }
      node.step(m);
      schedule();
    }, { name: "peers" }),
    ctx.serve(router, (frames) => {
      const identity = frames[0];
      let request;
      try {
        request = decodeClientRequest(frames.slice(1));
      } catch (error) {
        if (error instanceof BadMessageError) {
          void router.send([identity, encode({ kind: "error", rid: "", reason: error.reason })])
            .catch(() => {});
        }
        throw error;
      }
      const who = { identity, rid: request.rid };
      const s = node.status();
      const redirect = () =>
        reply(who, {
          kind: "redirect",
          rid: request.rid,
          leader: s.leader,
          endpoint: s.leaderEndpoint,
        });
      if (request.kind === "status") {
        reply(who, {
          kind: "status",
          rid: request.rid,
          id: o.id,
          role: s.role,
          term: s.term,
          leader: s.leader,
          commitIndex: s.commitIndex,
          lastApplied: s.lastApplied,
        });
        return;
      }
      if (s.role !== "leader" || systemClock.now() < isolatedUntil) return redirect();
      if (pendingWrites.size + pendingReads.size >= o.maxPending) {
        reply(who, { kind: "error", rid: request.rid, reason: "overloaded" });
        return;
      }
      if (request.kind === "get") {
        const id = `r${++readIds}`;
        pendingReads.set(id, { ...who, key: request.key });
        node.read(id);
      } else {
        const result = node.propose(
          request.kind === "put"
            ? {
              op: "put",
              key: request.key,
              value: request.value,
              client: request.client,
              seq: request.seq,
            }
            : { op: "del", key: request.key, client: request.client, seq: request.seq },
        );
        if (!result.ok) return redirect();
        pendingWrites.set(`${request.client}:${request.seq}`, who);
      }
      schedule();
    }, { name: "clients" }),
    (async () => {
      ctx.every(Math.max(5, Math.floor(o.heartbeat / 4)), () => {
        const now = systemClock.now();
        if (
          o.isolateLeaderAfter > 0 && node.role === "leader" && isolatedUntil < now &&
          now - leaderSince >= o.isolateLeaderAfter
        ) {
          isolatedUntil = now + o.isolateFor;
          ctx.log.info("isolated", { for_ms: o.isolateFor, term: node.term, injected: true });
          json({ event: "isolated", for_ms: o.isolateFor, term: node.term });
          setTimeout(() => {
            ctx.log.info("rejoined", { term: node.term });
            json({ event: "rejoined", term: node.term });
            leaderSince = systemClock.now();
          }, o.isolateFor);
        }
        node.tick();
        flush();
      });
      const viewMode = o.json || o.view === "none"
        ? "none"
        : o.view === "auto"
        ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
        : o.view;
      let drawn = 0;
      let lastPlain = 0;
      let lastDrawn = 0;
      ctx.every(200, () => {
        const now = systemClock.now();
        // Redrawn on a change, and at least once a second for the peers' "heard" ages.
        if (viewMode === "none" || (!dirty && now - lastDrawn < 1000)) return;
        if (viewMode === "plain" && now - lastPlain < 2000) return;
        dirty = false;
        lastDrawn = now;
        const lines = renderView(node.status(), {
          keys: kv.size,
          fingerprint: kv.fingerprint(),
          fsyncs: storage.writes,
          dropped,
          isolated: now < isolatedUntil,
        });
        if (viewMode === "ansi") {
          const frame = terminalFrame(lines, {
            mode: "ansi",
            previousLines: drawn,
            rows: consoleRows(),
          });
          ctx.print(frame.text);
          drawn = frame.lines;
        } else {
          lastPlain = now;
          ctx.print(lines.join("\n") + "\n");
        }
      });
      ctx.every(o.statusInterval, () => {
        const s = node.status();
        const fields = {
          state: s.role,
          term: s.term,
          leader: s.leader,
          commit_index: s.commitIndex,
          last_applied: s.lastApplied,
          last_index: s.lastIndex,
          snapshot_index: s.snapshotIndex,
          keys: kv.size,
          fingerprint: kv.fingerprint(),
          fsyncs: storage.writes,
          dropped,
          peers: s.peers.map((p) => ({ id: p.id, match: p.matchIndex, heard_ms: p.lastHeardMs })),
        };
        ctx.log.info("status", fields);
        json({ event: "status", ...fields });
      });
      await ctx.stopped;
    })(),
  ]);
  // Stopping: persist what the last batch holds; clients still waiting retry elsewhere.
  flush();
  redirectAll();
}

await runRole<Options>({
  name: "consensus_node",
  summary: "Raft node on a PUB-SUB mesh: elects, replicates and applies a key-value log",
  configure: (cmd) =>
    cmd
      .option("--id <id>", "this node's id (the topic its peers address it by)", nodeId, "n1")
      .option(
        "--bind <endpoint>",
        "PUB endpoint to bind (the peers' SUBs connect here)",
        endpoint,
        "tcp://127.0.0.1:5571",
      )
      .option(
        "--peer <id=endpoint>",
        "another member and its PUB endpoint (repeat, or comma-separate)",
        repeatable(peerSpec, { defaultText: "none (a cluster of one)" }),
        [],
      )
      .option(
        "--client-bind <endpoint>",
        "ROUTER endpoint for clients",
        endpoint,
        "tcp://127.0.0.1:5574",
      )
      .option(
        "--data-dir <dir>",
        "where <id>.db (term, vote, log, snapshot) lives",
        writableDir,
        "raft-data",
      )
      .option("--election-min <ms>", "election timeout, lower bound", int({ min: 10 }), 1000)
      .option("--election-max <ms>", "election timeout, upper bound", int({ min: 10 }), 2000)
      .option(
        "--heartbeat <ms>",
        "leader heartbeat (and retransmit) interval",
        int({ min: 5 }),
        100,
      )
      .option(
        "--snapshot-every <n>",
        "compact the log after n applied entries (0: never)",
        int({ min: 0 }),
        1000,
      )
      .option("--no-pre-vote", "disable PreVote")
      .option("--no-check-quorum", "disable CheckQuorum (and the leader lease on votes)")
      .option("--no-fsync", "sqlite synchronous=OFF (benchmarks only: not durable)")
      .option(
        "--view <mode>",
        "live view: ansi (redrawn) | plain (snapshots) | none; auto = ansi on a terminal",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option(
        "--json",
        "print events (role changes, status) as JSON lines instead of the view",
        false,
      )
      .option(
        "--status-interval <ms>",
        "log a status event this often (0: never)",
        int({ min: 0 }),
        2000,
      )
      .option(
        "--drop-rate <p>",
        "fault injection: drop this share of incoming peer messages",
        float({ min: 0, max: 1 }),
        0,
      )
      .option(
        "--isolate-leader-after <ms>",
        "fault injection: after leading this long, cut itself off from the peers (0: never)",
        int({ min: 0 }),
        0,
      )
      .option("--isolate-for <ms>", "how long such an isolation lasts", int({ min: 1 }), 4000)
      .option(
        "--max-pending <n>",
        "client requests waiting at most (then: overloaded)",
        int({ min: 1 }),
        10_000,
      ),
  validate(o) {
    if (o.electionMin > o.electionMax) {
      throw new ConfigError(
        `expected --election-min <= --election-max, got ${o.electionMin} > ${o.electionMax}`,
      );
    }
    if (o.heartbeat * 2 > o.electionMin) {
      throw new ConfigError(
        `expected --heartbeat at most half of --election-min, got ${o.heartbeat}`,
      );
    }
    const ids = new Set([o.id]);
    for (const p of o.peer) {
      if (ids.has(p.id)) throw new ConfigError(`expected distinct node ids, got ${p.id} twice`);
      ids.add(p.id);
    }
  },
  run,
});

/** The terminal's height, when stdout is one. */
function consoleRows(): number | undefined {
  try {
    return Deno.consoleSize().rows;
  } catch {
    return undefined;
  }
}
