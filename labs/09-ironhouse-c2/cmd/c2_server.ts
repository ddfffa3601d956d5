/**
 * c2_server: the operator's side of Lab 09's Ironhouse command channel. It binds a ROUTER
 * as the CURVE server; its ZAP handler admits only agents whose public certificate is in
 * `--allow-dir` (reloaded when the directory changes). It sends each live agent the
 * scheduled commands in turn, numbered, and writes every command and result to the audit
 * log with the agent key's fingerprint. Every message's ROUTER routing id must equal the
 * ZAP User-Id libzmq attached to it (the key the sender authenticated with), so one
 * agent cannot speak for another. With `--rotate-every`, agents rotate their keys
 * (internal/key_rotation.ts). `c2_server keygen` writes a certificate pair.
 *
 * @module
 */
import { ConfigError, endpoint, int, list, runRole } from "@lib/role/mod.ts";
import {
  allowListAuthorizer,
  logHandshakeFailures,
  logZapDecisions,
  Router,
  ZapHandler,
} from "@lib/zmq/mod.ts";
import type { MessageWithMetadata, ZapRequest } from "@lib/zmq/mod.ts";
import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError, decode, encode } from "@lib/codec/mod.ts";

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
import { isPublicKey, Rotations } from "../internal/key_rotation.ts";
import { AgentMessage, MAX_MESSAGE_BYTES, parseCommandSpec } from "../internal/protocol.ts";
import { Sessions } from "../internal/sessions.ts";
import { AuditLog } from "../internal/audit_log.ts";
import { ScanPacer } from "@lib/patterns/mod.ts";

/** ZAP domain of the command socket. */
const ZAP_DOMAIN = "c2";
/** At most this many `certificate_skipped` lines per reload (then one count). */
const MAX_SKIPPED_LOGGED = 10;

interface Options {
  bind: string;
  secretKeyFile: string;
  generateMissing?: boolean;
  allowDir: string;
  reloadInterval: number;
  commands: string[];
  interval: number;
  sessionTimeout: number;
  maxSessions: number;
  auditLog?: string;
  rotateEvery: number;
  rotationTimeout: number;
}

function commandList(value: string): string[] {
  const items = list(value);
  for (const item of items) parseCommandSpec(item);
  return items;
}

await runRole<Options>({
  name: "c2_server",
  summary: "CURVE server with a ZAP allow-list directory: sends numbered commands to agents",
  configure: (cmd) =>
    cmd
      .option("--bind <endpoint>", "ROUTER endpoint to bind", endpoint, "tcp://127.0.0.1:5590")
      .option(
        "--secret-key-file <path>",
        "the server's secret certificate (zcert NAME.key_secret, mode 0600); the public " +
          "NAME.key beside it is what agents pin",
      )
      .option(
        "--generate-missing",
        "create the certificate pair (and --allow-dir) when missing (demo)",
      )
      .option(
        "--allow-dir <dir>",
        "directory of agent public certificates (*.key); the only clients admitted",
      )
      .option(
        "--reload-interval <ms>",
        "how often to look for allow-list changes",
        int({
          min: 50,
        }),
        1000,
      )
      .option(
        "--commands <list>",
        "scheduled commands, sent to each agent in turn: facts, health:loadavg|memory|clock",
        commandList,
        ["facts", "health:loadavg", "health:memory"],
      )
      .option(
        "--interval <ms>",
        "time between commands to one agent (0: none)",
        int({ min: 0 }),
        2000,
      )
      .option(
        "--session-timeout <ms>",
        "forget an agent silent this long",
        int({ min: 100 }),
        10_000,
      )
      .option("--max-sessions <n>", "most agents served at once", int({ min: 1 }), 1000)
      .option("--audit-log <file>", "append every command and result here (NDJSON)")
      .option(
        "--rotate-every <ms>",
        "have each agent rotate its key this long after it was first seen (0: never)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--rotation-timeout <ms>",
        "abort a key rotation not finished within this time (the old key stays)",
        int({ min: 100 }),
        30_000,
      ),
  validate(options) {
    if (!options.secretKeyFile) {
      throw new ConfigError("--secret-key-file: expected a path, got none");
    }
    if (!options.allowDir) throw new ConfigError("--allow-dir: expected a directory, got none");
    const allowInfo = (() => {
      try {
        return Deno.statSync(options.allowDir);
      } catch {
        return undefined;
      }
    })();
    if (allowInfo && !allowInfo.isDirectory) {
      // (also with --generate-missing, which would otherwise fail later with a stack of errors)
      throw new ConfigError(`--allow-dir: expected a directory, got ${options.allowDir}`);
    }
    try {
      certPaths(options.secretKeyFile);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (!options.generateMissing) {
      try {
        readSecretCert(options.secretKeyFile);
      } catch (error) {
        if (error instanceof CertError) throw new ConfigError(error.message);
        throw error;
      }
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
  },
  async run(options, ctx) {
    const log = ctx.log;
    if (options.generateMissing) {
      await Deno.mkdir(options.allowDir, { recursive: true, mode: 0o755 });
      if (!(await Deno.stat(options.secretKeyFile).catch(() => undefined))) {
        const publicKey = await generateCert(options.secretKeyFile);
        log.info("certificate_created", {
          path: certPaths(options.secretKeyFile).publicPath,
          fingerprint: fingerprint(publicKey),
        });
      }
    }
    const server = readSecretCert(options.secretKeyFile);
    const audit = options.auditLog ? await AuditLog.open(options.auditLog) : undefined;
    ctx.defer(() => audit?.close());

    // The allow-list: ZAP asks `authorize` for every CURVE handshake (RFC 27). A reload
    // swaps the whole decision at once.
    let allowed = new Map<string, string>();
    let authorize = allowListAuthorizer([]);
    let signature = "";
    const sessions = new Sessions({
      clock: systemClock,
      timeoutMs: options.sessionTimeout,
      max: options.maxSessions,
    });
    let router: Router | undefined;
    let recycle = false;
    const reloadOnce = async () => {
      const next = await directorySignature(options.allowDir);
      if (next === signature) return;
      signature = next;
      const loaded = await loadCertDirectory(options.allowDir);
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
      const removed = [...allowed.keys()].filter((key) => !loaded.keys.has(key));
      allowed = loaded.keys;
      authorize = allowListAuthorizer(allowed.keys());
      log.info("allow_list_loaded", {
        dir: options.allowDir,
        keys: allowed.size,
        fingerprints: [...allowed.keys()].map(fingerprint),
        removed: removed.map(fingerprint),
      });
      const revoked = sessions.revokeExcept(allowed);
      for (const session of revoked) {
        log.warn("session_revoked", { fingerprint: session.fingerprint, agent: session.name });
        await audit?.write({
          event: "revoked",
          fingerprint: session.fingerprint,
          agent: session.name,
        });
      }
      // libzmq cannot close one peer of a ROUTER: close the socket and bind a fresh one.
      // Every agent reconnects and goes through ZAP again; the revoked key gets 400.
      if (revoked.length > 0 && router) {
        recycle = true;
        router.close({ linger: 0 });
      }
    };
    // One reload at a time (the timer and a finished rotation both ask for one).
    let reloads = Promise.resolve();
    const reload = () => (reloads = reloads.then(reloadOnce, reloadOnce));
    await reload();
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

    const zap = new ZapHandler((request: ZapRequest) => authorize(request));
    // A refused client retries its handshake for ever: one line per key per 5 s.
    logZapDecisions(zap, log, {
      allowed: { field: "agent", name: (key) => allowed.get(key) },
    });
    zap.onBadRequest = (reason) => ctx.badMessage(reason, { socket: "zap" });
    await zap.start();
    ctx.defer(() => zap.close());

    let seq = Date.now();
    const counts = { commands: 0, results: 0, dropped: 0 };
    const rotations = new Rotations({
      everyMs: options.rotateEvery,
      timeoutMs: options.rotationTimeout,
      max: options.maxSessions,
    });
    const sendCommand = (
      key: string,
      override?: { op: string; args: Record<string, string> },
    ) => {
      const session = sessions.get(key);
      if (!session || !router || router.closed) return;
      const { op, args } = override ??
        (rotations.due(key, systemClock.now())
          ? { op: "rotate_key", args: {} }
          : parseCommandSpec(options.commands[session.next++ % options.commands.length]));
      const command = { type: "command", seq: ++seq, op, args };
      // Only a result to a command we sent (this seq, op and key) is accepted later.
      sessions.issued(key, command.seq, op);
      router.send([key, encode(command)]).then(() => {
        counts.commands++;
        return audit?.write({
          event: "command",
          fingerprint: session.fingerprint,
          agent: session.name,
          seq: command.seq,
          op,
          args,
        });
      }).catch(() => counts.dropped++);
    };
    if (options.interval > 0) {
      ctx.every(options.interval, () => {
        for (const session of sessions.all()) sendCommand(session.key);
      });
    }
    ctx.every(1000, () => {
      for (const session of sessions.expire()) {
        log.info("session_expired", { fingerprint: session.fingerprint, agent: session.name });
      }
      for (const rotation of rotations.expire(systemClock.now())) {
        void Deno.remove(`${options.allowDir}/${rotation.name}.rotating.key`).catch(() => {});
        const fields = {
          fingerprint: fingerprint(rotation.oldKey),
          new_fingerprint: fingerprint(rotation.newKey),
          reason: "not finished in time: the old key stays",
        };
        log.warn("key_rotation_aborted", fields);
        void audit?.write({ event: "key_rotation_aborted", ...fields });
      }
    });
    /** The agent named its successor key over its authenticated session: enrol it. */
    const startRotation = async (oldKey: string, result: unknown) => {
      const newKey = (result as { public_key?: unknown } | undefined)?.public_key;
      const name = allowed.get(oldKey);
      if (!isPublicKey(newKey) || name === undefined) {
        log.limited("warn", "key_rotation_refused", {
          fingerprint: fingerprint(oldKey),
          reason: name === undefined ? "the old key is no longer listed" : "no valid public_key",
        });
        return;
      }
      const started = rotations.start(
        oldKey,
        newKey,
        name,
        systemClock.now(),
        (key) => allowed.has(key),
      );
      const fields = { fingerprint: fingerprint(oldKey), new_fingerprint: fingerprint(newKey) };
      if (!started.ok) {
        log.warn("key_rotation_refused", { ...fields, reason: started.reason });
        await audit?.write({ event: "key_rotation_refused", ...fields, reason: started.reason });
        return;
      }
      // Make before break: the new key is admitted beside the old one first.
      const tmp = `${options.allowDir}/.${name}.rotating.tmp`;
      await Deno.writeTextFile(
        tmp,
        formatCert({ publicKey: newKey, metadata: { name, rotated_from: fields.fingerprint } }),
        { mode: 0o644 },
      );
      await Deno.rename(tmp, `${options.allowDir}/${name}.rotating.key`);
      await reload();
      log.info("key_rotation_started", { ...fields, agent: name });
      await audit?.write({ event: "key_rotation_started", ...fields, agent: name });
      sendCommand(oldKey, { op: "rotate_commit", args: { fingerprint: fields.new_fingerprint } });
    };
    /** The new key authenticated: it replaces the old certificate, which revokes the old key. */
    const finishRotation = async (newKey: string) => {
      const rotation = rotations.finish(newKey, systemClock.now());
      if (!rotation) return;
      await Deno.rename(
        `${options.allowDir}/${rotation.name}.rotating.key`,
        `${options.allowDir}/${rotation.name}.key`,
      );
      const fields = {
        fingerprint: fingerprint(rotation.oldKey),
        new_fingerprint: fingerprint(rotation.newKey),
        agent: rotation.name,
      };
      log.info("key_rotated", fields);
      await audit?.write({ event: "key_rotated", ...fields });
      await reload(); // the old key leaves the allow-list: session dropped, handshake refused
    };

    const mismatchAudited = new Map<string, number>();
    const handle = async ({ frames: [id, body, ...rest], metadata }: MessageWithMetadata) => {
      if (!body || rest.length > 0) {
        throw new BadMessageError(
          `expected [routing id, body], got ${1 + (body ? 1 : 0) + rest.length} frames`,
        );
      }
      // The routing id is the sender's Z85 public key (see internal/sessions.ts). A peer
      // picks its routing id itself, so it must equal the key it authenticated with: the
      // ZAP User-Id libzmq attaches to each message (zmq_msg_gets). Otherwise an admitted
      // agent could speak for another one by claiming its key as routing id.
      const key = new TextDecoder().decode(id);
      const userId = metadata["User-Id"];
      if (userId !== key) {
        log.limited("warn", "identity_mismatch", {
          claimed: isPublicKey(key) ? fingerprint(key) : "(not a key)",
          authenticated: userId ? fingerprint(userId) : "(none)",
        }, `identity_mismatch:${userId}`);
        // The claimed key's routing id is now held by this other connection: commands for
        // that key would reach the impostor, so its session ends (the real agent opens a
        // new one with its next hello once it holds its routing id again).
        const hijacked = sessions.drop(key);
        if (hijacked) {
          log.warn("session_dropped", {
            fingerprint: hijacked.fingerprint,
            agent: hijacked.name,
            reason: "another key holds its routing id",
          });
        }
        // One audit record per impostor key per 5 s, not one per message (no audit flood).
        const now = systemClock.now();
        const auditKey = userId ?? "(none)";
        if (hijacked || now - (mismatchAudited.get(auditKey) ?? -Infinity) >= 5000) {
          if (mismatchAudited.size >= 1000) mismatchAudited.clear();
          mismatchAudited.set(auditKey, now);
          await audit?.write({
            event: "identity_mismatch",
            claimed: isPublicKey(key) ? fingerprint(key) : "(not a key)",
            authenticated: userId ? fingerprint(userId) : "(none)",
            ...(hijacked ? { session_dropped: true } : {}),
          });
        }
        return;
      }
      // ZAP admitted only allowed keys, so a key not in the list now was revoked: ignore it.
      if (!allowed.has(key)) {
        log.limited("warn", "message_from_unlisted_key", { fingerprint: fingerprint(key) });
        return;
      }
      const message = decode(body, AgentMessage) as AgentMessage;
      await finishRotation(key);
      const seen = sessions.seen(key, message.type === "hello" ? message.name : undefined);
      if (!seen) {
        log.limited("warn", "session_refused", {
          reason: "max sessions",
          max: options.maxSessions,
        });
        return;
      }
      if (seen.fresh) {
        log.info("session_opened", {
          fingerprint: seen.session.fingerprint,
          agent: seen.session.name,
        });
        await audit?.write({
          event: "session",
          fingerprint: seen.session.fingerprint,
          agent: seen.session.name,
        });
        if (options.interval > 0) sendCommand(key);
      }
      if (message.type === "result") {
        if (!sessions.answered(key, message.seq, message.op)) {
          // Unsolicited, replayed or mislabelled: never audited, never acted on (an agent
          // could otherwise enrol a key of its choice with a made-up rotate_key result).
          throw new BadMessageError(
            "result for a command not sent to this agent, or already answered",
          );
        }
        counts.results++;
        const fields = {
          fingerprint: seen.session.fingerprint,
          agent: seen.session.name,
          seq: message.seq,
          op: message.op,
          ok: message.ok,
          ...(message.ok ? { result: message.result } : { error: message.error }),
        };
        log.info("result", fields);
        await audit?.write({ event: "result", ...fields });
        if (message.op === "rotate_key" && message.ok) await startRotation(key, message.result);
      }
    };

    let bound: string | undefined;
    ctx.defer(() => router?.close());
    while (!ctx.signal.aborted) {
      router = new Router({
        linger: 0,
        routerMandatory: false,
        curveServer: true,
        curveSecretKey: server.secretKey,
        curvePublicKey: server.publicKey,
        zapDomain: ZAP_DOMAIN,
        maxMessageSize: MAX_MESSAGE_BYTES,
        receiveHighWaterMark: 1000,
        sendHighWaterMark: 1000,
      });
      const socket = router;
      logHandshakeFailures(socket, log);
      if (bound === undefined) {
        await socket.bind(options.bind);
        bound = socket.lastEndpoint!;
        ctx.listening(socket, {
          curve_public_key: server.publicKey,
          fingerprint: fingerprint(server.publicKey),
          allowed_keys: allowed.size,
        });
      } else {
        // The old socket's port is released by libzmq's I/O thread: retry briefly.
        for (let attempt = 0;; attempt++) {
          try {
            await socket.bind(bound);
            break;
          } catch (error) {
            if (attempt >= 50 || ctx.signal.aborted) throw error;
            await ctx.sleep(20);
          }
        }
        log.info("socket_recycled", { endpoint: bound });
      }
      // Opt-in metadata receive: each message with the User-Id of its connection.
      const messages = async function* () {
        for (;;) yield await socket.receiveWithMetadata(["User-Id"]);
      };
      await ctx.serve(messages(), handle, { name: "router" });
      if (!recycle) break;
      recycle = false;
    }
    log.info("served", { ...counts, sessions: sessions.size });
  },
  commands: {
    keygen: {
      summary: "Write a certificate pair: DIR/NAME.key (public) and DIR/NAME.key_secret (0600)",
      configure: (cmd) =>
        cmd.requiredOption("--dir <dir>", "where to write").requiredOption(
          "--name <name>",
          "certificate name",
        ),
      async run(options: { dir: string; name: string }, ctx) {
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) {
          throw new ConfigError(`--name: expected [A-Za-z0-9_.-]{1,64}, got ${options.name}`);
        }
        await Deno.mkdir(options.dir, { recursive: true });
        const secretPath = `${options.dir}/${options.name}.key_secret`;
        const exists = await Deno.lstat(secretPath).then(() => true, () => false);
        // Never overwrite a secret: an existing pair is checked (mode, format) and kept.
        const publicKey = exists
          ? readSecretCert(secretPath).publicKey
          : await generateCert(secretPath);
        ctx.print(
          `${options.dir}/${options.name}.key public-key = "${publicKey}"${
            exists ? " (existing pair kept)" : ""
          }`,
        );
      },
    },
  },
});
