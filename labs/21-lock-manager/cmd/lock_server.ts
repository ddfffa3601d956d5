/**
 * lock_server: a Chubby-style lock service on one ROUTER. Sessions with leases kept alive by
 * client keepalives, named locks in exclusive or shared mode with fencing tokens, FIFO
 * waiters, try-lock with timeout and lock-delay; the state that must survive a restart
 * (tokens, sessions, holders) is in SQLite (WAL, synchronous=FULL). Shows the lock table
 * live.
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
  oneOf,
  runRole,
  terminalFrame,
  writableFile,
} from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { LockTable } from "../internal/lock_table.ts";
import { decodeRequest, encodeReply, MAX_REQUEST_BYTES, reqOf } from "../internal/protocol.ts";
import { SqliteLockStore } from "../internal/store.ts";
import { renderLocks, statsHeader } from "../internal/view.ts";

interface Options {
  bind: string;
  db: string;
  fsync: "on" | "off";
  ttl: number;
  lockDelay: number;
  maxSessions: number;
  maxLocks: number;
  maxWaiters: number;
  tableInterval: number;
  json: boolean;
  statsInterval: number;
}

await runRole<Options>({
  name: "lock_server",
  summary: "Lock service: sessions with leases, fencing tokens, FIFO waiters, SQLite state",
  configure: (cmd) =>
    cmd
      .option("--bind <endpoint>", "ROUTER endpoint for clients", endpoint, "tcp://127.0.0.1:5621")
      .option("--db <file>", "SQLite database (created if missing; :memory: = none)", "locks.db")
      .option(
        "--fsync <on|off>",
        "on: synchronous=FULL, a grant is on disk before its reply; off: for benchmarks only",
        oneOf("on", "off"),
        "on",
      )
      .option(
        "--ttl <duration>",
        "session lease: silent this long, a session expires",
        duration,
        10_000,
      )
      .option(
        "--lock-delay <duration>",
        "after an exclusive holder expires, no grant for this long",
        duration,
        1000,
      )
      .option("--max-sessions <n>", "sessions at once", int({ min: 1, max: 1_000_000 }), 10_000)
      .option(
        "--max-locks <n>",
        "locks held or waited for at once",
        int({ min: 1, max: 1_000_000 }),
        10_000,
      )
      .option("--max-waiters <n>", "waiters per lock", int({ min: 1, max: 1_000_000 }), 1000)
      .option(
        "--table-interval <ms>",
        "redraw the lock table this often (0 = off)",
        int({ min: 0 }),
        1000,
      )
      .option("--json", "print the lock table as one JSON object per interval", false)
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  validate(options) {
    if (options.db !== ":memory:") {
      try {
        writableFile(options.db);
      } catch (error) {
        throw new ConfigError(`--db: ${(error as Error).message}`);
      }
    }
    if (options.ttl < 30) throw new ConfigError(`expected --ttl >= 30 ms, got ${options.ttl}`);
  },
  async run(options, ctx) {
    const store = new SqliteLockStore(options.db, { fsync: options.fsync === "on" });
    ctx.defer(() => store.close());
    const router = new Router({
      mandatory: true,
      maxMessageSize: MAX_REQUEST_BYTES,
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
    });
    await router.bind(options.bind);
    ctx.listening(router, {
      db: options.db,
      ttl_ms: options.ttl,
      lock_delay_ms: options.lockDelay,
    });
    let sendDropped = 0;
    const send = (peer: Uint8Array, body: Uint8Array) => {
      const dropped = (error: unknown) => {
        sendDropped++;
        ctx.log.limited("warn", "send_dropped", {
          error: error instanceof Error ? error.message : String(error),
          dropped: sendDropped,
        });
      };
      try {
        if (router.sendSync([peer, body])) return;
      } catch (error) {
        return dropped(error); // the peer left: its session will expire
      }
      router.send([peer, body]).catch(dropped);
    };
    const table = new LockTable(
      {
        clock: systemClock,
        log: ctx.log,
        send: (peer, reply) => send(peer, encodeReply(reply)),
      },
      store,
      {
        ttlMs: options.ttl,
        lockDelayMs: options.lockDelay,
        maxSessions: options.maxSessions,
        maxLocks: options.maxLocks,
        maxWaiters: options.maxWaiters,
      },
    );

    ctx.every(Math.max(5, Math.min(50, Math.floor(options.ttl / 10))), () => table.tick());
    ctx.every(
      options.statsInterval,
      () => ctx.log.info("stats", { ...table.stats(), send_dropped: sendDropped }),
    );
    const tty = !options.json && Deno.stdout.isTerminal();
    let lastPlain = "";
    let drawn = 0;
    ctx.every(options.tableInterval, () => {
      const rows = table.table();
      if (options.json) {
        ctx.print(JSON.stringify({ ts: new Date().toISOString(), ...table.stats(), locks: rows }));
        return;
      }
      const lines = renderLocks(rows, statsHeader(table.stats()));
      const text = lines.join("\n");
      if (!tty && text === lastPlain) return; // piped: a snapshot only when something changed
      lastPlain = text;
      const frame = terminalFrame(lines, {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
        rows: tty ? Deno.consoleSize().rows : undefined,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    });

    await ctx.serve(router, (frames) => {
      const peer = frames[0];
      const body = frames.slice(1);
      try {
        table.onRequest(peer, decodeRequest(body));
      } catch (error) {
        if (error instanceof BadMessageError) {
          // Answer what we can (a DEALER waits for it), then serve() logs bad_message.
          send(peer, encodeReply({ kind: "error", req: reqOf(body), reason: error.reason }));
        }
        throw error;
      }
    }, { name: "router" });
    // Every reply is sent synchronously from the handler: nothing to drain but lingering sends.
    ctx.log.info("final", { ...table.stats(), send_dropped: sendDropped });
  },
});
