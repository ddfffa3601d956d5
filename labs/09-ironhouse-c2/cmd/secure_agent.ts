/**
 * secure_agent: runs on a managed host and dials out to the c2_server (so the host opens no
 * port). It is the CURVE client: it pins the server's public key (`--server-key-file`) and
 * proves its own key (`--secret-key-file`, mode 0600). It carries out only the
 * allow-listed operations, refuses a command number it has seen (replay) and answers
 * every command with a numbered result.
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
} from "../internal/cert_store.ts";
import { Command, MAX_MESSAGE_BYTES } from "../internal/protocol.ts";
import { runOperation, systemProbe } from "../internal/operations.ts";
import { ReplayGuard } from "../internal/replay_guard.ts";

interface Options {
  server: string;
  serverKeyFile: string;
  serverKeyWait: number;
  secretKeyFile: string;
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
    const own = readSecretCert(options.secretKeyFile);
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
    const dealer = new Dealer({
      linger: 1000,
      curveServerKey: serverKey,
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
      // The server knows each agent by its key: the routing id is its Z85 public key.
      routingId: own.publicKey,
      maxMessageSize: MAX_MESSAGE_BYTES,
      sendHighWaterMark: 100,
      receiveHighWaterMark: 100,
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
    });
    ctx.defer(() => dealer.close());
    // libzmq gives up on a connection whose handshake was denied (it is a protocol error,
    // not a network one): dial again after a capped, jittered backoff, so an agent whose
    // key is enrolled later gets in, and a revoked one keeps being told 400.
    const redial = new Backoff({ initialMs: options.redialInterval, maxMs: options.redialMax });
    let redialPending = false;
    const scheduleRedial = () => {
      if (redialPending || ctx.signal.aborted) return;
      redialPending = true;
      void ctx.sleep(redial.next()).then(() => {
        redialPending = false;
        if (ctx.signal.aborted || dealer.closed) return;
        try {
          dealer.disconnect(options.server);
        } catch {
          // libzmq already dropped the endpoint after the failed handshake
        }
        dealer.connect(options.server);
      });
    };
    void (async () => {
      for await (const event of dealer.events) {
        if (event.type === "handshake") {
          redial.reset();
          log.info("connected", {
            server: options.server,
            server_fingerprint: fingerprint(serverKey),
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
    dealer.connect(options.server);
    log.info("agent_ready", {
      server: options.server,
      fingerprint: fingerprint(own.publicKey),
      server_fingerprint: fingerprint(serverKey),
    });
    const hello = encode({ type: "hello", name: options.name });
    let dropped = 0;
    const sayHello = () => void dealer.send(hello).catch(() => dropped++);
    sayHello();
    ctx.every(options.helloInterval, sayHello);

    const guard = new ReplayGuard();
    const probe = systemProbe();
    const counts = { commands: 0, refused: 0 };
    await ctx.serve(dealer, async (frames) => {
      if (frames.length !== 1) {
        throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
      }
      const command = decode(frames[0], Command) as Command;
      let reply: Record<string, unknown>;
      if (!guard.accept(command.seq)) {
        counts.refused++;
        log.limited("warn", "command_refused", {
          seq: command.seq,
          op: command.op,
          reason: `replay: expected seq > ${guard.last}, got ${command.seq}`,
        }, "command_refused:replay");
        reply = {
          type: "result",
          seq: command.seq,
          op: command.op,
          ok: false,
          error: `replayed command number: expected > ${guard.last}, got ${command.seq}`,
        };
      } else {
        counts.commands++;
        const outcome = runOperation(command.op, command.args, probe);
        log.info("command", { seq: command.seq, op: command.op, ok: outcome.ok });
        reply = { type: "result", seq: command.seq, op: command.op, ...outcome };
      }
      await dealer.send(encode(reply)).catch(() => dropped++);
    }, { name: "dealer" });
    log.info("served", { ...counts, dropped });
  },
});
