/**
 * firewall_node: the Clone client (12/CHP) of one edge firewall. Takes a snapshot, then
 * applies only deltas newer than it; re-syncs on a sequence gap or a silent master (and
 * fails over to the next `--server`); validates each policy whole before it replaces the
 * previous version; persists its table (`--state-file`) and enforces it again at once
 * after a restart. Shows the live table (redrawn in place on a terminal, snapshots when
 * piped) or `--json` change events.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import {
  ConfigError,
  int,
  InvalidArgumentError,
  oneOf,
  repeatable,
  type RoleContext,
  runRole,
  terminalFrame,
  writableFile,
} from "@lib/role/mod.ts";
import { Dealer, Subscriber } from "@lib/zmq/mod.ts";
import { chpEndpoint, serverEndpoints } from "../internal/endpoints.ts";
import { checkSubtree, HUGZ } from "../internal/protocol.ts";
import { PolicyReplica, type TableChange } from "../internal/replica.ts";
import { loadState, saveState } from "../internal/state_file.ts";
import { renderView } from "../internal/view.ts";

interface Options {
  server: string[];
  subtree: string;
  heartbeat: number;
  liveness: number;
  stateFile?: string;
  view: "auto" | "ansi" | "plain" | "none";
  json: boolean;
  dropEvery: number;
  reportInterval: number;
  statsInterval: number;
}

const decoder = new TextDecoder();

function subtreeOption(value: string): string {
  try {
    return checkSubtree(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

async function run(options: Options, ctx: RoleContext) {
  const servers = options.server.map(serverEndpoints);
  const dealers: (Dealer | undefined)[] = servers.map(() => undefined);
  const subs = servers.map(() => new Subscriber({ receiveHighWaterMark: 100_000 }));
  ctx.defer(() => {
    for (const s of subs) s.close();
    for (const d of dealers) d?.close();
  });
  let dirty = true;
  let saveDue = false;
  let versionDue = false;
  let icanhazDropped = 0;

  const replica = new PolicyReplica({
    clock: systemClock,
    log: ctx.log,
    servers: servers.length,
    subtree: options.subtree,
    heartbeatMs: options.heartbeat,
    liveness: options.liveness,
    // A fresh snapshot socket per request: a late answer to an abandoned request can
    // never mix into the new snapshot.
    onSync(i) {
      dealers[i]?.close();
      const dealer = new Dealer({ linger: 0, receiveHighWaterMark: 100_000 });
      dealer.connect(servers[i].snapshot);
      dealers[i] = dealer;
      ctx.serve(dealer, (frames) => replica.onSnapshot(frames, i), {
        name: `snapshot${i}`,
        untilClosed: true,
      }).catch(() => {});
      dirty = true;
    },
    send: (frames) => {
      const i = replica.server;
      void dealers[i]?.send(frames).catch(() => icanhazDropped++);
    },
    onChange(change: TableChange) {
      dirty = true;
      saveDue = true;
      versionDue = true;
      if (options.json) {
        ctx.print(JSON.stringify({ ...change, policies: replica.table.size }));
      }
      if (change.kind === "set" || change.kind === "delete") {
        ctx.log.debug("policy_applied", { ...change });
      }
    },
  });

  if (options.stateFile) {
    try {
      const saved = await loadState(options.stateFile);
      if (saved) {
        const restored = replica.restore(saved.version, saved.policies);
        ctx.log.info("state_restored", {
          version: saved.version,
          policies: restored,
          saved_at: saved.savedAt,
          fingerprint: replica.fingerprint(),
        });
        if (options.json) {
          ctx.print(
            JSON.stringify({ kind: "restored", version: saved.version, policies: restored }),
          );
        }
      }
    } catch (error) {
      ctx.log.warn("state_unreadable", { error: (error as Error).message });
    }
  }

  const save = async () => {
    if (!options.stateFile || !saveDue) return;
    saveDue = false;
    try {
      await saveState(options.stateFile, {
        format: 1,
        version: replica.version,
        subtree: options.subtree,
        fingerprint: replica.fingerprint(),
        savedAt: new Date().toISOString(),
        policies: [...replica.table].map(([key, p]) => ({ key, body: p.body })),
      });
    } catch (error) {
      saveDue = true;
      ctx.log.limited("error", "state_save_failed", { error: (error as Error).message });
    }
  };
  ctx.defer(save);

  subs.forEach((sub, i) => {
    if (options.subtree) sub.subscribe(options.subtree, HUGZ);
    else sub.subscribe();
    sub.connect(servers[i].updates);
    let updates = 0;
    ctx.serve(sub, (frames) => {
      // Fault injection (demo, tests): lose every n-th update as a full queue would.
      if (options.dropEvery > 0 && frames.length === 5 && decoder.decode(frames[0]) !== HUGZ) {
        if (++updates % options.dropEvery === 0) {
          ctx.log.info("update_dropped", { injected: true, every: options.dropEvery });
          return;
        }
      }
      replica.onUpdate(frames, i);
    }, { name: `updates${i}` }).catch(() => {});
  });
  replica.start();

  const viewMode = options.json || options.view === "none"
    ? "none"
    : options.view === "auto"
    ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
    : options.view;
  let drawn = 0;
  let lastPlain = 0;
  const draw = () => {
    if (viewMode === "none" || !dirty) return;
    const now = systemClock.now();
    if (viewMode === "plain" && now - lastPlain < 1000) return;
    dirty = false;
    const lines = renderView({
      version: replica.version,
      fingerprint: replica.fingerprint(),
      server: options.server[replica.server],
      state: replica.state,
      subtree: options.subtree,
    }, replica.table);
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
  };

  ctx.every(Math.max(10, Math.min(250, options.heartbeat / 4)), () => replica.tick());
  ctx.every(200, draw);
  ctx.every(200, () => void save());
  ctx.every(options.reportInterval, () => {
    if (!versionDue) return;
    versionDue = false;
    ctx.log.info("table_version", {
      version: replica.version,
      policies: replica.table.size,
      fingerprint: replica.fingerprint(),
      state: replica.state,
    });
  });
  ctx.every(
    options.statsInterval,
    () => ctx.log.info("stats", { ...replica.stats(), icanhazDropped }),
  );
  await ctx.stopped;
}

await runRole<Options>({
  name: "firewall_node",
  summary: "Clone client: replicates the firewall policies (snapshot, deltas, re-sync)",
  configure: (cmd) =>
    cmd
      .option(
        "--server <endpoint>",
        "master tcp://host:P (snapshot P, updates P+1); a second one is the backup to fail over to",
        repeatable(chpEndpoint),
        ["tcp://127.0.0.1:5570"],
      )
      .option(
        "--subtree <path>",
        "replicate only keys under /segment/.../ (empty: all)",
        subtreeOption,
        "",
      )
      .option("--heartbeat <ms>", "the master's HUGZ interval", int({ min: 10 }), 1000)
      .option(
        "--liveness <n>",
        "silent heartbeats before the master counts as dead (re-sync / failover)",
        int({ min: 2, max: 100 }),
        3,
      )
      .option(
        "--state-file <path>",
        "persist the applied table here; restored at start",
        writableFile,
      )
      .option(
        "--view <mode>",
        "table on stdout: ansi (redrawn in place) | plain (snapshots) | none; auto = ansi on a terminal",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--json", "print each table change as a JSON line instead of the table", false)
      .option(
        "--drop-every <n>",
        "fault injection: lose every n-th update (0 = off), to see gap detection and re-sync",
        int({ min: 0 }),
        0,
      )
      .option(
        "--report-interval <ms>",
        "log table_version at most this often when the table changed",
        int({ min: 10 }),
        1000,
      )
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  validate(options) {
    if (options.server.length > 2) {
      throw new ConfigError(
        `expected one server or a primary and a backup, got ${options.server.length}`,
      );
    }
  },
  run,
});

/** The terminal's height, when stdout is one (a frame taller than it is cut). */
function consoleRows(): number | undefined {
  try {
    return Deno.consoleSize().rows;
  } catch {
    return undefined;
  }
}
