/**
 * secure_client: subscribes to the secure_server's reading stream over CURVE. It is the
 * CURVE client: it pins the server's public key (`--server-key-file`, a zcert NAME.key)
 * and proves its own (`--cert`, NAME.key_secret, mode 0600). The link's state machine
 * (`internal/link.ts`) turns the socket's monitor events into a reason: a wrong server
 * key, a refused (unknown or revoked) client key or a server that is down ends, after
 * `--give-up` ms without a secure link, in one `gave_up` line and exit 1, never a hang.
 *
 * @module
 */
import { ConfigError, endpoint, int, list, oneOf, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Subscriber } from "@lib/zmq/mod.ts";
import { Backoff, systemClock } from "@lib/async/mod.ts";
import { SequenceTracker } from "@lib/patterns/sequence_tracker.ts";
import {
  CertError,
  certPaths,
  fingerprint,
  generateCert,
  readPublicCert,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import {
  decodeReading,
  MAX_MESSAGE_BYTES,
  type Reading,
  TOPIC_PREFIX,
} from "../internal/protocol.ts";
import { Link, type LinkAction } from "../internal/link.ts";
import { renderView } from "../internal/view.ts";

interface Options {
  connect?: string;
  bind?: string;
  serverKeyFile: string;
  serverKeyWait: number;
  cert: string;
  generateMissing?: boolean;
  sensors: string[];
  giveUp: number;
  count: number;
  redialInterval: number;
  redialMax: number;
  statsInterval: number;
  json?: boolean;
  view: "auto" | "ansi" | "plain" | "none";
  refresh: number;
}

await runRole<Options>({
  name: "secure_client",
  summary: "CURVE client (SUB) pinning the server key: receives the reading stream",
  configure: (cmd) =>
    cmd
      .option(
        "--connect <endpoint>",
        "secure_server to dial (default tcp://127.0.0.1:5519 unless --bind)",
        endpoint,
      )
      .option("--bind <endpoint>", "bind and let a secure_server --connect to us instead", endpoint)
      .option(
        "--server-key-file <path>",
        "the server's public certificate (zcert NAME.key): the only server trusted",
      )
      .option(
        "--server-key-wait <ms>",
        "wait this long for --server-key-file to appear (0: it must exist)",
        int({ min: 0 }),
        0,
      )
      .option("--cert <path>", "this client's secret certificate NAME.key_secret (mode 0600)")
      .option("--generate-missing", "create --cert when missing (demo)")
      .option("--sensors <list>", "sensors to subscribe to (default: all)", list, [])
      .option(
        "--give-up <ms>",
        "exit 1 after this long without a secure link, saying why (0: never)",
        int({ min: 0 }),
        15_000,
      )
      .option(
        "--count <n>",
        "exit 0 after this many readings (0: run until stopped)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--redial-interval <ms>",
        "first wait before dialling again after a refused handshake",
        int({ min: 10 }),
        500,
      )
      .option("--redial-max <ms>", "longest wait between redials", int({ min: 10 }), 10_000)
      .option(
        "--stats-interval <ms>",
        "log stream_stats this often (0: never)",
        int({ min: 0 }),
        5000,
      )
      .option("--json", "print each reading as a JSON line on stdout (no view)")
      .option(
        "--view <mode>",
        "live view: auto|ansi|plain|none",
        oneOf("auto", "ansi", "plain", "none"),
        "auto",
      )
      .option("--refresh <ms>", "view refresh interval", int({ min: 50 }), 1000),
  validate(options) {
    if (options.bind && options.connect) {
      throw new ConfigError("--bind and --connect: expected one of them, got both");
    }
    if (!options.cert) throw new ConfigError("--cert: expected a path, got none");
    if (!options.serverKeyFile) {
      throw new ConfigError("--server-key-file: expected a path, got none");
    }
    try {
      certPaths(options.cert);
    } catch (error) {
      throw new ConfigError(`--cert: ${(error as Error).message}`);
    }
    if (!options.generateMissing) {
      try {
        readSecretCert(options.cert);
      } catch (error) {
        if (error instanceof CertError) throw new ConfigError(`--cert: ${error.message}`);
        throw error;
      }
    }
  },
  async run(options, ctx) {
    const log = ctx.log;
    if (options.generateMissing && !(await Deno.stat(options.cert).catch(() => undefined))) {
      const publicKey = await generateCert(options.cert, { metadata: { role: "secure_client" } });
      log.info("certificate_created", {
        file: certPaths(options.cert).publicPath,
        fingerprint: fingerprint(publicKey),
      });
    }
    const own = readSecretCert(options.cert);
    let serverKey: string | undefined;
    const waitUntil = Date.now() + options.serverKeyWait;
    while (serverKey === undefined) {
      try {
        serverKey = await readPublicCert(options.serverKeyFile);
      } catch (error) {
        if (Date.now() >= waitUntil || ctx.signal.aborted) {
          throw new ConfigError(`--server-key-file: ${(error as Error).message}`);
        }
        await ctx.sleep(100);
      }
    }
    const serverFp = fingerprint(serverKey);
    const sub = new Subscriber({
      // The CURVE client: the server's public key, and our own pair.
      curveServerKey: serverKey,
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
      maxMessageSize: MAX_MESSAGE_BYTES,
      receiveHighWaterMark: 10_000,
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
    });
    ctx.defer(() => sub.close());
    if (options.sensors.length === 0) sub.subscribe(TOPIC_PREFIX);
    else sub.subscribe(...options.sensors.map((s) => `${TOPIC_PREFIX}${s}`));

    const link = new Link(systemClock, options.giveUp);
    const redial = new Backoff({ initialMs: options.redialInterval, maxMs: options.redialMax });
    let redialPending = false;
    const target = options.bind ?? options.connect ?? "tcp://127.0.0.1:5519";
    const act = (action: LinkAction | undefined, fields: Record<string, unknown>) => {
      switch (action) {
        case "log_secure":
          redial.reset();
          log.info("connected", { server_fingerprint: serverFp, ...fields });
          break;
        case "log_failed":
          log.limited("warn", "handshake_failed", { reason: link.reason, ...fields });
          break;
        case "redial":
          // libzmq stops reconnecting after a ZAP refusal: dial again after a capped,
          // jittered backoff, so a key enrolled later gets in.
          log.limited("warn", "handshake_denied", { reason: link.reason, ...fields });
          if (options.bind || redialPending || ctx.signal.aborted) break;
          redialPending = true;
          void ctx.sleep(redial.next()).then(() => {
            redialPending = false;
            if (ctx.signal.aborted || sub.closed) return;
            try {
              sub.disconnect(target);
            } catch {
              // already dropped by libzmq
            }
            sub.connect(target);
          });
          break;
        case "give_up":
          log.error("gave_up", { reason: link.reason, give_up_ms: options.giveUp, server: target });
          ctx.exitCode = 1;
          sub.close();
          break;
      }
    };
    void (async () => {
      for await (const event of sub.events) {
        if (event.type === "handshake") act(link.on("handshake_ok"), { server: target });
        else if (event.type === "handshake:error:auth") {
          act(link.on("auth_denied"), { status: event.status, server: target });
        } else if (
          event.type === "handshake:error:protocol" || event.type === "handshake:error:other"
        ) {
          act(link.on("crypto_failed"), { code: event.error.code, server: target });
        } else if (event.type === "disconnect") {
          link.on("disconnected");
          log.limited("info", "disconnected", { server: target });
        }
      }
    })().catch(() => {});
    ctx.every(250, () => act(link.check(), {}));

    if (options.bind) {
      await sub.bind(options.bind);
      ctx.listening(sub, { fingerprint: fingerprint(own.publicKey), server_fingerprint: serverFp });
    } else {
      sub.connect(target);
    }
    log.info("client_ready", {
      server: target,
      fingerprint: fingerprint(own.publicKey),
      server_fingerprint: serverFp,
    });

    const sequence = new SequenceTracker<string>({ countGaps: options.sensors.length === 0 });
    const latest = new Map<string, Reading>();
    let received = 0;
    let bad = 0;
    /** A rate meter: readings per second since its previous call. */
    const meter = () => {
      let last = { at: performance.now(), received: 0 };
      return () => {
        const now = performance.now();
        const rate = Math.round(
          (received - last.received) / Math.max(0.001, (now - last.at) / 1000),
        );
        last = { at: now, received };
        return rate;
      };
    };
    const statsRate = meter();
    const viewRate = meter();
    if (options.statsInterval > 0) {
      ctx.every(options.statsInterval, () => {
        const t = sequence.totals();
        log.info("stream_stats", {
          received,
          rate: statsRate(),
          gaps: t.gaps,
          missing: t.missing,
          restarts: t.restarts,
          link: link.state,
        });
      });
    }
    const viewMode = options.json || options.view === "none"
      ? "none"
      : options.view === "auto"
      ? (Deno.stdout.isTerminal() ? "ansi" : "plain")
      : options.view;
    let drawn = 0;
    let rate = 0;
    const draw = () => {
      const t = sequence.totals();
      const lines = renderView({
        link: link.state,
        serverFingerprint: serverFp,
        ownFingerprint: fingerprint(own.publicKey),
        received,
        rate,
        gaps: t.gaps,
        restarts: t.restarts,
        badMessages: bad,
        latest,
      });
      const frame = terminalFrame(lines, {
        mode: viewMode as "ansi" | "plain",
        previousLines: drawn,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    };
    if (viewMode !== "none") {
      ctx.every(options.refresh, () => {
        rate = viewRate();
        draw();
      });
    }

    await ctx.serve(sub, (frames) => {
      let reading: Reading;
      try {
        reading = decodeReading(frames);
      } catch (error) {
        bad++;
        throw error;
      }
      received++;
      const verdict = sequence.observe("server", reading.boot, reading.seq);
      if (received === 1) {
        log.info("stream_started", {
          seq: reading.seq,
          sensor: reading.sensor,
          label: reading.label,
        });
      }
      if (verdict.kind === "restart") log.info("server_restarted", { boot: reading.boot });
      if (latest.size < 1000 || latest.has(reading.sensor)) latest.set(reading.sensor, reading);
      if (options.json) ctx.print(JSON.stringify(reading));
      if (options.count > 0 && received >= options.count) {
        log.info("count_reached", { received });
        sub.close();
      }
    }, { name: "stream" });
    const t = sequence.totals();
    log.info("summary", { received, gaps: t.gaps, missing: t.missing, bad_messages: bad });
  },
});
