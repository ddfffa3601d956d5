/**
 * secure_agent: runs on a managed host and dials out to the c2_server (so the host opens no
 * port). It is the CURVE client: it pins the server's public key (`--server-key-file`) and
 * proves its own key (`--secret-key-file`, mode 0600). It carries out only the
 * allow-listed operations, refuses a command number it has seen (replay; the highest number
 * is kept in `--state-file`, so a restart does not re-open old numbers), rotates its own
 * key on request (`rotate_key` / `rotate_commit`, see internal/key_rotation.ts) and
 * answers every command with a numbered result.
 *
 * @module
 */
import { ConfigError, endpoint, int, runRole } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import { Backoff } from "@lib/async/mod.ts";
import { BadMessageError, decode, encode } from "@lib/codec/mod.ts";
import {
  CertError,
  certPaths,
  fingerprint,
  generateCert,
  readPublicCert,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import { Command, MAX_MESSAGE_BYTES } from "../internal/protocol.ts";
import { runOperation, systemProbe } from "../internal/operations.ts";
import { ReplayState } from "../internal/replay_guard.ts";
import { promoteStagedKey, stageNewKey } from "../internal/key_rotation.ts";

interface Options {
  server: string;
  serverKeyFile: string;
  serverKeyWait: number;
  secretKeyFile: string;
  stateFile?: string;
  generateMissing?: boolean;
  name: string;
  helloInterval: number;
  redialInterval: number;
  redialMax: number;
}

await runRole<Options>({
  name: "secure_agent",
  summary: "CURVE client that pins the server key and runs allow-listed, numbered commands",
  configure: (cmd) =>
    cmd
      .option(
        "--server <endpoint>",
        "c2_server endpoint to connect to",
        endpoint,
        "tcp://127.0.0.1:5590",
      )
      .option(
        "--server-key-file <path>",
        "the server's public certificate (zcert NAME.key): the only server this agent trusts",
      )
      .option(
        "--server-key-wait <ms>",
        "wait this long for --server-key-file to appear (0: it must exist)",
        int({ min: 0 }),
        0,
      )
      .option(
        "--secret-key-file <path>",
        "this agent's secret certificate (NAME.key_secret, mode 0600); NAME.key beside it is " +
          "what the server's allow-list holds",
      )
      .option(
        "--state-file <path>",
        "where the highest accepted command number is kept across restarts " +
          "(default: <secret-key-file>.replay)",
      )
      .option("--generate-missing", "create this agent's certificate pair when missing (demo)")
      .option("--name <name>", "name announced to the server", Deno.env.get("HOSTNAME") ?? "agent")
      .option("--hello-interval <ms>", "announce this agent this often", int({ min: 100 }), 2000)
      .option(
        "--redial-interval <ms>",
        "first wait before dialling again after a refused handshake",
        int({ min: 10 }),
        500,
      )
      .option("--redial-max <ms>", "longest wait between redials", int({ min: 10 }), 30_000),
  validate(options) {
    if (!options.secretKeyFile) {
      throw new ConfigError("--secret-key-file: expected a path, got none");
    }
    if (!options.serverKeyFile) {
      throw new ConfigError("--server-key-file: expected a path, got none");
    }
    try {
      certPaths(options.secretKeyFile);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (!/^[\x21-\x7e]{1,64}$/.test(options.name)) {
      throw new ConfigError(
        `--name: expected 1 to 64 printable characters, got ${options.name.length}`,
      );
    }
    if (!options.generateMissing) {
      try {
        readSecretCert(options.secretKeyFile);
      } catch (error) {
        if (error instanceof CertError) throw new ConfigError(error.message);
        throw error;
      }
    }
    try {
      ReplayState.open(options.stateFile ?? `${options.secretKeyFile}.replay`);
    } catch (error) {
      throw new ConfigError(`--state-file: ${(error as Error).message}`);
    }
  },
  async run(options, ctx) {
    const log = ctx.log;
    if (
      options.generateMissing && !(await Deno.stat(options.secretKeyFile).catch(() => undefined))
    ) {
      const publicKey = await generateCert(options.secretKeyFile);
      log.info("certificate_created", {
        path: certPaths(options.secretKeyFile).publicPath,
        fingerprint: fingerprint(publicKey),
      });
    }
    let serverKey: string | undefined;
    const waitUntil = Date.now() + options.serverKeyWait;
    while (serverKey === undefined) {
      try {
        serverKey = await readPublicCert(options.serverKeyFile);
      } catch (error) {
        if (Date.now() >= waitUntil || ctx.signal.aborted) {
          throw new ConfigError((error as Error).message);
        }
        await ctx.sleep(100);
      }
    }
    let own: { publicKey: string; secretKey: string } = readSecretCert(options.secretKeyFile);
    const replay = ReplayState.open(options.stateFile ?? `${options.secretKeyFile}.replay`);
    if (replay.guard.last > 0) log.info("replay_state_loaded", { last_seq: replay.guard.last });
    // libzmq gives up on a connection whose handshake was denied (it is a protocol error,
    // not a network one): dial again after a capped, jittered backoff, so an agent whose
    // key is enrolled later gets in, and a revoked one keeps being told 400.
    const redial = new Backoff({ initialMs: options.redialInterval, maxMs: options.redialMax });
    let dealer!: Dealer;
    let redialPending = false;
    const scheduleRedial = () => {
      if (redialPending || ctx.signal.aborted) return;
      redialPending = true;
      const socket = dealer;
      void ctx.sleep(redial.next()).then(() => {
        redialPending = false;
        if (ctx.signal.aborted || socket.closed) return;
        try {
          socket.disconnect(options.server);
        } catch {
          // libzmq already dropped the endpoint after the failed handshake
        }
        socket.connect(options.server);
      });
    };
    const dial = () => {
      const socket = new Dealer({
        linger: 1000,
        curveServerKey: serverKey,
        curvePublicKey: own.publicKey,
        curveSecretKey: own.secretKey,
        // The server knows each agent by its key: the routing id is its Z85 public key
        // (and the server checks it against the ZAP User-Id of every message).
        routingId: own.publicKey,
        maxMessageSize: MAX_MESSAGE_BYTES,
        sendHighWaterMark: 100,
        receiveHighWaterMark: 100,
        reconnectInterval: 100,
        reconnectMaxInterval: 2000,
      });
      void (async () => {
        for await (const event of socket.events) {
          if (event.type === "handshake") {
            redial.reset();
            log.info("connected", {
              server: options.server,
              server_fingerprint: fingerprint(serverKey),
              fingerprint: fingerprint(own.publicKey),
            });
          } else if (event.type === "handshake:error:auth") {
            log.limited("warn", "handshake_denied", {
              status: event.status,
              server: options.server,
            }, `handshake_denied:${event.status}`);
            scheduleRedial();
          } else if (
            event.type === "handshake:error:protocol" || event.type === "handshake:error:other"
          ) {
            // A server with another key than the pinned one fails here: never a hang.
            log.limited("warn", "handshake_failed", {
              type: event.type,
              reason: event.error.code,
              server: options.server,
            }, `handshake_failed:${event.type}:${event.error.code}`);
            scheduleRedial();
          } else if (event.type === "disconnect") {
            log.limited("info", "disconnected", { server: options.server });
          }
        }
      })().catch(() => {});
      socket.connect(options.server);
      return socket;
    };
    dealer = dial();
    ctx.defer(() => dealer.close());
    log.info("agent_ready", {
      server: options.server,
      fingerprint: fingerprint(own.publicKey),
      server_fingerprint: fingerprint(serverKey),
    });
    const hello = encode({ type: "hello", name: options.name });
    let dropped = 0;
    const sayHello = () => {
      if (!dealer.closed) void dealer.send(hello).catch(() => dropped++);
    };
    sayHello();
    ctx.every(options.helloInterval, sayHello);

    const guard = replay.guard;
    const probe = systemProbe();
    const counts = { commands: 0, refused: 0, rotations: 0 };
    let switchTo: { publicKey: string; secretKey: string } | undefined;
    const handle = async (frames: Uint8Array[]) => {
      if (frames.length !== 1) {
        throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
      }
      const command = decode(frames[0], Command) as Command;
      const answer = (outcome: { ok: true; result: unknown } | { ok: false; error: string }) => ({
        type: "result",
        seq: command.seq,
        op: command.op,
        ...outcome,
      });
      let reply: Record<string, unknown>;
      if (!guard.accept(command.seq)) {
        counts.refused++;
        log.limited("warn", "command_refused", {
          seq: command.seq,
          op: command.op,
          reason: `replay: expected seq > ${guard.last}, got ${command.seq}`,
        }, "command_refused:replay");
        reply = answer({
          ok: false,
          error: `replayed command number: expected > ${guard.last}, got ${command.seq}`,
        });
        await dealer.send(encode(reply)).catch(() => dropped++);
        return;
      }
      // Write-ahead: the number is on disk before the command runs.
      try {
        replay.save();
      } catch (error) {
        log.limited("error", "replay_state_unsaved", { error: (error as Error).name });
        await dealer.send(encode(answer({ ok: false, error: "cannot persist the replay state" })))
          .catch(() => dropped++);
        return;
      }
      counts.commands++;
      if (command.op === "rotate_key") {
        // The new certificate keeps the current one's metadata (its name, ...).
        const { metadata } = readSecretCert(options.secretKeyFile);
        const next = stageNewKey(options.secretKeyFile, metadata);
        log.info("key_staged", { seq: command.seq, next_fingerprint: fingerprint(next) });
        reply = answer({ ok: true, result: { public_key: next, fingerprint: fingerprint(next) } });
      } else if (command.op === "rotate_commit") {
        try {
          const promoted = promoteStagedKey(options.secretKeyFile, command.args.fingerprint ?? "");
          switchTo = promoted;
          counts.rotations++;
          log.info("key_rotated", {
            seq: command.seq,
            old_fingerprint: fingerprint(own.publicKey),
            fingerprint: fingerprint(promoted.publicKey),
          });
          reply = answer({ ok: true, result: { fingerprint: fingerprint(promoted.publicKey) } });
        } catch (error) {
          reply = answer({ ok: false, error: (error as Error).message });
        }
      } else {
        const outcome = runOperation(command.op, command.args, probe);
        reply = answer(outcome);
      }
      log.info("command", { seq: command.seq, op: command.op, ok: reply.ok });
      await dealer.send(encode(reply)).catch(() => dropped++);
      if (switchTo) dealer.close({ linger: 1000 }); // flushes the reply; serve() then returns
    };
    while (!ctx.signal.aborted) {
      await ctx.serve(dealer, handle, { name: "dealer" });
      if (!switchTo || ctx.signal.aborted) break;
      // Redial with the new key (the old connection is closed; its reply was flushed).
      own = switchTo;
      switchTo = undefined;
      redialPending = false;
      redial.reset();
      dealer = dial();
      sayHello();
    }
    log.info("served", { ...counts, dropped });
  },
});
