/**
 * secure_device: an industrial device of Lab 24. It announces itself on the LAN with 36/ZRE
 * UDP beacons (UUID + the port of its service, every interval with jitter; port 0 when it
 * leaves), plus a key announcement datagram carrying its CURVE public key (public data
 * only), and serves its status on a REP socket over CURVE: nothing after discovery is in
 * plaintext. It also listens to the other devices' beacons (its own and malformed ones are
 * discarded) and logs peers seen, leaving and expiring.
 *
 * @module
 */

import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { ConfigError, endpoint, float, int, runRole } from "@lib/role/mod.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
import {
  BeaconPeers,
  encodeBeacon,
  newUuid,
  uuidFromHex,
  uuidToHex,
  ZRE_DISCOVERY_PORT,
} from "@lib/patterns/zre_beacon.ts";
import {
  allowListAuthorizer,
  logHandshakeFailures,
  logZapDecisions,
  Reply,
  ZapHandler,
} from "@lib/zmq/mod.ts";
import {
  CertError,
  certPaths,
  directorySignature,
  fingerprint,
  formatCert,
  generateCert,
  loadCertDirectory,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import {
  classifyDatagram,
  decodeStatusRequest,
  encodeKeyAnnouncement,
  encodeRefusal,
  encodeStatusReply,
  MAX_MESSAGE_BYTES,
} from "../internal/protocol.ts";
import { LogBudget } from "../internal/log_budget.ts";
import { Sensor } from "../internal/sensor.ts";

interface Options {
  secretKeyFile?: string;
  generateMissing?: boolean;
  publishDir?: string;
  allowDir?: string;
  uuid?: string;
  name?: string;
  bind: string;
  beaconPort: number;
  broadcast: string;
  interval: number;
  jitter: number;
  expiry: number;
  announceKey: boolean;
  secretNote: string;
}

/** A dotted-quad IPv4 address (four decimal octets 0..255). */
function isIpv4(value: string): boolean {
  const parts = value.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function uuidOption(value: string): string {
  try {
    return uuidToHex(uuidFromHex(value));
  } catch {
    throw new ConfigError(`--uuid: expected 32 hex digits, got ${JSON.stringify(value)}`);
  }
}

await runRole<Options>({
  name: "secure_device",
  summary: "Beacons its UUID and port over UDP (36/ZRE); serves its status on REP over CURVE",
  configure: (cmd) =>
    cmd
      .option(
        "--secret-key-file <path>",
        "the device's secret certificate (zcert NAME.key_secret, mode 0600); its metadata " +
          "`uuid` is the device's UUID",
      )
      .option(
        "--generate-missing",
        "create the certificate pair (with a fresh UUID) when missing",
      )
      .option(
        "--publish-dir <dir>",
        "copy the public certificate to DIR/<UUID>.key at start (provisioning a scanner's " +
          "trust directory out of band; demo and tests)",
      )
      .option(
        "--allow-dir <dir>",
        "admit only scanners whose public certificate (*.key) is in DIR (ZAP, reloaded when " +
          "it changes); default: any CURVE client",
      )
      .option("--uuid <hex>", "override the UUID (32 hex digits)", uuidOption)
      .option("--name <name>", "device name reported in its status (default: certificate name)")
      .option(
        "--bind <endpoint>",
        "REP endpoint (CURVE server); its port goes into the beacon",
        endpoint,
        "tcp://0.0.0.0:*",
      )
      .option(
        "--beacon-port <port>",
        "UDP discovery port",
        int({ min: 1, max: 65535 }),
        ZRE_DISCOVERY_PORT,
      )
      .option("--broadcast <address>", "where beacons go", "255.255.255.255")
      .option("--interval <ms>", "mean time between beacons", int({ min: 10 }), 1000)
      .option("--jitter <fraction>", "spread of each interval, ±", float({ min: 0, max: 0.9 }), 0.2)
      .option(
        "--expiry <ms>",
        "a peer device silent this long expires (0: 5 intervals)",
        int({ min: 0 }),
        0,
      )
      .option("--no-announce-key", "do not send the key announcement datagram")
      .option(
        "--secret-note <text>",
        "a confidential note returned in the status (over CURVE only; never logged); " +
          "prefer the env SECURE_DEVICE_SECRET_NOTE to keep it out of `ps`",
        "",
      ),
  validate(options) {
    if (!options.secretKeyFile) {
      throw new ConfigError("--secret-key-file: expected a path, got none");
    }
    try {
      certPaths(options.secretKeyFile);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    const exists = (() => {
      try {
        Deno.lstatSync(options.secretKeyFile);
        return true;
      } catch {
        return false;
      }
    })();
    if (exists || !options.generateMissing) {
      try {
        readSecretCert(options.secretKeyFile);
      } catch (error) {
        if (error instanceof CertError) throw new ConfigError(error.message);
        throw error;
      }
    }
    if (options.allowDir) {
      const info = (() => {
        try {
          return Deno.statSync(options.allowDir);
        } catch {
          return undefined;
        }
      })();
      if (!info?.isDirectory) {
        throw new ConfigError(`--allow-dir: expected a directory, got ${options.allowDir}`);
      }
    }
    if (!isIpv4(options.broadcast)) {
      throw new ConfigError(`--broadcast: expected an IPv4 address, got ${options.broadcast}`);
    }
  },
  async run(options, ctx) {
    const log = ctx.log;
    const secretPath = options.secretKeyFile!;
    if (options.generateMissing && !(await Deno.lstat(secretPath).catch(() => undefined))) {
      const uuid = options.uuid ?? uuidToHex(newUuid());
      const publicKey = await generateCert(secretPath, {
        metadata: { ...(options.name ? { name: options.name } : {}), uuid },
      });
      log.info("certificate_created", {
        path: certPaths(secretPath).publicPath,
        fingerprint: fingerprint(publicKey),
        uuid,
      });
    }
    const cert = readSecretCert(secretPath);
    let uuidHex = options.uuid ?? cert.metadata.uuid;
    if (uuidHex !== undefined) {
      try {
        uuidHex = uuidToHex(uuidFromHex(uuidHex));
      } catch {
        throw new ConfigError(`${secretPath}: metadata uuid is not 32 hex digits`);
      }
    } else {
      uuidHex = uuidToHex(newUuid());
      log.warn("uuid_ephemeral", {
        reason: "no --uuid and no `uuid` in the certificate metadata: a scanner cannot pin " +
          "this device across restarts",
      });
    }
    const uuid = uuidFromHex(uuidHex);
    const name = options.name ?? cert.metadata.name ?? "device";
    if (options.publishDir) {
      await Deno.mkdir(options.publishDir, { recursive: true });
      const target = `${options.publishDir}/${uuidHex}.key`;
      await Deno.writeTextFile(
        `${target}.tmp`,
        formatCert({ name, publicKey: cert.publicKey, metadata: { uuid: uuidHex } }),
        { mode: 0o644 },
      );
      await Deno.rename(`${target}.tmp`, target);
      log.info("certificate_published", { path: target, fingerprint: fingerprint(cert.publicKey) });
    }

    // Optional mutual authentication: ZAP (RFC 27) admits only scanners in --allow-dir.
    if (options.allowDir) {
      const allowDir = options.allowDir;
      let authorize = allowListAuthorizer([]);
      let signature = "";
      const reload = async () => {
        const next = await directorySignature(allowDir);
        if (next === signature) return;
        signature = next;
        const loaded = await loadCertDirectory(allowDir);
        for (const problem of loaded.problems) log.warn("certificate_skipped", problem);
        authorize = allowListAuthorizer(loaded.keys.keys());
        log.info("allow_list_loaded", {
          dir: allowDir,
          keys: loaded.keys.size,
          fingerprints: [...loaded.keys.keys()].map(fingerprint),
        });
      };
      await reload();
      ctx.every(1000, () => {
        reload().catch((error) => log.limited("warn", "reload_failed", { error: String(error) }));
      });
      const zap = new ZapHandler((request) => authorize(request));
      logZapDecisions(zap, log);
      zap.onBadRequest = (reason) => ctx.badMessage(reason, { socket: "zap" });
      await zap.start();
      ctx.defer(() => zap.close());
    }

    // The service: REP over CURVE. Only the device's secret key opens it.
    const rep = new Reply({
      ...(options.allowDir ? { zapDomain: "lab24" } : {}),
      linger: 0,
      curveServer: true,
      curveSecretKey: cert.secretKey,
      curvePublicKey: cert.publicKey,
      maxMessageSize: MAX_MESSAGE_BYTES,
    });
    ctx.defer(() => rep.close());
    logHandshakeFailures(rep, log);
    await rep.bind(options.bind);
    const bound = rep.lastEndpoint!;
    const port = Number(bound.slice(bound.lastIndexOf(":") + 1));
    ctx.listening(rep, { uuid: uuidHex, fingerprint: fingerprint(cert.publicKey), port });

    // Discovery: beacon and listen on the UDP port.
    const peers = new BeaconPeers({
      clock: systemClock,
      expiryMs: options.expiry || options.interval * 5,
      ownUuid: uuid,
      maxPeers: 1024,
    });
    let ownHeard = 0;
    // Peers are unauthenticated claims (one spoofed datagram each): their events are written
    // one by one within a budget, then rate-limited, so a flood cannot flood the log.
    const budget = new LogBudget({ clock: systemClock });
    const beacon = await UdpBeacon.open({
      port: options.beaconPort,
      broadcastAddress: options.broadcast,
      intervalMs: options.interval,
      jitter: options.jitter,
      onError: (error) => log.limited("warn", "udp_error", { error: error.message }),
      onDatagram: (bytes, from) => {
        const datagram = classifyDatagram(bytes);
        if (datagram.kind === "bad") {
          ctx.badMessage(datagram.reason, { socket: "udp", address: from.address });
          return;
        }
        if (datagram.kind === "key") return; // a scanner's business
        const event = peers.observe(datagram.beacon, from.address);
        if (event.type === "ignored") {
          if (event.reason === "own") ownHeard++;
          if (event.reason === "table_full") {
            log.limited("warn", "peer_table_full", { uuid: event.uuid, address: from.address });
          }
        } else if (event.type !== "refreshed") {
          const fields = { uuid: event.peer.uuid, endpoint: event.peer.endpoint };
          if (budget.allow()) log.info(`peer_${event.type}`, fields);
          else log.limited("info", `peer_${event.type}`, fields);
        }
      },
    });
    ctx.defer(() => beacon.close());
    const payloads = [encodeBeacon({ uuid, port })];
    if (options.announceKey) {
      payloads.push(encodeKeyAnnouncement({ uuid, publicKey: cert.publicKey }));
    }
    beacon.publish(payloads);
    log.info("beaconing", {
      uuid: uuidHex,
      port,
      beacon_port: beacon.port,
      broadcast: options.broadcast,
      interval_ms: options.interval,
      announce_key: options.announceKey,
    });
    ctx.every(options.interval, () => {
      for (const event of peers.expire()) {
        if (event.type === "expired") {
          const fields = { uuid: event.peer.uuid, endpoint: event.peer.endpoint };
          if (budget.allow()) log.info("peer_expired", fields);
          else log.limited("info", "peer_expired", fields);
        }
      }
    });

    const sensor = new Sensor(seededRandom(uuid[0] << 24 | uuid[1] << 16 | uuid[2] << 8 | uuid[3]));
    const started = systemClock.now();
    let requests = 0;
    await ctx.serve(rep, async (frames) => {
      let seq: number;
      try {
        seq = decodeStatusRequest(frames).seq;
      } catch (error) {
        // A REP socket must answer every request before it can take the next one.
        if (error instanceof BadMessageError) await rep.send(encodeRefusal(error.reason));
        throw error; // serve() logs it as bad_message and goes on
      }
      requests++;
      await rep.send(encodeStatusReply({
        seq,
        uuid: uuidHex,
        name,
        uptime_ms: Math.round(systemClock.now() - started),
        requests,
        readings: sensor.read(),
        note: options.secretNote,
      }));
    }, { name: "rep" });

    // Leaving: stop beaconing and say so (port 0), twice in case one datagram is lost.
    beacon.silence();
    const farewell = encodeBeacon({ uuid, port: 0 });
    await beacon.send(farewell);
    await beacon.send(farewell);
    log.info("farewell_sent", { uuid: uuidHex, ...beacon.stats(), own_heard: ownHeard, requests });
    await beacon.close();
  },
});
