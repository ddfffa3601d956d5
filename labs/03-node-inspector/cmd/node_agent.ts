/**
 * node_agent: answers the node inspector's read-only commands (info, mem, ps, disk, ping)
 * on a REP socket, optionally over CURVE. `node_agent keygen` prints a CURVE keypair.
 *
 * @module
 */

import { ConfigError, endpoint, repeatable, runRole, z85Key } from "@lib/role/mod.ts";
import {
  allowListAuthorizer,
  curveKeyPair,
  curvePublic,
  logHandshakeFailures,
  Reply,
  ZapHandler,
} from "@lib/zmq/mod.ts";
import { systemClock } from "@lib/async/mod.ts";
import { AgentRequests } from "../internal/agent_loop.ts";
import { ZAP_DOMAIN } from "../internal/allow_list.ts";
import { Inspector } from "../internal/inspector.ts";
import { AGENT_MAX_MESSAGE_BYTES, DEFAULT_ENDPOINT } from "../internal/protocol.ts";
import { createSystemProbe } from "../internal/system_probe.ts";

interface Options {
  bind: string;
  curveSecret?: string;
  allowKey?: string[];
}

await runRole<Options>({
  name: "node_agent",
  summary: "Answers read-only inspection commands (info, mem, ps, disk, ping) over REQ-REP",
  configure: (cmd) =>
    cmd
      .option("--bind <endpoint>", "REP endpoint to bind", endpoint, DEFAULT_ENDPOINT)
      .option(
        "--curve-secret <z85>",
        "CURVE secret key (Z85): clients must then use --server-key <public key>",
        z85Key,
      )
      .option(
        "--allow-key <z85>",
        "only CURVE clients with these public keys may connect (repeat the flag or " +
          "comma-separate; needs --curve-secret; clients then use admin_cli --client-secret)",
        repeatable(z85Key),
      ),
  validate(options) {
    if (options.allowKey && !options.curveSecret) {
      throw new ConfigError("--allow-key needs --curve-secret: the allow-list is of CURVE keys");
    }
  },
  async run(options, ctx) {
    const curve = options.curveSecret
      ? {
        curveServer: true,
        curveSecretKey: options.curveSecret,
        curvePublicKey: curvePublic(options.curveSecret),
      }
      : {};
    if (options.allowKey) {
      // ZAP (RFC 27): libzmq asks this handler about every CURVE client of the REP socket.
      const zap = new ZapHandler(allowListAuthorizer(options.allowKey));
      zap.onDecision = ({ address, publicKey }, { status, text }) => {
        if (status === 200) ctx.log.info("client_allowed", { address, public_key: publicKey });
        else {
          // A refused client retries its handshake for ever: one line per key per 5 s.
          ctx.log.limited("warn", "client_denied", {
            address,
            public_key: publicKey,
            reason: text,
          }, `client_denied:${publicKey}`);
        }
      };
      zap.onBadRequest = (reason) => ctx.badMessage(reason, { socket: "zap" });
      await zap.start();
      ctx.defer(() => zap.close());
    }
    const rep = new Reply({
      linger: 1000,
      maxMessageSize: AGENT_MAX_MESSAGE_BYTES,
      receiveHighWaterMark: 100,
      sendHighWaterMark: 100,
      ...curve,
      ...(options.allowKey ? { zapDomain: ZAP_DOMAIN } : {}),
    });
    ctx.defer(() => rep.close());
    // A failed handshake (wrong CURVE key, plain client against CURVE) never reaches the
    // loop: log it from the socket's events so the operator sees why a client hangs. A
    // client retries its handshake about 7 times a second for ever: rate-limited per kind.
    logHandshakeFailures(rep, ctx.log);
    await rep.bind(options.bind);
    ctx.listening(rep, {
      ...(curve.curvePublicKey ? { curve_public_key: curve.curvePublicKey } : {}),
      ...(options.allowKey ? { allowed_keys: options.allowKey.length } : {}),
    });
    const agent = new AgentRequests(new Inspector(createSystemProbe()), {
      clock: systemClock,
      log: ctx.log,
      badMessage: ctx.badMessage,
    });
    // REP answers every request; a stop lets the request in hand be answered first.
    await ctx.serve(rep, async (frames) => await rep.send(await agent.answer(frames)), {
      name: "rep",
    });
    const stats = agent.stats();
    ctx.log.info("served", {
      requests: stats.requests,
      errors: stats.errors,
      bad_messages: stats.badMessages,
    });
  },
  commands: {
    keygen: {
      summary: "Print a new CURVE keypair (Z85): public for clients, secret for --curve-secret",
      run(_options: unknown, ctx) {
        const { publicKey, secretKey } = curveKeyPair();
        ctx.print(`public-key = "${publicKey}"`);
        ctx.print(`secret-key = "${secretKey}"`);
      },
    },
  },
});
