/**
 * lock_client: the client of lock_server. `acquire`/`release` for one-shot use, `hold` keeps
 * a lock (heartbeating) until stopped, `run --lock L -- cmd` runs a command under a lock with
 * the fencing token in its environment, `status` prints the server's table, and `work` does
 * read-modify-write increments of resource_guard's counter under the lock (the tests' and the
 * demo's contending writer).
 *
 * @module
 */
import { deadline } from "@lib/async/mod.ts";
import {
  ConfigError,
  duration,
  endpoint,
  float,
  int,
  InvalidArgumentError,
  runRole,
} from "@lib/role/mod.ts";
import type { CommandSpec, RoleContext } from "@lib/role/mod.ts";
import type { Command } from "@lib/role/mod.ts";
import { GuardConnection, LockConnection } from "../internal/client_io.ts";
import { MAX_LOCK_NAME, MAX_SESSION_ID, type Mode } from "../internal/protocol.ts";
import { describeReply, type LockSession } from "../internal/session_client.ts";
import { renderLocks } from "../internal/view.ts";

interface Common {
  server: string;
  margin: number;
  requestTimeout: number;
  json: boolean;
}
interface LockArgs extends Common {
  lock: string;
  shared: boolean;
  wait: number;
}

function lockName(value: string): string {
  if (value.length < 1 || value.length > MAX_LOCK_NAME) {
    throw new InvalidArgumentError(
      `expected a lock name of 1..${MAX_LOCK_NAME} characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function sessionId(value: string): string {
  if (value.length < 1 || value.length > MAX_SESSION_ID) {
    throw new InvalidArgumentError(
      `expected a session id of 1..${MAX_SESSION_ID} characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const common = (cmd: Command) =>
  cmd
    .option("--server <endpoint>", "lock_server endpoint", endpoint, "tcp://127.0.0.1:5621")
    .option(
      "--margin <fraction>",
      "safety margin: assume the lease ends after ttl × (1 − margin) from the last answered send",
      float({ min: 0, max: 0.9 }),
      0.2,
    )
    .option("--request-timeout <duration>", "a request unanswered this long fails", duration, 5000)
    .option("--json", "print results as JSON", false);

const lockArgs = (cmd: Command, wait: number) =>
  common(cmd)
    .option("--lock <name>", "lock name", lockName)
    .option("--shared", "shared (read) mode instead of exclusive", false)
    .option(
      "--wait <duration>",
      "wait in the FIFO queue at most this long (0 = try once)",
      duration,
      wait,
    );

const needLock = (o: { lock?: string }) => {
  if (!o.lock) throw new ConfigError("expected --lock <name>");
};

const modeOf = (o: LockArgs): Mode => (o.shared ? "shared" : "exclusive");

/** `promise`, or a rejection as soon as the role is asked to stop. */
const stoppable = <T>(ctx: RoleContext, promise: Promise<T>): Promise<T> =>
  deadline(promise, 2 ** 31 - 1, { signal: ctx.signal });

/** Waits for a goodbye request at most a second (the server may be gone already). */
const briefly = <T>(promise: Promise<T>): Promise<T | undefined> =>
  deadline(promise, 1000, { what: "goodbye" }).catch(() => undefined);

/** Opens a session and acquires; prints the outcome; the session, or null when not granted. */
async function take(
  o: LockArgs,
  ctx: RoleContext,
): Promise<
  { conn: LockConnection; session: LockSession; token: number } | {
    conn: LockConnection;
    session: null;
  }
> {
  const conn = new LockConnection(ctx, {
    server: o.server,
    margin: o.margin,
    requestTimeoutMs: o.requestTimeout,
  });
  const session = await stoppable(ctx, conn.openSession());
  let reply;
  try {
    reply = await stoppable(ctx, session.acquire(o.lock, modeOf(o), o.wait));
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
    await briefly(session.close()); // leaves the queue
    return { conn, session: null };
  }
  if (reply.kind === "granted") {
    ctx.log.info("lock_granted", {
      lock: o.lock,
      token: reply.token,
      mode: reply.mode,
      session: session.id,
    });
    return { conn, session, token: reply.token };
  }
  ctx.log.info("lock_not_granted", { lock: o.lock, outcome: describeReply(reply) });
  ctx.print(
    o.json
      ? JSON.stringify({ granted: false, lock: o.lock, outcome: describeReply(reply) })
      : `not granted: ${describeReply(reply)}`,
  );
  ctx.exitCode = 1;
  return { conn, session: null };
}

const grantLine = (o: LockArgs, session: LockSession, token: number) =>
  o.json
    ? JSON.stringify({
      granted: true,
      lock: o.lock,
      token,
      mode: modeOf(o),
      session: session.id,
      ttl_ms: session.ttlMs,
    })
    : `granted ${o.lock} token ${token} (${
      modeOf(o)
    }) session ${session.id} ttl ${session.ttlMs} ms`;

async function giveBack(
  ctx: RoleContext,
  session: LockSession,
  lock: string,
  token: number,
): Promise<void> {
  if (session.lost) return;
  const reply = await session.release(lock, token).catch((error) => ({
    kind: "error",
    reason: String(error),
  }));
  ctx.log.info("lock_released", {
    lock,
    token,
    outcome: reply.kind === "released" ? "released" : String((reply as { reason?: string }).reason),
  });
  await session.close().catch(() => {});
}

const acquire: CommandSpec<LockArgs> = {
  summary: "acquire a lock and exit: the lease lapses after the TTL unless released",
  configure: (cmd) => lockArgs(cmd, 0),
  validate: needLock,
  async run(o, ctx) {
    const got = await take(o, ctx);
    if (!got.session) return;
    ctx.print(grantLine(o, got.session, got.token));
    if (!o.json) {
      ctx.print(
        `release with: lock_client release --lock ${o.lock} --session ${got.session.id} --token ${got.token}`,
      );
    }
  },
};

const release: CommandSpec<Common & { lock: string; session: string; token: number }> = {
  summary: "release a lock held by a session (its id and token must match)",
  configure: (cmd) =>
    common(cmd)
      .option("--lock <name>", "lock name", lockName)
      .option("--session <id>", "the holder's session", sessionId)
      .option("--token <n>", "the holder's fencing token", int({ min: 1 })),
  validate: (o) => {
    if (!o.lock || !o.session || !o.token) {
      throw new ConfigError("expected --lock, --session and --token");
    }
  },
  async run(o, ctx) {
    const conn = new LockConnection(ctx, {
      server: o.server,
      margin: o.margin,
      requestTimeoutMs: o.requestTimeout,
    });
    const reply = await conn.attach(o.session).release(o.lock, o.token);
    ctx.log.info("release_outcome", {
      lock: o.lock,
      token: o.token,
      outcome: describeReply(reply),
    });
    ctx.print(o.json ? JSON.stringify(reply) : describeReply(reply));
    if (reply.kind !== "released") ctx.exitCode = 1;
  },
};

const hold: CommandSpec<LockArgs & { for: number }> = {
  summary: "acquire a lock and keep it (heartbeating) until stopped or --for ends, then release",
  configure: (cmd) =>
    lockArgs(cmd, 30_000).option(
      "--for <duration>",
      "hold this long (0 = until stopped)",
      duration,
      0,
    ),
  validate: needLock,
  async run(o, ctx) {
    const got = await take(o, ctx);
    if (!got.session) return;
    ctx.print(grantLine(o, got.session, got.token));
    const lost = got.conn.leaseLost.then((why) => why);
    const why = await Promise.race([
      o.for > 0 ? ctx.sleep(o.for).then(() => null) : ctx.stopped.then(() => null),
      lost,
    ]);
    if (why) {
      ctx.print(
        o.json
          ? JSON.stringify({ lease_lost: true, lock: o.lock, why })
          : `lease lost (${why}): ${o.lock} is no longer ours`,
      );
      ctx.exitCode = 1;
      return;
    }
    await giveBack(ctx, got.session, o.lock, got.token);
  },
};

const run: CommandSpec<LockArgs & { command: string[] }> = {
  summary:
    "run a command under a lock (env LOCK_NAME, LOCK_TOKEN, LOCK_SESSION, LOCK_MODE); stopped if the lease is lost",
  configure: (cmd) =>
    lockArgs(cmd, 30_000).argument("<command...>", "the command and its arguments (after --)"),
  validate: needLock,
  async run(o, ctx) {
    const got = await take(o, ctx);
    if (!got.session) return;
    const { session, token } = got;
    ctx.log.info("command_starting", { command: o.command[0], lock: o.lock, token });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(o.command[0], {
        args: o.command.slice(1),
        env: {
          LOCK_NAME: o.lock,
          LOCK_TOKEN: String(token),
          LOCK_SESSION: session.id,
          LOCK_MODE: modeOf(o),
          LOCK_SERVER: o.server,
        },
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      ctx.log.error("command_failed", { command: o.command[0], error: String(error) });
      ctx.exitCode = 127;
      return await giveBack(ctx, session, o.lock, token);
    }
    const outcome = await Promise.race([
      child.status.then((status) => ({ kind: "exit" as const, status })),
      got.conn.leaseLost.then((why) => ({ kind: "lost" as const, why })),
      ctx.stopped.then(() => ({ kind: "stop" as const })),
    ]);
    if (outcome.kind !== "exit") {
      try {
        child.kill("SIGTERM");
      } catch { /* it just ended */ }
      const status = await child.status;
      ctx.log.warn("command_stopped", {
        why: outcome.kind === "lost" ? `lease ${outcome.why}` : "stop",
        code: status.code,
      });
    } else {
      ctx.log.info("command_exited", { code: outcome.status.code });
    }
    if (outcome.kind === "lost") ctx.exitCode = 1;
    else if (outcome.kind === "exit") ctx.exitCode = outcome.status.code;
    await giveBack(ctx, session, o.lock, token);
  },
};

const status: CommandSpec<Common> = {
  summary: "print the server's locks, holders, waiters and tokens",
  configure: (cmd) => common(cmd),
  async run(o, ctx) {
    const conn = new LockConnection(ctx, {
      server: o.server,
      margin: o.margin,
      requestTimeoutMs: o.requestTimeout,
    });
    const reply = await conn.attach("status").status();
    if (o.json) return ctx.print(JSON.stringify({ sessions: reply.sessions, locks: reply.locks }));
    for (
      const line of renderLocks(
        reply.locks,
        `sessions ${reply.sessions}  locks ${reply.locks.length}`,
      )
    ) {
      ctx.print(line);
    }
  },
};

interface WorkOptions extends LockArgs {
  guard: string;
  count: number;
  think: number;
  interval: number;
  stallEvery: number;
  stall: number;
}

const work: CommandSpec<WorkOptions> = {
  summary:
    "increment resource_guard's counter under the lock (read, think, write token-fenced), --count times",
  configure: (cmd) =>
    lockArgs(cmd, 60_000)
      .option("--guard <endpoint>", "resource_guard endpoint", endpoint, "tcp://127.0.0.1:5622")
      .option("--count <n>", "increments to do (0 = until stopped)", int({ min: 0 }), 10)
      .option(
        "--think <duration>",
        "time between the read and the write (a slow computation)",
        duration,
        0,
      )
      .option("--interval <duration>", "pause between increments", duration, 0)
      .option(
        "--stall-every <n>",
        "every n-th increment, block the whole process (a GC pause) before the write (0 = never)",
        int({ min: 0 }),
        0,
      )
      .option("--stall <duration>", "how long a stall blocks", duration, 0),
  validate: needLock,
  async run(o, ctx) {
    const conn = new LockConnection(ctx, {
      server: o.server,
      margin: o.margin,
      requestTimeoutMs: o.requestTimeout,
    });
    const guard = new GuardConnection(ctx, o.guard, o.requestTimeout);
    const tally = { increments: 0, rejected: 0, lease_expired: 0, not_granted: 0 };
    let held: { session: LockSession; token: number } | null = null;
    try {
      for (let i = 1; (o.count === 0 || i <= o.count) && !ctx.signal.aborted; i++) {
        const session = conn.session && !conn.session.lost
          ? conn.session
          : await stoppable(ctx, conn.openSession());
        const reply = await stoppable(ctx, session.acquire(o.lock, "exclusive", o.wait));
        if (reply.kind !== "granted") {
          tally.not_granted++;
          ctx.log.info("lock_not_granted", { lock: o.lock, outcome: describeReply(reply) });
          continue;
        }
        const token = reply.token;
        held = { session, token };
        // The client's own check, with its safety margin: is the lease still ours?
        if (!session.leaseValid()) {
          tally.lease_expired++;
          ctx.log.warn("lease_expired_before_write", { lock: o.lock, token });
          continue;
        }
        const read = await stoppable(ctx, guard.call({ kind: "read", req: 0, token }));
        if (read.kind !== "value") throw new Error(`guard refused a read: ${JSON.stringify(read)}`);
        ctx.log.info("guard_read", {
          token,
          value: read.value,
          lease_ms: Math.round(session.leaseRemaining()),
        });
        // Between the check above and the write below, anything may pause this process (the
        // think time, a stall, SIGSTOP): no client-side check can close that window.
        if (o.think > 0) await ctx.sleep(o.think);
        if (o.stallEvery > 0 && i % o.stallEvery === 0 && o.stall > 0) {
          ctx.log.warn("stalling", { ms: o.stall, token });
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, o.stall);
        }
        const written = await stoppable(
          ctx,
          guard.call({ kind: "write", req: 0, token, value: read.value + 1 }),
        );
        if (written.kind === "written") {
          tally.increments++;
          ctx.log.info("write_ok", { token, value: written.value });
        } else if (written.kind === "rejected") {
          tally.rejected++;
          ctx.log.warn("write_rejected", { token, highest: written.highest });
        }
        if (!session.lost) {
          const released = await stoppable(ctx, session.release(o.lock, token));
          if (released.kind !== "released") {
            ctx.log.info("release_refused", {
              lock: o.lock,
              token,
              outcome: describeReply(released),
            });
          }
        }
        held = null;
        if (o.interval > 0) await ctx.sleep(o.interval);
      }
    } catch (error) {
      if (!ctx.signal.aborted) throw error; // a stop mid-increment is not an error
    }
    if (held && !held.session.lost) await briefly(held.session.release(o.lock, held.token));
    ctx.log.info("done", tally);
    ctx.print(o.json ? JSON.stringify(tally) : `done: ${JSON.stringify(tally)}`);
    if (conn.session && !conn.session.lost) await briefly(conn.session.close());
  },
};

await runRole({
  name: "lock_client",
  summary: "Lock service client: acquire, release, hold, run under a lock, status, work",
  commands: { acquire, release, hold, run, status, work },
});
