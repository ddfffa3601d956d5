/**
 * resource_guard: the protected resource. A counter that lock holders change by
 * read-modify-write over a ROUTER, and that rejects a write whose fencing token is lower than
 * the highest it has seen (`--fencing off` accepts everything: the unfenced run, to show the
 * lost update fencing prevents).
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, int, oneOf, runRole } from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { FencedCounter } from "../internal/guard.ts";
import { decodeGuardRequest, encodeGuard, MAX_REQUEST_BYTES, reqOf } from "../internal/protocol.ts";

interface Options {
  bind: string;
  fencing: "on" | "off";
  initial: number;
  viewInterval: number;
  json: boolean;
}

await runRole<Options>({
  name: "resource_guard",
  summary: "Protected counter: rejects writes whose fencing token is lower than the highest seen",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint for lock holders",
        endpoint,
        "tcp://127.0.0.1:5622",
      )
      .option(
        "--fencing <on|off>",
        "off accepts stale writes (the unfenced demonstration)",
        oneOf("on", "off"),
        "on",
      )
      .option("--initial <n>", "the counter's first value", int(), 0)
      .option(
        "--view-interval <ms>",
        "print the counter this often when it changed (0 = off)",
        int({ min: 0 }),
        1000,
      )
      .option("--json", "print the counter as one JSON object per change", false),
  async run(options, ctx) {
    const counter = new FencedCounter({
      fencing: options.fencing === "on",
      initial: options.initial,
    });
    const router = new Router({
      mandatory: true,
      maxMessageSize: MAX_REQUEST_BYTES,
      receiveHighWaterMark: 10_000,
    });
    await router.bind(options.bind);
    ctx.listening(router, { fencing: options.fencing });
    let last = "";
    ctx.every(options.viewInterval, () => {
      const stats = counter.stats();
      const line = options.json
        ? JSON.stringify({ ts: new Date().toISOString(), fencing: options.fencing, ...stats })
        : `counter ${stats.value}  highest token ${stats.highest}  writes ${stats.writes}  rejected ${stats.rejected}  fencing ${options.fencing}`;
      const key = JSON.stringify(stats);
      if (key === last) return;
      last = key;
      ctx.print(line);
    });
    await ctx.serve(router, async (frames) => {
      const peer = frames[0];
      const body = frames.slice(1);
      let request;
      try {
        request = decodeGuardRequest(body);
      } catch (error) {
        if (error instanceof BadMessageError) {
          await router.send([
            peer,
            encodeGuard({ kind: "error", req: reqOf(body), reason: error.reason }),
          ])
            .catch(() => {});
        }
        throw error;
      }
      const before = counter.value;
      const reply = counter.handle(request);
      if (reply.kind === "written") {
        ctx.log.info("write_accepted", { token: reply.token, value: reply.value, before });
      } else if (reply.kind === "rejected") {
        ctx.log.warn("write_rejected", {
          token: reply.token,
          highest: reply.highest,
          value: counter.value,
        });
      }
      await router.send([peer, encodeGuard(reply)]).catch((error) =>
        ctx.log.limited("warn", "send_dropped", { error: String(error) })
      );
    }, { name: "router" });
    ctx.log.info("final", counter.stats());
  },
});
