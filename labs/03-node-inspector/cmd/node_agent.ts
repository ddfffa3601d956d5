/**
 * node_agent: answers the node inspector's read-only commands (info, mem, ps, disk, ping)
 * on a REP socket, optionally over CURVE. `node_agent keygen` prints a CURVE keypair.
 *
 * @module
 */

import { endpoint, runRole } from "@lib/role/mod.ts";
import { curveKeyPair, curvePublic, Reply } from "@lib/zmq/mod.ts";
import { serveRequests } from "../internal/agent_loop.ts";
import { Inspector } from "../internal/inspector.ts";
import { AGENT_MAX_MESSAGE_BYTES, DEFAULT_ENDPOINT } from "../internal/protocol.ts";
import { createSystemProbe } from "../internal/system_probe.ts";
import { z85Key } from "../internal/z85_key.ts";

interface Options {
  bind: string;
  curveSecret?: string;
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
      ),
  async run(options, ctx) {
    const curve = options.curveSecret
      ? {
        curveServer: true,
        curveSecretKey: options.curveSecret,
        curvePublicKey: curvePublic(options.curveSecret),
      }
      : {};
    const rep = new Reply({
      linger: 1000,
      maxMessageSize: AGENT_MAX_MESSAGE_BYTES,
      receiveHighWaterMark: 100,
      sendHighWaterMark: 100,
      ...curve,
    });
    ctx.defer(() => rep.close());
    // A failed handshake (wrong CURVE key, plain client against CURVE) never reaches the
    // loop: log it from the socket monitor so the operator sees why a client hangs.
    const events = rep.monitor();
    void (async () => {
      for await (const event of events) {
        if (event.type.startsWith("handshake:error")) {
          ctx.log.warn("handshake_failed", { reason: event.error ?? event.type, type: event.type });
        }
      }
    })().catch(() => {});
    await rep.bind(options.bind);
    ctx.listening(rep, curve.curvePublicKey ? { curve_public_key: curve.curvePublicKey } : {});
    const stats = await serveRequests(
      rep,
      new Inspector(createSystemProbe()),
      ctx.log,
      ctx.signal,
    );
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
