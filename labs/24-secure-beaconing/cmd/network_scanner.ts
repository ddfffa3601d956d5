/**
 * network_scanner: listens for 36/ZRE beacons on the LAN and lists the devices live (UUID,
 * endpoint, first/last seen, trust state), then queries each trusted device for its status
 * with REQ over CURVE. Keys are pinned out of band (`--trust-dir`, one certificate per
 * device named `<UUID>.key`) or, with `--tofu`, learned on first use from the device's key
 * announcement and recorded in `--known-devices`; a changed key for a known UUID is refused
 * loudly, like SSH. Untrusted devices are listed but never contacted.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { delay, systemClock } from "@lib/async/mod.ts";
import { ConfigError, int, runRole, terminalFrame, writableFile } from "@lib/role/mod.ts";
import {
  HandshakeError,
  LazyPirateClient,
  NoReplyError,
  zmqReqFactory,
} from "@lib/patterns/lazy_pirate.ts";
import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
import { ZRE_DISCOVERY_PORT } from "@lib/patterns/zre_beacon.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import {
  CertError,
  directorySignature,
  fingerprint,
  loadCertDirectory,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import { type DeviceRow, DeviceTable, type ScanEvent } from "../internal/device_table.ts";
import { decodeReply, encodeStatusRequest, MAX_MESSAGE_BYTES } from "../internal/protocol.ts";
import { formatKnownDevices, parseKnownDevices, TrustBook } from "../internal/trust.ts";
import { LogBudget } from "../internal/log_budget.ts";
import { CoalescingWriter } from "../internal/coalescing_writer.ts";

interface Options {
  beaconPort: number;
  bindAddress: string;
  interval: number;
  expiry: number;
  trustDir?: string;
  tofu?: boolean;
  knownDevices?: string;
  secretKeyFile?: string;
  queryInterval: number;
  queryTimeout: number;
  reloadInterval: number;
  refresh: number;
  maxDevices: number;
  json?: boolean;
}

const UUID_NAME = /^[0-9A-Fa-f]{32}$/;

await runRole<Options>({
  name: "network_scanner",
  summary: "Lists devices found by UDP beacon with their trust state; queries trusted ones " +
    "over CURVE",
  configure: (cmd) =>
    cmd
      .option(
        "--beacon-port <port>",
        "UDP discovery port",
        int({ min: 1, max: 65535 }),
        ZRE_DISCOVERY_PORT,
      )
      .option("--bind-address <address>", "local address for the UDP socket", "0.0.0.0")
      .option("--interval <ms>", "the devices' beacon interval", int({ min: 10 }), 1000)
      .option(
        "--expiry <ms>",
        "a device silent this long expires (0: 5 intervals)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--trust-dir <dir>",
        "pinned device certificates, one public zcert per device named <UUID>.key",
      )
      .option("--tofu", "trust on first use: record the first key a device announces")
      .option(
        "--known-devices <file>",
        "where TOFU keys are kept (`UUID KEY tofu TIME` lines; read at start, rewritten " +
          "when a key is learned)",
      )
      .option(
        "--secret-key-file <path>",
        "the scanner's own certificate (mode 0600); default: a fresh key pair per run",
      )
      .option(
        "--query-interval <ms>",
        "time between status queries to each trusted device (0: never query)",
        int({ min: 0 }),
        2000,
      )
      .option("--query-timeout <ms>", "time to wait for a status reply", int({ min: 10 }), 2000)
      .option(
        "--reload-interval <ms>",
        "how often to look for trust directory changes",
        int({ min: 50 }),
        1000,
      )
      .option(
        "--refresh <ms>",
        "table refresh (snapshots when piped; 0: off)",
        int({ min: 0 }),
        1000,
      )
      .option("--max-devices <n>", "most devices tracked", int({ min: 1 }), 1024)
      .option("--json", "print events as JSON lines on stdout instead of the table"),
  validate(options) {
    if (options.trustDir) {
      const info = (() => {
        try {
          return Deno.statSync(options.trustDir);
        } catch {
          return undefined;
        }
      })();
      if (!info?.isDirectory) {
        throw new ConfigError(`--trust-dir: expected a directory, got ${options.trustDir}`);
      }
    }
    if (options.knownDevices && !options.tofu) {
      throw new ConfigError("--known-devices: only meaningful with --tofu");
    }
    if (options.knownDevices) {
      try {
        writableFile(options.knownDevices); // it is rewritten when a key is learned
      } catch (error) {
        throw new ConfigError(`--known-devices: ${(error as Error).message}`);
      }
      try {
        parseKnownDevices(Deno.readTextFileSync(options.knownDevices));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          throw new ConfigError(`--known-devices: ${(error as Error).message}`);
        }
      }
    }
    if (options.secretKeyFile) {
      try {
        readSecretCert(options.secretKeyFile);
      } catch (error) {
        if (error instanceof CertError) throw new ConfigError(error.message);
        throw error;
      }
    }
  },
  async run(options, ctx) {
    const log = ctx.log;
    const own = options.secretKeyFile ? readSecretCert(options.secretKeyFile) : curveKeyPair();
    const known = options.knownDevices
      ? await Deno.readTextFile(options.knownDevices).then(parseKnownDevices, () => new Map())
      : new Map();
    const trust = new TrustBook({ tofu: options.tofu === true, known });
    const table = new DeviceTable({
      clock: systemClock,
      trust,
      expiryMs: options.expiry || options.interval * 5,
      maxDevices: options.maxDevices,
    });
    // Monotonic ms -> wall clock, for first/last seen in JSON.
    const wallOffset = Date.now() - systemClock.now();
    const iso = (ms: number) => new Date(wallOffset + ms).toISOString();
    const print = (value: Record<string, unknown>) => {
      if (options.json) ctx.print(JSON.stringify(value));
    };
    const describe = (row: DeviceRow) => ({
      uuid: row.uuid,
      endpoint: row.endpoint,
      trust: row.trust,
      fingerprint: row.fingerprint,
      first_seen: iso(row.firstSeen),
      last_seen: iso(row.lastSeen),
    });

    // One write at a time, the latest records last: a flood of spoofed keys in TOFU mode
    // cannot queue thousands of copies of a growing file.
    const knownWriter = new CoalescingWriter({
      render: () => formatKnownDevices(trust.known()),
      write: async (text) => {
        const path = options.knownDevices!;
        await Deno.writeTextFile(`${path}.tmp`, text, { mode: 0o644 });
        await Deno.rename(`${path}.tmp`, path);
      },
      onError: (error) => log.limited("warn", "known_devices_not_saved", { error: String(error) }),
    });
    const saveKnown = () => {
      if (options.knownDevices) knownWriter.request();
    };

    const clients = new Map<string, { endpoint: string; key: string; client: LazyPirateClient }>();
    const dropClient = (uuid: string) => {
      clients.get(uuid)?.client.close();
      clients.delete(uuid);
    };
    ctx.defer(() => {
      for (const uuid of [...clients.keys()]) dropClient(uuid);
    });

    // Anyone on the LAN can make an untrusted device appear (one spoofed beacon): those
    // events are written one by one within a budget, then rate-limited (no log flood).
    const budget = new LogBudget({ clock: systemClock });
    const logDevice = (
      level: "info" | "warn",
      event: string,
      fields: Record<string, unknown>,
      row: DeviceRow,
    ) => {
      if (row.trust !== "untrusted" || budget.allow()) log[level](event, fields);
      else log.limited(level, event, fields, `untrusted:${event}`);
    };
    const handle = (events: ScanEvent[]) => {
      for (const event of events) {
        switch (event.type) {
          case "own":
            break;
          case "bad_datagram":
            ctx.badMessage(event.reason, { socket: "udp", address: event.address });
            break;
          case "table_full":
            log.limited("warn", "device_table_full", {
              max_devices: options.maxDevices,
              uuid: event.uuid,
              address: event.address,
            });
            break;
          case "device_seen":
          case "device_updated":
          case "device_left":
          case "device_expired": {
            const fields = {
              ...describe(event.row),
              ...(event.type === "device_updated" ? { previous: event.previous } : {}),
            };
            logDevice("info", event.type, fields, event.row);
            print({ type: event.type, ...fields });
            if (event.type !== "device_seen") dropClient(event.row.uuid);
            break;
          }
          case "trust": {
            const fields = { ...describe(event.row), learned: event.learned };
            logDevice("info", "device_trust", fields, event.row);
            print({ type: "device_trust", ...fields });
            if (event.learned) saveKnown();
            if (event.row.trust === "untrusted") {
              logDevice("warn", "channel_refused", {
                uuid: event.row.uuid,
                endpoint: event.row.endpoint,
                reason: trust.tofu ? "no pinned or announced key" : "no pinned key",
              }, event.row);
            }
            break;
          }
          case "key_changed": {
            const fields = {
              ...describe(event.row),
              expected: event.expected,
              announced: event.announced,
            };
            // Loudly, like SSH's "REMOTE HOST IDENTIFICATION HAS CHANGED".
            log.error("key_changed", {
              ...fields,
              action: "refused: the device's key differs from the one on record; if the " +
                "change is legitimate, update the trust directory or known-devices file",
            });
            print({ type: "key_changed", ...fields });
            dropClient(event.row.uuid);
            break;
          }
        }
      }
    };

    // Trust directory: <UUID>.key certificates, reloaded when the directory changes.
    let signature = "";
    const reload = async () => {
      if (!options.trustDir) return;
      const next = await directorySignature(options.trustDir);
      if (next === signature) return;
      signature = next;
      const loaded = await loadCertDirectory(options.trustDir);
      for (const problem of loaded.problems) log.warn("certificate_skipped", problem);
      const pinned = new Map<string, string>();
      for (const [key, name] of loaded.keys) {
        if (UUID_NAME.test(name)) pinned.set(name.toUpperCase(), key);
        else {
          log.warn("certificate_skipped", { file: `${name}.key`, reason: "name is not a UUID" });
        }
      }
      trust.setPinned(pinned);
      log.info("trust_dir_loaded", { dir: options.trustDir, devices: pinned.size });
      handle(table.reassess());
    };
    await reload();
    ctx.every(options.reloadInterval, () => {
      reload().catch((error) => log.limited("warn", "reload_failed", { error: String(error) }));
    });

    const beacon = await UdpBeacon.open({
      port: options.beaconPort,
      bindAddress: options.bindAddress,
      onError: (error) => log.limited("warn", "udp_error", { error: error.message }),
      onDatagram: (bytes, from) => handle(table.onDatagram(bytes, from.address)),
    });
    ctx.defer(() => beacon.close());
    log.info("scanning", {
      beacon_port: beacon.port,
      trust_dir: options.trustDir,
      tofu: trust.tofu,
      fingerprint: fingerprint(own.publicKey),
    });
    ctx.every(Math.max(50, Math.floor(options.interval / 2)), () => handle(table.expire()));

    // Status queries: REQ over CURVE with the pinned (or TOFU) key as the server key.
    const inFlight = new Set<string>();
    let seq = 0;
    const query = async (row: DeviceRow) => {
      let entry = clients.get(row.uuid);
      if (!entry || entry.endpoint !== row.endpoint || entry.key !== row.key) {
        dropClient(row.uuid);
        entry = {
          endpoint: row.endpoint,
          key: row.key!,
          client: new LazyPirateClient({
            connect: zmqReqFactory({
              endpoint: row.endpoint,
              socket: {
                curveServerKey: row.key!,
                curvePublicKey: own.publicKey,
                curveSecretKey: own.secretKey,
                maxMessageSize: MAX_MESSAGE_BYTES,
              },
            }),
            timeoutMs: options.queryTimeout,
            retries: 1,
            signal: ctx.signal,
          }),
        };
        clients.set(row.uuid, entry);
      }
      const at = systemClock.now();
      try {
        const reply = decodeReply(await entry.client.request([encodeStatusRequest(++seq)]));
        if (reply.kind === "error") throw new Error(`refused: ${reply.reason}`);
        if (reply.uuid !== row.uuid) throw new Error(`answered as ${reply.uuid}`);
        table.recordQuery(row.uuid, row.endpoint, {
          ok: true,
          at,
          name: reply.name,
          uptimeMs: reply.uptime_ms,
          readings: reply.readings,
        });
        const fields = {
          uuid: row.uuid,
          endpoint: row.endpoint,
          trust: row.trust,
          name: reply.name,
          uptime_ms: reply.uptime_ms,
          requests: reply.requests,
          readings: reply.readings,
        };
        log.limited("info", "device_status", fields, `device_status:${row.uuid}`);
        // The note is confidential: only its digest is shown, never the text.
        print({
          type: "device_status",
          ...fields,
          note_sha256: createHash("sha256").update(reply.note).digest("hex").slice(0, 16),
        });
      } catch (error) {
        if (ctx.signal.aborted) return;
        const reason = error instanceof HandshakeError
          ? `handshake failed (${error.failure}${error.code ? ` ${error.code}` : ""})`
          : error instanceof NoReplyError
          ? `no reply in ${options.queryTimeout} ms`
          : (error as Error).message;
        table.recordQuery(row.uuid, row.endpoint, { ok: false, at, error: reason });
        log.limited("warn", "query_failed", {
          uuid: row.uuid,
          endpoint: row.endpoint,
          trust: row.trust,
          reason,
        }, `query_failed:${row.uuid}:${reason}`);
        print({ type: "query_failed", uuid: row.uuid, endpoint: row.endpoint, reason });
        dropClient(row.uuid); // a fresh socket (and handshake) next time
      }
    };
    if (options.queryInterval > 0) {
      ctx.every(options.queryInterval, () => {
        for (const row of table.queryable()) {
          if (inFlight.has(row.uuid)) continue;
          inFlight.add(row.uuid);
          query(row).finally(() => inFlight.delete(row.uuid));
        }
      });
    }

    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    if (options.refresh > 0 && !options.json) {
      ctx.every(options.refresh, () => {
        const frame = terminalFrame(table.render(), {
          mode: tty ? "ansi" : "plain",
          previousLines: drawn,
          rows: tty ? Deno.consoleSize().rows : undefined,
        });
        drawn = frame.lines;
        ctx.print(frame.text);
      });
    }

    await ctx.stopped;
    await ctx.drain(async (signal) => {
      while (inFlight.size > 0 && !signal.aborted) await delay(20, { signal });
      await knownWriter.flush();
    }, { what: "queries" });
    log.info("summary", { devices: table.rows().length, ...beacon.stats() });
  },
});
