/**
 * audit_client: a load client. Opens `--clients` DEALER sockets, each sending `--records`
 * audit records with its own correlation ids, resending on timeout or after `busy` (same id:
 * idempotent), and reports acks, retries and ack latency (p50/p99) as a `summary` event and
 * on stdout. `--rounds 0` repeats with fresh ids until stopped (the demo).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { ConfigError, endpoint, int, runRole } from "@lib/role/mod.ts";
import { Dealer, ZmqError } from "@lib/zmq/mod.ts";
import { ClientSession } from "../internal/client_session.ts";
import { auditRecords, formatSummary, roundSummary } from "../internal/load_report.ts";

interface Options {
  gateway: string;
  clients: number;
  records: number;
  rounds: number;
  window?: number;
  timeout: number;
  maxAttempts: number;
  size: number;
  idPrefix?: string;
  acksOut?: string;
  repeat?: boolean;
  json?: boolean;
}

const EMPTY = new Uint8Array(0);

await runRole<Options>({
  name: "audit_client",
  summary: "Load client: N DEALERs send audit records and report acks and ack latency",
  configure: (cmd) =>
    cmd
      .option(
        "--gateway <endpoint>",
        "gateway frontend to connect to",
        endpoint,
        "tcp://127.0.0.1:5551",
      )
      .option("--clients <n>", "DEALER sockets (concurrent clients)", int({ min: 1, max: 5000 }), 1)
      .option("--records <n>", "records per client per round", int({ min: 1 }), 10)
      .option("--rounds <n>", "rounds with fresh ids (0 = until stopped)", int({ min: 0 }), 1)
      .option("--window <n>", "records outstanding per client (default: all)", int({ min: 1 }))
      .option(
        "--timeout <ms>",
        "resend a record after this long without a reply",
        int({ min: 10 }),
        5000,
      )
      .option("--max-attempts <n>", "sends per record before giving up", int({ min: 1 }), 50)
      .option("--size <bytes>", "filler bytes in each record", int({ min: 0, max: 60_000 }), 0)
      .option("--id-prefix <text>", "prefix of record ids (default: random)")
      .option("--acks-out <file>", "write every ack as NDJSON {id, seq, hash, latency_ms}")
      .option("--repeat", "after all acks, resend every id once and check the ack is the same")
      .option("--json", "print each round's summary as one JSON line"),
  validate(options) {
    if (options.acksOut !== undefined) checkWritableFile("--acks-out", options.acksOut);
  },
  async run(options, ctx) {
    const prefix = options.idPrefix ?? crypto.randomUUID().slice(0, 8);
    const filler = "x".repeat(options.size);
    const sockets: Dealer[] = [];
    ctx.defer(() => sockets.forEach((s) => s.close()));
    // Fire-and-forget: a full queue (EAGAIN) drops the request, counted; the record's
    // timeout resends it (same id: idempotent).
    let sendFailures = 0;
    const sendFailed = (error: unknown) => {
      if (error instanceof ZmqError && error.code === "ENOTSOCK") return;
      sendFailures++;
      if (!(error instanceof ZmqError && error.code === "EAGAIN")) {
        ctx.log.limited("warn", "send_failed", { error: String(error) });
      }
    };
    let sessions: ClientSession[] = [];
    let wake = () => {};
    for (let c = 0; c < options.clients; c++) {
      const socket = new Dealer({ linger: 0 });
      socket.connect(options.gateway);
      sockets.push(socket);
      ctx.serve(socket, (frames) => {
        const session = sessions[c];
        session.onReply(frames[frames.length - 1]);
        if (session.done) wake();
      }, { name: `client-${c}` }).catch(() => {}); // a socket error is logged by serve
    }
    const allDone = () => sessions.every((s) => s.done);
    const waitAll = async () => {
      while (!allDone() && !ctx.signal.aborted) {
        await Promise.race([new Promise<void>((resolve) => wake = resolve), ctx.stopped]);
      }
    };
    ctx.every(5, () => {
      for (const s of sessions) s.tick();
      if (allDone()) wake();
    });
    let failedTotal = 0;
    if (options.acksOut) await Deno.writeTextFile(options.acksOut, "");

    for (let round = 1; options.rounds === 0 || round <= options.rounds; round++) {
      if (ctx.signal.aborted) break;
      const roundPrefix = options.rounds === 1 ? prefix : `${prefix}-${round}`;
      sessions = sockets.map((socket, c) =>
        new ClientSession(auditRecords(roundPrefix, c, options.records, filler), {
          window: options.window ?? options.records,
          timeoutMs: options.timeout,
          maxAttempts: options.maxAttempts,
        }, {
          send: (body) => void socket.send([EMPTY, body]).catch(sendFailed),
          clock: systemClock,
          bad: (reason) => ctx.badMessage(reason, { from: "gateway", client: c }),
        })
      );
      ctx.log.info("sending", { round, clients: options.clients, records: options.records });
      const started = systemClock.now();
      for (const session of sessions) session.start();
      await waitAll();
      const elapsedMs = systemClock.now() - started;
      if (options.repeat && !ctx.signal.aborted) {
        for (const session of sessions) session.repeatAcked();
        await waitAll();
      }
      const summary = roundSummary(round, sessions, options.records, elapsedMs);
      failedTotal += summary.failed;
      if (options.acksOut) {
        const lines: string[] = [];
        for (const s of sessions) {
          for (const a of s.acks.values()) {
            lines.push(
              JSON.stringify({ id: a.id, seq: a.seq, hash: a.hash, latency_ms: a.latencyMs }) +
                "\n",
            );
          }
        }
        await Deno.writeTextFile(options.acksOut, lines.join(""), { append: true });
      }
      ctx.log.info("summary", { ...summary, send_failures: sendFailures });
      ctx.print(options.json ? JSON.stringify(summary) : formatSummary(summary));
    }
    if (failedTotal > 0) {
      ctx.log.error("records_failed", { failed: failedTotal });
      ctx.exitCode = 1;
    }
  },
});

/**
 * `path` can be written as a file: its directory exists and it is not a directory itself.
 * Checked in `validate`, so a bad path is one line and exit 2 before any socket opens.
 */
function checkWritableFile(flag: string, path: string): void {
  const bad = (why: string): never => {
    throw new ConfigError(
      `option '${flag} <file>' argument ${JSON.stringify(path)} is invalid. expected a ` +
        `writable file, got ${why}`,
    );
  };
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    if (!Deno.statSync(dir).isDirectory) bad(`${JSON.stringify(dir)}, which is not a directory`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    bad(
      `a path whose directory ${JSON.stringify(dir)} ${
        error instanceof Deno.errors.NotFound
          ? "does not exist"
          : `cannot be read (${errorWords(error)})`
      }`,
    );
  }
  try {
    if (Deno.statSync(path).isDirectory) bad("a directory");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) bad(errorWords(error));
  }
  try {
    Deno.openSync(path, { write: true, create: true }).close();
  } catch (error) {
    bad(`a file that cannot be opened for writing (${errorWords(error)})`);
  }
}

function errorWords(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "this role may not write there";
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/ \(os error \d+\).*$/s, "").toLowerCase();
}
