/**
 * secure_server: Lab 19's streaming service over native CurveZMQ. A PUB socket that is the
 * CURVE server (`ZMQ_CURVE_SERVER` = 1 with its secret key from `--cert`) publishes sensor
 * readings; a ZAP handler (RFC 27) admits only subscribers whose public key is in the
 * `--clients` certificate directory (Ironhouse), reloading it when it changes. A key
 * removed from the directory is revoked: the socket is closed and bound again, so every
 * subscriber goes through ZAP once more and the revoked one is refused (400).
 *
 * @module
 */
import { ConfigError, endpoint, float, int, runRole } from "@lib/role/mod.ts";
import { logHandshakeFailures, logZapDecisions, Publisher, ZapHandler } from "@lib/zmq/mod.ts";
import {
  CertError,
  certPaths,
  directorySignature,
  fingerprint,
  generateCert,
  loadCertDirectory,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import { encodeReading, MAX_MESSAGE_BYTES } from "../internal/protocol.ts";
import { TrustList } from "../internal/trust.ts";
import { ScanPacer } from "@lib/patterns/mod.ts";
import { Sensors } from "../internal/sensors.ts";

/** ZAP domain of the stream socket. */
const ZAP_DOMAIN = "lab19";
/** At most this many `certificate_skipped` lines per reload (then one count). */
const MAX_SKIPPED_LOGGED = 10;

interface Options {
  bind?: string;
  connect?: string;
  cert: string;
  clients: string;
  generateMissing?: boolean;
  reloadInterval: number;
  rate: number;
  sensors: number;
  label: string;
  statsInterval: number;
}

await runRole<Options>({
  name: "secure_server",
  summary: "CURVE server (PUB): streams sensor readings to subscribers in a client cert directory",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "PUB endpoint to bind (default tcp://127.0.0.1:5519 unless --connect)",
        endpoint,
      )
      .option(
        "--connect <endpoint>",
        "dial a binding secure_client instead (still the CURVE server: ZMQ_CURVE_SERVER is " +
          "about the handshake, not about who binds)",
        endpoint,
      )
      .option(
        "--cert <path>",
        "this server's secret certificate NAME.key_secret (mode 0600); clients pin NAME.key",
      )
      .option(
        "--clients <dir>",
        "directory of client public certificates (*.key): the only subscribers admitted",
      )
      .option("--generate-missing", "create --cert and --clients when missing (demo)")
      .option(
        "--reload-interval <ms>",
        "how often to look for --clients changes",
        int({ min: 50 }),
        1000,
      )
      .option(
        "--rate <per-s>",
        "readings per second (0: as fast as possible)",
        float({ min: 0 }),
        10,
      )
      .option("--sensors <n>", "number of simulated sensors", int({ min: 1, max: 1000 }), 3)
      .option("--label <text>", "label carried in every reading", "lab19")
      .option(
        "--stats-interval <ms>",
        "log stream_stats this often (0: never)",
        int({ min: 0 }),
        5000,
      ),
  validate(options) {
    if (options.bind && options.connect) {
      throw new ConfigError("--bind and --connect: expected one of them, got both");
    }
    if (!options.cert) throw new ConfigError("--cert: expected a path, got none");
    if (!options.clients) throw new ConfigError("--clients: expected a directory, got none");
    // Every reading carries the label: a huge one would exceed the clients' message limit.
    // deno-lint-ignore no-control-regex
    if (options.label.length > 256 || /[\x00-\x1f\x7f]/.test(options.label)) {
      throw new ConfigError(
        `--label: expected at most 256 characters without control characters, got ${options.label.length}`,
      );
    }
    const clientsInfo = (() => {
      try {
        return Deno.statSync(options.clients);
      } catch {
        return undefined;
      }
    })();
    if (clientsInfo && !clientsInfo.isDirectory) {
      throw new ConfigError(`--clients: expected a directory, got ${options.clients}`);
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
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.statSync(options.clients);
      } catch {
        // reported below
      }
      if (!info?.isDirectory) {
        throw new ConfigError(`--clients: expected a directory, got ${options.clients}`);
      }
    }
  },
  async run(options, ctx) {
    const log = ctx.log;
    if (options.generateMissing) {
      await Deno.mkdir(options.clients, { recursive: true, mode: 0o755 });
      if (!(await Deno.stat(options.cert).catch(() => undefined))) {
        const publicKey = await generateCert(options.cert, { metadata: { role: "secure_server" } });
        log.info("certificate_created", {
          file: certPaths(options.cert).publicPath,
          fingerprint: fingerprint(publicKey),
        });
      }
    }
    const own = readSecretCert(options.cert);

    // Ironhouse: libzmq asks the ZAP handler about every handshake of a socket that has a
    // zapDomain; without a handler a CURVE server would admit any client key.
    const trust = new TrustList();
    const zap = new ZapHandler((request) => trust.decide(request));
    logZapDecisions(zap, log, {
      allowed: { field: "client", name: (key) => trust.name(key) },
    });
    zap.onBadRequest = (reason) => ctx.badMessage(reason, { socket: "zap" });
    await zap.start();
    ctx.defer(() => zap.close());

    let pub: Publisher | undefined;
    let bound: string | undefined;
    let signature = "";
    const open = async (again: boolean) => {
      const socket = new Publisher({
        linger: 0,
        curveServer: true,
        curveSecretKey: own.secretKey,
        zapDomain: ZAP_DOMAIN,
        sendHighWaterMark: 10_000,
        // Subscribers send only (un)subscriptions: nothing near this size is legitimate.
        maxMessageSize: MAX_MESSAGE_BYTES,
      });
      watch(socket);
      if (options.connect) {
        socket.connect(options.connect);
        if (!again) {
          ctx.listening(options.connect, {
            fingerprint: fingerprint(own.publicKey),
            dialing: true,
          });
        }
      } else {
        const target = again ? bound! : options.bind ?? "tcp://127.0.0.1:5519";
        for (let attempt = 0;; attempt++) {
          try {
            await socket.bind(target);
            break;
          } catch (error) {
            // The old socket's port is released by libzmq's I/O thread: retry briefly.
            if (!again || attempt >= 50 || ctx.signal.aborted) throw error;
            await ctx.sleep(20);
          }
        }
        bound = socket.lastEndpoint!;
        if (!again) {
          ctx.listening(socket, {
            fingerprint: fingerprint(own.publicKey),
            clients: trust.size,
          });
        }
      }
      pub = socket;
    };
    const watch = (socket: Publisher) =>
      logHandshakeFailures(socket, log, { onHandshake: () => counts.handshakes++ });
    const counts = { sent: 0, dropped: 0, handshakes: 0, revoked: 0 };

    const reload = async () => {
      const next = await directorySignature(options.clients);
      if (next === signature) return;
      signature = next;
      const loaded = await loadCertDirectory(options.clients);
      // A directory of junk must not flood the log: the first few files, then a count.
      for (const problem of loaded.problems.slice(0, MAX_SKIPPED_LOGGED)) {
        log.warn("certificate_skipped", problem);
      }
      if (loaded.problems.length > MAX_SKIPPED_LOGGED) {
        log.warn("certificates_skipped", {
          count: loaded.problems.length,
          logged: MAX_SKIPPED_LOGGED,
        });
      }
      const change = trust.apply(loaded.keys);
      log.info("allow_list_loaded", {
        dir: options.clients,
        keys: trust.size,
        added: change.added.map(fingerprint),
        removed: change.removed.map(fingerprint),
      });
      if (change.removed.length > 0 && pub) {
        counts.revoked += change.removed.length;
        for (const key of change.removed) {
          log.warn("key_revoked", { fingerprint: fingerprint(key) });
        }
        // libzmq cannot close one peer of a PUB: close the socket and bind a fresh one on
        // the same endpoint. Every subscriber reconnects through ZAP; the revoked get 400.
        pub.close({ linger: 0 });
        await open(true);
        log.info("socket_recycled", { endpoint: bound ?? options.connect });
      }
    };
    await reload();
    await open(false);
    let reloading = false;
    // A huge directory is polled less often (a scan stats every certificate).
    const pacer = new ScanPacer();
    ctx.every(options.reloadInterval, () => {
      if (reloading || !pacer.due(performance.now())) return;
      reloading = true;
      const startedAt = performance.now();
      reload().catch((error) => log.limited("warn", "reload_failed", { error: String(error) }))
        .finally(() => {
          reloading = false;
          pacer.done(startedAt, performance.now());
        });
    });

    const sensors = new Sensors(options.sensors, options.label);
    let lastStats = { at: performance.now(), sent: 0 };
    if (options.statsInterval > 0) {
      ctx.every(options.statsInterval, () => {
        const now = performance.now();
        log.info("stream_stats", {
          ...counts,
          rate: Math.round((counts.sent - lastStats.sent) / ((now - lastStats.at) / 1000)),
          clients: trust.size,
        });
        lastStats = { at: now, sent: counts.sent };
      });
    }
    const periodMs = options.rate > 0 ? 1000 / options.rate : 0;
    let due = performance.now();
    while (!ctx.signal.aborted) {
      const socket = pub!;
      const frames = encodeReading(sensors.next(Date.now()));
      // While a revocation recycles the socket, readings are dropped (PUB semantics).
      if (socket.closed || !socket.sendSync(frames)) counts.dropped++;
      else counts.sent++;
      if (periodMs > 0) {
        due += periodMs;
        const wait = due - performance.now();
        if (wait > 0) await ctx.sleep(wait);
        else if (wait < -1000) due = performance.now(); // far behind: do not burst
      } else if (counts.sent % 256 === 0) {
        await ctx.sleep(0);
      }
    }
    pub?.close();
    log.info("served", counts);
  },
});
