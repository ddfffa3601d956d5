/**
 * Lab 09 benchmark: commands per second through the lab's command protocol (msgpack
 * `command` -> operation -> `result`) over CURVE (with the ZAP allow-list deciding the
 * handshake) beside the same exchange over NULL, in the same run: the cost of encryption.
 * One process, a ROUTER "server" and a DEALER "agent", `--window` commands in flight.
 *
 * Run: `deno run -A labs/09-ironhouse-c2/bench.ts [--commands 20000] [--window 50]`
 *
 * @module
 */
import { allowListAuthorizer, curveKeyPair, Dealer, Router, ZapHandler } from "@lib/zmq/mod.ts";
import { decode, encode } from "@lib/codec/mod.ts";

import { AgentMessage, Command } from "./internal/protocol.ts";
import { runOperation, systemProbe } from "./internal/operations.ts";
import { ReplayGuard } from "./internal/replay_guard.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const COMMANDS = flag("commands", 20_000);
const WINDOW = flag("window", 50);

async function commandsPerSecond(curve: boolean): Promise<number> {
  const server = curveKeyPair();
  const agent = curveKeyPair();
  const zap = curve ? new ZapHandler(allowListAuthorizer([agent.publicKey])) : undefined;
  await zap?.start();
  const router = new Router({
    linger: 0,
    ...(curve
      ? {
        curveServer: true,
        curveSecretKey: server.secretKey,
        curvePublicKey: server.publicKey,
        zapDomain: "c2",
      }
      : {}),
  });
  const dealer = new Dealer({
    linger: 0,
    routingId: agent.publicKey,
    ...(curve
      ? {
        curveServerKey: server.publicKey,
        curvePublicKey: agent.publicKey,
        curveSecretKey: agent.secretKey,
      }
      : {}),
  });
  try {
    await router.bind("tcp://127.0.0.1:*");
    dealer.connect(router.lastEndpoint!);
    const probe = systemProbe();
    const guard = new ReplayGuard();
    const agentLoop = (async () => {
      for await (const [body] of dealer) {
        const command = decode(body, Command) as Command;
        const outcome = guard.accept(command.seq)
          ? runOperation(command.op, command.args, probe)
          : { ok: false, error: "replay" };
        await dealer.send(encode({ type: "result", seq: command.seq, op: command.op, ...outcome }));
      }
    })().catch(() => {});
    await dealer.send(encode({ type: "hello", name: "bench" }));
    const [id] = await router.receive();
    let seq = 0;
    const send = () =>
      router.send([
        id,
        encode({ type: "command", seq: ++seq, op: "health", args: { check: "clock" } }),
      ]);
    const started = performance.now();
    for (let i = 0; i < Math.min(WINDOW, COMMANDS); i++) await send();
    for (let done = 0; done < COMMANDS; done++) {
      const [, body] = await router.receive();
      const result = decode(body, AgentMessage) as AgentMessage;
      if (result.type !== "result" || !result.ok) throw new Error("expected an ok result");
      if (seq < COMMANDS) await send();
    }
    const rate = COMMANDS / ((performance.now() - started) / 1000);
    dealer.close();
    await agentLoop;
    return rate;
  } finally {
    if (!dealer.closed) dealer.close();
    router.close();
    zap?.close();
  }
}

// Warm up both paths once, then measure.
await commandsPerSecond(false);
await commandsPerSecond(true);
const plain = await commandsPerSecond(false);
const curve = await commandsPerSecond(true);
console.log(`commands: ${COMMANDS}, window ${WINDOW}`);
console.log(`CURVE + ZAP: ${Math.round(curve)} commands/s`);
console.log(`NULL:        ${Math.round(plain)} commands/s`);
console.log(`CURVE/NULL:  ${(curve / plain).toFixed(2)}`);
